//go:build js && wasm

// Command floor is the smallest Go js/wasm program that starts and answers: the bench
// times its start beside tuswasm's init() (init_vs_go_floor), built with the same flags.
package main

import "syscall/js"

func main() {
	js.Global().Call("__floorReady")
	select {} // stay, as tuswasm's program does
}

module github.com/tuswasm/tuswasm

go 1.26.8

require (
	github.com/tus/tusd/v2 v2.9.1
	golang.org/x/exp v0.0.0-20250106191152-7588d65b2ba8
)

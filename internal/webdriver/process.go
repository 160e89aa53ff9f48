package webdriver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// process is a browser or driver the smoke started, in a process group of its own so
// that stopping it also ends the children it spawned (content processes, the browser a
// driver launched).
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

func startProcess(cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// stop gives the group a few seconds to exit after SIGTERM, then kills it.
func (p *process) stop() {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	})
}

// awaitLine reads r until a line matches re and returns the first submatch; the rest
// of r is drained in the background (a full pipe would block the process).
func awaitLine(ctx context.Context, r io.Reader, re *regexp.Regexp) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); !sent && m != nil {
				found <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, r)
		if !sent {
			close(found)
		}
	}()
	select {
	case s, ok := <-found:
		if !ok {
			return "", fmt.Errorf("output ended without a line matching %s", re)
		}
		return s, nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for a line matching %s: %w", re, ctx.Err())
	}
}

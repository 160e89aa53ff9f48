package webdriver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// StartWebKit starts a virtual X display (Xvfb: WebKitGTK's MiniBrowser has no
// headless mode), WebKitWebDriver at driver on a free port, and a session in
// MiniBrowser.
func StartWebKit(ctx context.Context, driver, xvfb string) (Page, error) {
	display, x, err := startXvfb(ctx, xvfb)
	if err != nil {
		return nil, err
	}
	d, base, err := startDriver(ctx, driver, display)
	if err != nil {
		x.stop()
		return nil, err
	}
	stop := func() { d.stop(); x.stop() }
	c, err := NewClassic(ctx, base, map[string]any{"browserName": "MiniBrowser"})
	if err != nil {
		stop()
		return nil, err
	}
	c.stop = stop
	return c, nil
}

// startDriver starts WebKitWebDriver on a free port and waits until it answers. A
// port is free when picked, not reserved: should another process take it first, the
// driver exits, and the next of three attempts picks another.
func startDriver(ctx context.Context, driver, display string) (*process, string, error) {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return nil, "", err
		}
		cmd := exec.Command(driver, "--port="+strconv.Itoa(port))
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		d, startErr := startProcess(cmd)
		if startErr != nil {
			return nil, "", startErr
		}
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		if err = awaitReady(ctx, base, d.done); err == nil {
			return d, base, nil
		}
		d.stop()
	}
	return nil, "", err
}

// startXvfb lets Xvfb pick a free display and report it on a pipe (-displayfd).
func startXvfb(ctx context.Context, xvfb string) (string, *process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	p, err := startProcess(cmd)
	w.Close()
	if err != nil {
		return "", nil, err
	}
	n, err := awaitLine(ctx, r, regexp.MustCompile(`^(\d+)$`))
	if err != nil {
		p.stop()
		return "", nil, fmt.Errorf("Xvfb: %w", err)
	}
	return ":" + n, p, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// awaitReady polls the driver's /status until it answers, within ctx, unless the
// driver exits (exited is closed) first.
func awaitReady(ctx context.Context, base string, exited <-chan struct{}) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/status", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("WebKitWebDriver at %s exited before it was ready", base)
		case <-ctx.Done():
			return fmt.Errorf("WebKitWebDriver at %s never became ready: %w", base, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

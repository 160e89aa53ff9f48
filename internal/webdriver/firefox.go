package webdriver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

// Prefs beyond those the Remote Agent applies itself (remote.prefs.recommended): no
// proxy from the environment, nothing fetched in the background while tests measure.
const firefoxPrefs = `user_pref("network.proxy.type", 0);
user_pref("app.update.disabledForTesting", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
`

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// StartFirefox launches Firefox at bin, headless, with a fresh profile in profileDir
// and its Remote Agent on a free port (it prints which), and opens a BiDi session.
func StartFirefox(ctx context.Context, bin, profileDir string) (Page, error) {
	if err := os.MkdirAll(profileDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(profileDir, "user.js"), []byte(firefoxPrefs), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--headless", "--no-remote", "--profile", profileDir, "--remote-debugging-port", "0", "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p, err := startProcess(cmd)
	if err != nil {
		return nil, err
	}
	ws, err := awaitLine(ctx, stderr, bidiListening)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("Firefox's Remote Agent: %w", err)
	}
	b, err := NewBiDi(ctx, ws+"/session")
	if err != nil {
		p.stop()
		return nil, err
	}
	b.stop = p.stop
	return b, nil
}

package webdriver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Classic is a session of classic WebDriver (W3C WebDriver, JSON over HTTP).
type Classic struct {
	base    string // the driver's URL, e.g. http://127.0.0.1:4444
	session string
	stop    func() // ends the driver and what it started, after the session
}

// NewClassic opens a session on the driver at base with the given capabilities.
func NewClassic(ctx context.Context, base string, caps map[string]any) (*Classic, error) {
	c := &Classic{base: base}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	body := map[string]any{"capabilities": map[string]any{"alwaysMatch": caps}}
	if err := c.call(ctx, http.MethodPost, "/session", body, &created); err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	c.session = "/session/" + created.SessionID
	// Uploads in the smoke take seconds; the default script timeout is 30 s.
	timeouts := map[string]any{"script": (3 * time.Minute).Milliseconds(), "pageLoad": time.Minute.Milliseconds()}
	if err := c.call(ctx, http.MethodPost, c.session+"/timeouts", timeouts, nil); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Classic) Navigate(ctx context.Context, url string) error {
	return c.call(ctx, http.MethodPost, c.session+"/url", map[string]any{"url": url}, nil)
}

func (c *Classic) Reload(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, c.session+"/refresh", map[string]any{}, nil)
}

// Eval uses Execute Async Script: the page calls the last argument with the outcome,
// which is how classic WebDriver awaits a promise in every implementation.
func (c *Classic) Eval(ctx context.Context, js string) (json.RawMessage, error) {
	script := `const done = arguments[arguments.length - 1];
` + AsJSON(js) + `.then((v) => done({ok: v}), (e) => done({thrown: String(e?.stack ?? e)}))`
	var out struct {
		OK     *string `json:"ok"`
		Thrown string  `json:"thrown"`
	}
	if err := c.call(ctx, http.MethodPost, c.session+"/execute/async", map[string]any{"script": script, "args": []any{}}, &out); err != nil {
		return nil, err
	}
	if out.OK == nil {
		return nil, fmt.Errorf("script threw: %s", out.Thrown)
	}
	return json.RawMessage(*out.OK), nil
}

// SetFiles finds the input and sends it the paths as keys, one per line (classic
// WebDriver's way to pick files).
func (c *Classic) SetFiles(ctx context.Context, selector string, paths []string) error {
	var el map[string]string
	if err := c.call(ctx, http.MethodPost, c.session+"/element", map[string]any{"using": "css selector", "value": selector}, &el); err != nil {
		return err
	}
	var id string
	for _, v := range el {
		id = v
	}
	return c.call(ctx, http.MethodPost, c.session+"/element/"+id+"/value", map[string]any{"text": strings.Join(paths, "\n")}, nil)
}

func (c *Classic) Close() error {
	var err error
	if c.session != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = c.call(ctx, http.MethodDelete, c.session, nil, nil)
		cancel()
	}
	if c.stop != nil {
		c.stop()
	}
	return err
}

// call sends one command and decodes the reply's "value" into out (when not nil).
func (c *Classic) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return fmt.Errorf("%s %s: %s, undecodable reply: %w", method, path, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Message string }
		_ = json.Unmarshal(reply.Value, &e)
		return fmt.Errorf("%s %s: %s: %s: %s", method, path, resp.Status, e.Error, e.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(reply.Value, out)
}

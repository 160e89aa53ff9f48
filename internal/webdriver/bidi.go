package webdriver

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// BiDi is a WebDriver BiDi session on one browsing context (the first tab).
type BiDi struct {
	conn    *websocket.Conn
	context string
	stop    func() // ends the browser, after the session

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan reply
	broken  error // set once the connection is gone: every later command fails with it
}

type reply struct {
	Type    string          `json:"type"` // success, error, event
	ID      *int            `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// NewBiDi connects to the WebSocket endpoint url and starts a session there.
func NewBiDi(ctx context.Context, url string) (*BiDi, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	b := &BiDi{conn: conn, waiting: map[int]chan reply{}}
	go b.read()
	if _, err := b.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("session.new: %w", err)
	}
	var tree struct {
		Contexts []struct{ Context string } `json:"contexts"`
	}
	res, err := b.call(ctx, "browsingContext.getTree", map[string]any{"maxDepth": 0})
	if err == nil {
		err = json.Unmarshal(res, &tree)
	}
	if err != nil || len(tree.Contexts) == 0 {
		conn.CloseNow()
		return nil, fmt.Errorf("no browsing context: %v (%s)", err, res)
	}
	b.context = tree.Contexts[0].Context
	return b, nil
}

// read hands each command's reply to its caller; events are not subscribed to.
func (b *BiDi) read() {
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			b.broken = fmt.Errorf("BiDi connection lost: %w", err)
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var r reply
		if json.Unmarshal(data, &r) != nil || r.ID == nil {
			continue
		}
		b.mu.Lock()
		ch := b.waiting[*r.ID]
		delete(b.waiting, *r.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends one command and waits for its reply's result.
func (b *BiDi) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	if b.broken != nil {
		b.mu.Unlock()
		return nil, b.broken
	}
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	if err := b.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, b.lost()
		}
		if r.Type == "error" {
			return nil, fmt.Errorf("%s: %s: %s", method, r.Error, r.Message)
		}
		return r.Result, nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (b *BiDi) Navigate(ctx context.Context, url string) error {
	_, err := b.call(ctx, "browsingContext.navigate", map[string]any{"context": b.context, "url": url, "wait": "complete"})
	return err
}

func (b *BiDi) Reload(ctx context.Context) error {
	_, err := b.call(ctx, "browsingContext.reload", map[string]any{"context": b.context, "wait": "complete"})
	return err
}

func (b *BiDi) Eval(ctx context.Context, js string) (json.RawMessage, error) {
	res, err := b.call(ctx, "script.evaluate", map[string]any{
		"expression": AsJSON(js), "target": map[string]any{"context": b.context},
		"awaitPromise": true, "resultOwnership": "none",
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		Type   string `json:"type"` // success or exception
		Result struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, err
	}
	if out.Type != "success" || out.Result.Type != "string" {
		return nil, fmt.Errorf("script threw: %s", out.ExceptionDetails.Text)
	}
	return json.RawMessage(out.Result.Value), nil
}

// SetFiles finds the input (script.evaluate hands back its shared id) and sets its
// files (input.setFiles).
func (b *BiDi) SetFiles(ctx context.Context, selector string, paths []string) error {
	sel, _ := json.Marshal(selector)
	res, err := b.call(ctx, "script.evaluate", map[string]any{
		"expression": "document.querySelector(" + string(sel) + ")", "target": map[string]any{"context": b.context},
		"awaitPromise": false, "resultOwnership": "root",
	})
	if err != nil {
		return err
	}
	var out struct {
		Result struct {
			SharedID string `json:"sharedId"`
		} `json:"result"`
	}
	if err := json.Unmarshal(res, &out); err != nil || out.Result.SharedID == "" {
		return fmt.Errorf("no element %s: %s %v", selector, res, err)
	}
	_, err = b.call(ctx, "input.setFiles", map[string]any{"context": b.context,
		"element": map[string]any{"sharedId": out.Result.SharedID}, "files": paths})
	return err
}

func (b *BiDi) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// browser.close ends the session and the browser; the connection then drops,
	// which may come before the reply.
	_, err := b.call(ctx, "browser.close", map[string]any{})
	if err != nil && b.lost() != nil {
		err = nil
	}
	b.conn.CloseNow()
	if b.stop != nil {
		b.stop()
	}
	return err
}

// lost is why the connection is gone, or nil.
func (b *BiDi) lost() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken
}

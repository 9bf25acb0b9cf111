// Package client talks to Aftershock's release API (deploy/releases) for
// deploy systems and for the `aftershock release …` command.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/deploy/gate"
	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/deploy/storeresume"
	"github.com/aftershock/aftershock/signals"
)

// maxResponseBytes bounds an answer (a list of 1000 releases with their
// events fits comfortably).
const maxResponseBytes = 64 << 20

// Start is the release a deploy starts; see releases.StartRequest.
type Start = releases.StartRequest

// Client calls the release API at BaseURL (e.g. "http://127.0.0.1:8080").
// Token, when set, is sent as a bearer token. HTTP nil means a client with
// a 30 s timeout.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// Error is an error answer of the server: its status and the text of its
// JSON "error" field (or of the body, when that is not the API's JSON).
type Error struct {
	Status  int
	Message string
}

// Error returns the server's message with the status.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// Start registers a release and, when s.Ring is set, starts it on that ring.
// Retrying the same start is safe: the server answers with the existing
// release.
func (c *Client) Start(ctx context.Context, s Start) (releases.Release, error) {
	var r releases.Release
	err := c.do(ctx, http.MethodPost, "/v1/releases", s, &r)
	return r, err
}

// Event records an event (signals.EventPromoted, …) of release id; ring is
// required for started and promoted and defaults to the current ring for
// the others. Retrying the same event is safe.
func (c *Client) Event(ctx context.Context, id, event, ring string) (releases.Release, error) {
	var r releases.Release
	body := releases.EventRequest{Event: event, Ring: ring}
	err := c.do(ctx, http.MethodPost, "/v1/releases/"+url.PathEscape(id)+"/events", body, &r)
	return r, err
}

// Exposure records that release id's ring (its current ring when "") now
// reaches share of the users, in (0, 1] — for deploy systems that stage a
// rollout themselves; the store notifiers report store phases on their own.
func (c *Client) Exposure(ctx context.Context, id, ring string, share float64) (releases.Release, error) {
	var r releases.Release
	body := releases.EventRequest{Event: signals.EventExposure, Ring: ring, Exposure: share}
	err := c.do(ctx, http.MethodPost, "/v1/releases/"+url.PathEscape(id)+"/events", body, &r)
	return r, err
}

// ResumeStore resumes the paused App Store phased release or Play staged
// rollout of release id (an sre-admin token is needed); notifier picks one
// store notifier, "" means every one that covers the release.
func (c *Client) ResumeStore(ctx context.Context, id, notifier string) (storeresume.Response, error) {
	var r storeresume.Response
	err := c.do(ctx, http.MethodPost, "/v1/releases/"+url.PathEscape(id)+"/resume-store", storeresume.Request{Notifier: notifier}, &r)
	return r, err
}

// Gate asks the gate whether release id may leave ring ("" means its
// current ring): the answer's Decision is proceed, halt, wait or
// review_required, as an Argo Rollouts or Flagger check would read it.
func (c *Client) Gate(ctx context.Context, id, ring string) (gate.Answer, error) {
	var a gate.Answer
	path := "/v1/releases/" + url.PathEscape(id) + "/gate"
	if ring != "" {
		path += "?" + url.Values{"ring": {ring}}.Encode()
	}
	err := c.do(ctx, http.MethodGet, path, nil, &a)
	return a, err
}

// Get returns release id.
func (c *Client) Get(ctx context.Context, id string) (releases.Release, error) {
	var r releases.Release
	err := c.do(ctx, http.MethodGet, "/v1/releases/"+url.PathEscape(id), nil, &r)
	return r, err
}

// List returns the releases matching f, newest first; limit <= 0 means the
// server's default (100).
func (c *Client) List(ctx context.Context, f releases.Filter, limit int) ([]releases.Release, error) {
	q := url.Values{}
	if f.Service != "" {
		q.Set("service", f.Service)
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/releases"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out releases.ListResponse
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Releases, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	base := strings.TrimRight(c.BaseURL, "/")
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, base+path, err)
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("%s %s: answer larger than %d bytes", method, base+path, maxResponseBytes)
	}
	if resp.StatusCode >= 300 {
		return answerError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding answer: %w", method, base+path, err)
	}
	return nil
}

func answerError(status int, body []byte) error {
	var e releases.ErrorResponse
	if err := json.Unmarshal(body, &e); err == nil && e.Error != "" {
		return &Error{Status: status, Message: e.Error}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Message: msg}
}

// IsStatus reports whether err is a server answer with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

package x

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/dghubble/go-twitter/twitter"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/signals"
)

// errReconnect refuses go-twitter's own reconnect after a connection
// ended: reconnecting is the runner's job, with its backoff.
var errReconnect = errors.New("connection ended; the runner reconnects")

// errMessageTooLarge ends a v1.1 connection whose message outgrows
// MaxStreamMessage (go-twitter would buffer it whole).
var errMessageTooLarge = fmt.Errorf("stream message larger than %d bytes", MaxStreamMessage)

// streamV11 runs one connection to the v1.1 statuses/filter stream through
// go-twitter.
//
// go-twitter keeps its own goroutine that reconnects and backs off out of
// the caller's sight, and closes Messages without an error on 401/403/404.
// streamTransport tames it: it allows one connection per call, turns the
// statuses go-twitter would sleep on (420, 429, 503) into errors that
// reach Messages, and remembers the last status so a silently closed
// channel can be explained.
func (s *StreamSource) streamV11(ctx context.Context, cursor string, emit func(crawlers.Page) error) error {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
	}
	cur = cur.finish()
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idleTimeout := s.src.opts.IdleTimeout
	idle := time.AfterFunc(idleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()

	target, _ := url.Parse(s.src.opts.BaseURL) // checked by Validate
	tr := &streamTransport{ctx: ctx, base: s.client.Transport, target: target, activity: func() { idle.Reset(idleTimeout) }}
	client := twitter.NewClient(&http.Client{Transport: tr, CheckRedirect: s.client.CheckRedirect})
	stream, err := client.Streams.Filter(&twitter.StreamFilterParams{
		Track:         s.src.opts.Track,
		StallWarnings: twitter.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("opening the X v1.1 stream: %w", err)
	}
	defer func() {
		// With ctx cancelled go-twitter's goroutine fails its next read or
		// request (a reconnect is refused) and closes Messages. Draining
		// the channel to its close also orders the goroutine's writes
		// before Stop reads them.
		cancel(nil)
		for range stream.Messages {
		}
		stream.Stop()
	}()
	s.log.Info("following the X v1.1 stream", "track", len(s.src.opts.Track))

	for {
		select {
		case <-ctx.Done():
			return s.ended(parent, ctx, ctx.Err())
		case msg, ok := <-stream.Messages:
			if !ok {
				return s.ended(parent, ctx, s.v11Closed(tr.last()))
			}
			page, err := s.v11Message(msg, &cur)
			if err != nil {
				return s.ended(parent, ctx, err)
			}
			if page != nil {
				if err := emit(*page); err != nil {
					return err
				}
			}
		}
	}
}

// v11Message turns one go-twitter message into a page (nil when there is
// nothing to emit), or an error that ends the stream.
func (s *StreamSource) v11Message(msg any, cur *cursorState) (*crawlers.Page, error) {
	switch m := msg.(type) {
	case *twitter.Tweet:
		p, err := s.src.v11Post(m, s.src.now())
		if err != nil {
			s.log.Debug("skipping malformed post", "err", err)
			p := crawlers.Skipping(crawlers.SkipReason(err))
			return &p, nil
		}
		cur.SinceID = newer(cur.SinceID, p.ID)
		return &crawlers.Page{Posts: []signals.Post{p}, Cursor: cur.encode()}, nil
	case *twitter.StatusDeletion:
		// A post already published stays; the detector only counts.
		s.log.Debug("post deleted", "id", m.IDStr)
	case *twitter.StreamLimit:
		s.log.Warn("X withheld matching posts over the stream's rate limit", "undelivered_total", m.Track)
	case *twitter.StallWarning:
		s.log.Warn("X says the stream reader falls behind", "code", m.Code, "percent_full", m.PercentFull, "message", truncate(m.Message, 200))
	case *twitter.StreamDisconnect:
		return nil, fmt.Errorf("X ended the v1.1 stream: code %d %s: %s", m.Code, m.StreamName, truncate(m.Reason, 200))
	case error:
		var ue *url.Error
		if errors.As(m, &ue) {
			return nil, s.v11ConnError(m)
		}
		// A message that is not a JSON object.
		s.log.Debug("skipping malformed stream message", "err", m)
		p := crawlers.Skipping(crawlers.SkipMalformed)
		return &p, nil
	default:
		s.log.Debug("ignoring stream message", "type", fmt.Sprintf("%T", msg))
	}
	return nil, nil
}

// v11ConnError classifies a failed connection go-twitter reported.
func (s *StreamSource) v11ConnError(err error) error {
	var se *statusResponseError
	switch {
	case errors.As(err, &se):
		return s.v11Status(se.status)
	case errors.Is(err, errReconnect):
		return errors.New("X v1.1 stream: closed by X")
	case errors.Is(err, errMessageTooLarge):
		return fmt.Errorf("reading the X v1.1 stream: %w", errMessageTooLarge)
	}
	return fmt.Errorf("connecting to the X v1.1 stream: %w", err)
}

// v11Closed explains a Messages channel go-twitter closed without an error:
// it does so when the server answered anything but 200, 420, 429 or 503.
func (s *StreamSource) v11Closed(st streamStatus) error {
	if st.code == 0 || st.code == http.StatusOK {
		return errors.New("X v1.1 stream: closed without an error")
	}
	return s.v11Status(st)
}

// v11Status classifies a refused connection. 420 (Enhance Your Calm) and
// 429 wait at least the minute X asked for; 401/403/404 are permanent and
// name the way out, since X retired v1.1 streaming for most apps.
func (s *StreamSource) v11Status(st streamStatus) error {
	err := fmt.Errorf("connecting to the X v1.1 stream: %d %s", st.code, statusText(st.code))
	if st.detail != "" {
		err = fmt.Errorf("%w: %s", err, st.detail)
	}
	switch st.code {
	case 420, http.StatusTooManyRequests:
		return &crawlers.RateLimitError{RetryAfter: max(time.Minute, s.src.retryAfter(st.header)), Err: err}
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return &crawlers.PermanentError{Err: fmt.Errorf("%w (X retired v1.1 streaming for most apps: switch to api: v2 with options.rules)", err)}
	}
	return s.src.statusError(st.code, st.header, "connecting to the X v1.1 stream", st.detail, false)
}

func statusText(code int) string {
	if code == 420 {
		return "Enhance Your Calm"
	}
	return http.StatusText(code)
}

// streamStatus is a response status the transport saw.
type streamStatus struct {
	code   int
	header http.Header
	detail string
}

// statusResponseError carries a status go-twitter would have slept on.
type statusResponseError struct{ status streamStatus }

func (e *statusResponseError) Error() string {
	return fmt.Sprintf("%d %s", e.status.code, statusText(e.status.code))
}

// streamTransport sends go-twitter's stream request, built for its
// hard-coded https://stream.twitter.com/1.1/ base, to the configured base
// URL, bound to ctx. It allows one request, records the status, turns
// 420/429/503 into an error and reports reads on a 200 body as activity.
type streamTransport struct {
	ctx      context.Context
	base     http.RoundTripper
	target   *url.URL
	activity func()

	mu     sync.Mutex
	calls  int
	status streamStatus
}

func (t *streamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.calls++
	first := t.calls == 1
	t.mu.Unlock()
	if !first {
		return nil, errReconnect
	}
	resp, err := t.base.RoundTrip(retarget(req, t.ctx, t.target))
	if err != nil {
		return nil, err
	}
	st := streamStatus{code: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		t.record(st)
		resp.Body = &streamBody{rc: resp.Body, activity: t.activity}
		return resp, nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	st.detail = v11Detail(data)
	t.record(st)
	switch resp.StatusCode {
	case 420, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		// go-twitter would back off on its own for up to 16 minutes.
		return nil, &statusResponseError{status: st}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp, nil
}

func (t *streamTransport) record(st streamStatus) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.status = st
}

// last is the status of the last response.
func (t *streamTransport) last() streamStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status
}

// v11Detail sums up a v1.1 error body ({"errors":[{"code":..,"message":..}]}
// or text) for an error message.
func v11Detail(data []byte) string {
	var body struct {
		Errors []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &body) == nil && len(body.Errors) > 0 {
		return truncate(fmt.Sprintf("code %d %s", body.Errors[0].Code, body.Errors[0].Message), 400)
	}
	text := strings.TrimSpace(string(data))
	if strings.HasPrefix(text, "<") { // an HTML error page
		return ""
	}
	return truncate(strings.ToValidUTF8(text, ""), 200)
}

// streamBody reports each read as activity and fails a message (up to the
// "\r\n" that ends it) longer than MaxStreamMessage.
type streamBody struct {
	rc       io.ReadCloser
	activity func()
	run      int
	prevCR   bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.activity()
		for _, c := range p[:n] {
			if c == '\n' && b.prevCR {
				b.run = 0
			} else {
				b.run++
			}
			b.prevCR = c == '\r'
		}
		if b.run > MaxStreamMessage {
			return 0, errMessageTooLarge
		}
	}
	return n, err
}

func (b *streamBody) Close() error { return b.rc.Close() }

package bluesky

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/signals"
)

// Jetstream tuning.
const (
	// Rewind is how far before the stored cursor a reconnect resumes:
	// Jetstream's cursor is a time, and events near it may come in a
	// different order after a reconnect. The repeats this gives keep their
	// ids, so the runner's Nats-Msg-Id drops them.
	Rewind = 5 * time.Second
	// MaxMessage is asked of Jetstream as maxMessageSizeBytes, so a larger
	// event is dropped by the server instead of breaking the connection.
	MaxMessage = 1 << 20
	// FlushDelay is how long a matching post waits for others to share its
	// page.
	FlushDelay = 100 * time.Millisecond
	// CursorEvery is how often the cursor moves when no post matches.
	CursorEvery = time.Second
	// MaxBatch is the most posts one page holds.
	MaxBatch = 100
)

// errIdle ends a stream that went quiet.
var errIdle = errors.New("stream idle")

// StreamSource follows the Jetstream firehose (app.bsky.feed.post commits,
// JSON over a WebSocket) and keeps the new posts whose text holds one of
// options.terms. The cursor is the time_us of the last event read, as a
// decimal string. It is safe for concurrent use, but one runner drives one
// stream at a time.
type StreamSource struct {
	base
	client *http.Client
	match  *matcher
}

func newStream(spec crawlers.Spec, opts Options, deps crawlers.Deps) *StreamSource {
	// The client's timeout bounds the handshake only; the library refuses
	// a client timeout on the connection itself.
	return &StreamSource{
		base:   base{spec: spec, opts: opts, ua: deps.UserAgent, now: deps.Now, log: deps.Logger},
		client: deps.HTTPClient(spec.Timeout),
		match:  newMatcher(opts.Terms),
	}
}

// subscribeURL is the Jetstream address to read from (cursor 0: live).
func (s *StreamSource) subscribeURL(cursor int64) string {
	u, err := url.Parse(s.opts.JetstreamURL)
	if err != nil {
		return s.opts.JetstreamURL // checked by Validate
	}
	q := u.Query()
	q.Set("wantedCollections", collectionPost)
	q.Set("maxMessageSizeBytes", strconv.Itoa(MaxMessage))
	q.Del("cursor")
	q.Del("compress") // zstd with Jetstream's own dictionary: not spoken
	if cursor > 0 {
		q.Set("cursor", strconv.FormatInt(cursor, 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Stream connects from cursor (less Rewind; live without one) and emits the
// matching posts in small pages, until ctx ends or the connection breaks or
// goes quiet for options.idle_timeout. It always returns an error telling
// why it ended; the runner reconnects with backoff.
func (s *StreamSource) Stream(ctx context.Context, cursor string, emit func(crawlers.Page) error) error {
	last, err := parseStreamCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, following live", "err", err)
	}
	from := int64(0)
	if last > 0 {
		from = max(1, last-Rewind.Microseconds())
	}
	target := s.subscribeURL(from)
	h := http.Header{}
	s.header(h)
	conn, resp, err := websocket.Dial(ctx, target, &websocket.DialOptions{
		HTTPClient:      s.client,
		HTTPHeader:      h,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return dialError(target, resp, err, s.now())
	}
	conn.SetReadLimit(MaxMessage + 64<<10)
	s.log.Info("following Jetstream", "url", target)

	rctx, cancel := context.WithCancel(ctx)
	msgs := make(chan []byte, 64)
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(msgs)
		for {
			_, data, err := conn.Read(rctx)
			if err != nil {
				readErr = err
				return
			}
			select {
			case msgs <- data:
			case <-rctx.Done():
				return
			}
		}
	})
	defer func() {
		cancel()
		conn.CloseNow()
		wg.Wait()
	}()

	f := flusher{emit: emit, emitted: last}
	f.timer = time.NewTimer(time.Hour)
	f.timer.Stop()
	defer f.timer.Stop()
	idleTimeout := s.opts.IdleTimeout
	idle := time.NewTimer(idleTimeout)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-idle.C:
			if err := f.flush(); err != nil {
				return err
			}
			return fmt.Errorf("reading %s: nothing received for %s: %w", target, idleTimeout, errIdle)
		case <-f.due:
			if err := f.flush(); err != nil {
				return err
			}
		case data, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err := f.flush(); err != nil {
					return err
				}
				return fmt.Errorf("reading %s: %w", target, readError(readErr))
			}
			idle.Reset(idleTimeout)
			s.handle(data, &f.batch)
			if err := f.schedule(); err != nil {
				return err
			}
		}
	}
}

// batch is what was read and not yet emitted.
type batch struct {
	posts   []signals.Post
	skipped crawlers.Skips
	timeUS  int64 // newest time_us read
}

// flusher emits batches: at once when full, FlushDelay after the first
// pending post or skip, CursorEvery after the cursor alone moved.
type flusher struct {
	emit    func(crawlers.Page) error
	batch   batch
	emitted int64 // the cursor last emitted
	timer   *time.Timer
	due     <-chan time.Time // nil while the timer is not armed
	dueAt   time.Time
}

func (f *flusher) schedule() error {
	switch {
	case len(f.batch.posts) >= MaxBatch:
		return f.flush()
	case len(f.batch.posts) > 0 || f.batch.skipped.Total() > 0:
		f.arm(FlushDelay)
	case f.batch.timeUS > f.emitted:
		f.arm(CursorEvery)
	}
	return nil
}

// arm makes the timer fire within d (an earlier deadline stays).
func (f *flusher) arm(d time.Duration) {
	at := time.Now().Add(d)
	if f.due != nil && !at.Before(f.dueAt) {
		return
	}
	f.timer.Reset(d)
	f.due, f.dueAt = f.timer.C, at
}

// flush emits the batch, if it holds anything new.
func (f *flusher) flush() error {
	f.timer.Stop()
	f.due = nil
	b := f.batch
	if len(b.posts) == 0 && b.skipped.Total() == 0 && b.timeUS <= f.emitted {
		return nil
	}
	page := crawlers.Page{Posts: b.posts, Skipped: b.skipped}
	if b.timeUS > f.emitted {
		page.Cursor = strconv.FormatInt(b.timeUS, 10)
	}
	f.batch = batch{timeUS: b.timeUS}
	if err := f.emit(page); err != nil {
		return err
	}
	f.emitted = max(f.emitted, b.timeUS)
	return nil
}

// event is a Jetstream message.
type event struct {
	DID    string `json:"did"`
	TimeUS int64  `json:"time_us"`
	Kind   string `json:"kind"`
	Commit *struct {
		Operation  string          `json:"operation"`
		Collection string          `json:"collection"`
		Rkey       string          `json:"rkey"`
		Record     json.RawMessage `json:"record"`
	} `json:"commit"`
}

// handle reads one message into b: a new matching post is added, a
// malformed message counted, anything else (identity and account events,
// updates, deletes, other collections, posts that do not match) only moves
// the cursor.
func (s *StreamSource) handle(data []byte, b *batch) {
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		b.skipped.Add(crawlers.SkipMalformed, 1)
		s.log.Debug("skipping malformed Jetstream message", "err", err)
		return
	}
	if ev.Kind != "commit" && ev.Kind != "identity" && ev.Kind != "account" {
		return // heartbeat or a kind added later
	}
	if ev.TimeUS <= 0 {
		b.skipped.Add(crawlers.SkipNoTime, 1)
		s.log.Debug("skipping Jetstream message without time_us", "kind", ev.Kind)
		return
	}
	b.timeUS = max(b.timeUS, ev.TimeUS)
	c := ev.Commit
	if ev.Kind != "commit" || c == nil || c.Operation != "create" || c.Collection != collectionPost {
		return
	}
	post, err := s.post(&ev)
	if err != nil {
		b.skipped.Add(crawlers.SkipReason(err), 1)
		s.log.Debug("skipping malformed post", "did", ev.DID, "rkey", c.Rkey, "err", err)
		return
	}
	if post != nil {
		b.posts = append(b.posts, *post)
	}
}

// post turns a create commit into a post, or nil when it does not match
// the terms and language.
func (s *StreamSource) post(ev *event) (*signals.Post, error) {
	c := ev.Commit
	if !validDID(ev.DID) || !validRkey(c.Rkey) {
		return nil, fmt.Errorf("bad did %q or rkey %q", ev.DID, c.Rkey)
	}
	var rec record
	if err := json.Unmarshal(c.Record, &rec); err != nil {
		return nil, fmt.Errorf("decoding record: %w", err)
	}
	if rec.Type != "" && rec.Type != collectionPost {
		return nil, fmt.Errorf("record type %q, want %s", rec.Type, collectionPost)
	}
	if rec.Text == "" || !s.match.match(rec.Text) || !s.wantLang(rec.Langs) {
		return nil, nil
	}
	// The post's time is the server's time_us: createdAt is written by
	// the author's client and can be anything (backdated, a wrong clock).
	// It is kept as the author's time.
	created, err := parseTime(rec.CreatedAt)
	if err != nil {
		created = time.Time{}
	}
	return &signals.Post{
		Type:       signals.TypePost,
		Time:       time.UnixMicro(ev.TimeUS).UTC(),
		TimeFrom:   signals.TimeFromServer,
		AuthorTime: created,
		Source:     s.spec.Name,
		ID:         ev.DID + "/" + c.Rkey,
		Service:    s.spec.Service,
		Text:       plaintext.Truncate(rec.Text, signals.MaxTextBytes),
		Lang:       firstLang(rec.Langs),
		URL:        postURL(ev.DID, c.Rkey),
		Author:     ev.DID,
		Fetched:    s.now(),
	}, nil
}

// wantLang reports whether a post in langs is wanted: always without
// options.lang, else when one of langs is that language ("en" takes "en-US").
func (s *StreamSource) wantLang(langs []string) bool {
	want := crawlers.Lang(s.opts.Lang)
	if want == "" {
		return true
	}
	for _, l := range langs {
		if crawlers.Lang(l) == want {
			return true
		}
	}
	return false
}

// parseStreamCursor reads a cursor: a time_us as a decimal string.
func parseStreamCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("cursor %q is not a time_us", s)
	}
	return n, nil
}

// dialError turns a failed handshake into the error the runner acts on:
// 429 waits, other 4xx are permanent, the rest is retried.
func dialError(target string, resp *http.Response, err error, now time.Time) error {
	err = fmt.Errorf("connecting to %s: %w", target, err)
	if resp == nil {
		return err
	}
	if resp.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if text := pageText(body); text != "" {
			err = fmt.Errorf("%w: %s", err, plaintext.Truncate(text, 200))
		}
	}
	wait, _ := httpsrc.RetryAfter(resp.Header.Get("Retry-After"), now)
	return httpsrc.StatusError(resp.StatusCode, wait, err)
}

// readError explains why reading stopped.
func readError(err error) error {
	if err == nil {
		return errors.New("closed")
	}
	if st := websocket.CloseStatus(err); st != -1 {
		return fmt.Errorf("closed by the server (%d): %w", st, err)
	}
	return err
}

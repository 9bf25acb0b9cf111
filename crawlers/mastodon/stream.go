package mastodon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/internal/lines"
)

// MaxEvent caps one server-sent event; a larger one is skipped and counted.
const MaxEvent = 1 << 20

// errIdle ends a stream that went quiet.
var errIdle = errors.New("stream idle")

// StreamSource follows one timeline over Mastodon's streaming API
// (server-sent events). Each connection first opens the stream, then
// backfills over REST from the cursor (min_id) what was posted while it was
// away, then emits each status the stream announces. It is safe for
// concurrent use, but one runner drives one stream at a time.
type StreamSource struct {
	src    *Source
	client *http.Client
	base   string
	tl     timeline
	log    *slog.Logger
}

// NewStream builds a streaming Mastodon source from its spec; its options
// must set stream: true. It does no I/O.
func NewStream(spec crawlers.Spec, deps crawlers.Deps) (*StreamSource, error) {
	s, err := New(spec, deps)
	if err != nil {
		return nil, err
	}
	if !s.opts.Stream {
		return nil, errors.New("options.stream: must be true for a streaming source")
	}
	return newStream(s, deps.WithDefaults()), nil
}

func newStream(s *Source, deps crawlers.Deps) *StreamSource {
	// The stream lives for hours: no overall timeout, but the transport's
	// response header timeout and the idle timer still apply.
	client := *deps.HTTPClient(s.spec.Timeout)
	client.Timeout = 0
	base := s.opts.StreamingURL
	if base == "" {
		base = s.opts.Instance
	}
	return &StreamSource{src: s, client: &client, base: base, tl: s.timelines[0], log: s.log}
}

// streamURL is the address of the SSE stream of the timeline.
func (s *StreamSource) streamURL() string {
	local := ""
	if s.src.opts.Local {
		local = "/local"
	}
	if s.tl.tag == "" {
		return s.base + "/api/v1/streaming/public" + local
	}
	return s.base + "/api/v1/streaming/hashtag" + local + "?tag=" + url.QueryEscape(s.tl.tag)
}

// Stream connects, backfills from cursor over REST, then emits each new
// status until ctx ends or the connection breaks (a drop, or no data nor
// heartbeat for options.idle_timeout). It always returns an error telling
// why the stream ended; the runner reconnects with backoff.
func (s *StreamSource) Stream(ctx context.Context, cursor string, emit func(crawlers.Page) error) error {
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idleTimeout := s.src.opts.IdleTimeout
	idle := time.AfterFunc(idleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()

	target := s.streamURL()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", target, err)
	}
	s.src.header(req)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := s.client.Do(req)
	if err != nil {
		return s.ended(parent, ctx, fmt.Errorf("opening stream %s: %w", target, s.src.scrub(err)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return s.src.statusError(target, resp, body, rateLimit(resp.Header))
	}

	// Opened first, backfilled second: whatever is posted in between
	// waits in the stream, so nothing falls in the gap.
	cur, backfilled, err := s.backfill(ctx, cursor, emit, func() { idle.Reset(idleTimeout) })
	if err != nil {
		return s.ended(parent, ctx, err)
	}
	idle.Reset(idleTimeout)

	r := bufio.NewReaderSize(resp.Body, 64<<10)
	var event string
	var data []byte
	oversize := false
	for {
		line, tooLong, err := lines.Read(r, MaxEvent)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("closed by the server")
			}
			return s.ended(parent, ctx, fmt.Errorf("reading stream %s: %w", target, err))
		}
		idle.Reset(idleTimeout)
		switch {
		case len(line) == 0: // end of an event
			if event != "" || len(data) > 0 || oversize {
				if err := s.dispatch(event, data, oversize, &cur, backfilled, emit); err != nil {
					return err
				}
			}
			event, data, oversize = "", data[:0], false
		case line[0] == ':': // a comment: heartbeat (":thump") or greeting
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				event = string(value)
			case "data":
				if tooLong || len(data)+len(value)+1 > MaxEvent {
					oversize = true
					continue
				}
				if len(data) > 0 {
					data = append(data, '\n')
				}
				data = append(data, value...)
			}
		}
	}
}

// ended explains why the stream stopped: the caller's context, the idle
// timer, or err.
func (s *StreamSource) ended(parent, ctx context.Context, err error) error {
	switch {
	case parent.Err() != nil:
		return parent.Err()
	case errors.Is(context.Cause(ctx), errIdle):
		return fmt.Errorf("stream %s: nothing received for %s: %w", s.streamURL(), s.src.opts.IdleTimeout, errIdle)
	}
	return err
}

// backfill polls the timeline over REST from cursor until no full page is
// left, emitting each page, and returns the cursor reached and the ids it
// emitted (the stream may announce them again).
func (s *StreamSource) backfill(ctx context.Context, cursor string, emit func(crawlers.Page) error, progress func()) (cursorState, map[string]bool, error) {
	cursor, seen, err := crawlers.Drain(ctx, s.src, cursor, emit, progress)
	if err != nil {
		return cursorState{}, nil, fmt.Errorf("backfilling over REST: %w", err)
	}
	cur, err := decodeCursor(cursor)
	if err != nil {
		return cursorState{}, nil, err
	}
	cur.More = nil
	if cur.Newest == nil {
		cur.Newest = make(map[string]string)
	}
	return cur, seen, nil
}

// dispatch handles one event: an update becomes a post, the rest (delete,
// status.update edits, filters_changed) is ignored.
func (s *StreamSource) dispatch(event string, data []byte, oversize bool, cur *cursorState, backfilled map[string]bool, emit func(crawlers.Page) error) error {
	if event != "update" {
		s.log.Debug("ignoring stream event", "event", event)
		return nil
	}
	if oversize {
		s.log.Warn("skipping oversized stream event", "max_bytes", MaxEvent)
		return emit(crawlers.Skipping(crawlers.SkipOversize))
	}
	st, err := decodeStatus(data)
	if err != nil {
		s.log.Debug("skipping malformed status", "timeline", s.tl.key, "err", err)
		return emit(crawlers.Skipping(crawlers.SkipReason(err)))
	}
	cur.Newest[s.tl.key] = maxID(cur.Newest[s.tl.key], st.ID)
	page := crawlers.Page{Cursor: cur.encode()}
	post, ok := s.src.post(st, s.src.now())
	switch {
	case !ok:
		page.Skip(crawlers.SkipNoText)
	case backfilled[post.ID]:
	default:
		page.Posts = append(page.Posts, post)
	}
	return emit(page)
}

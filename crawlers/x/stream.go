package x

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/crawlers/internal/lines"
)

// v2 filtered stream endpoints.
const (
	v2StreamPath = "/2/tweets/search/stream"
	v2RulesPath  = "/2/tweets/search/stream/rules"
)

// MaxStreamMessage caps one stream message; a larger v2 message is skipped
// and counted, a larger v1.1 message ends the connection.
const MaxStreamMessage = 1 << 20

// TagPrefix starts the tag of every v2 stream rule a source owns; the
// source name and a colon follow.
const TagPrefix = "aftershock:"

// errIdle ends a stream that went quiet.
var errIdle = errors.New("stream idle")

// StreamSource follows X's filtered stream (a crawlers.Streamer), v2 or
// v1.1 after options.api. It is safe for concurrent use, but one runner
// drives one stream at a time: X allows one connection per app.
type StreamSource struct {
	src *Source
	// client has no overall timeout: a stream lives for hours. The
	// transport's response header timeout and the idle timer still apply.
	client *http.Client
	// prefix starts the tags of the rules this source owns.
	prefix string
	log    *slog.Logger
}

// NewStream builds a streaming X source from its spec; its options must
// set stream: true. It does no I/O.
func NewStream(spec crawlers.Spec, deps crawlers.Deps) (*StreamSource, error) {
	s, err := New(spec, deps)
	if err != nil {
		return nil, err
	}
	if !s.opts.Stream {
		return nil, errors.New("options.stream: must be true for a streaming source")
	}
	return newStream(s), nil
}

func newStream(s *Source) *StreamSource {
	client := *s.http
	client.Timeout = 0
	return &StreamSource{src: s, client: &client, prefix: TagPrefix + s.spec.Name + ":", log: s.log}
}

// Stream follows the filtered stream until ctx ends or the connection
// breaks, and returns why it ended; the runner reconnects with backoff.
//
// v2: the source first syncs its rules, then connects, then backfills
// from the cursor's since_id through recent search what was posted while
// it was away, then emits each post the stream delivers for its rules.
// v1.1: go-twitter's Streams.Filter with options.track, without backfill.
func (s *StreamSource) Stream(ctx context.Context, cursor string, emit func(crawlers.Page) error) error {
	if s.src.opts.API == APIv11 {
		return s.streamV11(ctx, cursor, emit)
	}
	return s.streamV2(ctx, cursor, emit)
}

// ended explains why a stream stopped: the caller's context, the idle
// timer, or err.
func (s *StreamSource) ended(parent, ctx context.Context, err error) error {
	switch {
	case parent.Err() != nil:
		return parent.Err()
	case errors.Is(context.Cause(ctx), errIdle):
		return fmt.Errorf("X %s stream: nothing received for %s: %w", s.src.opts.API, s.src.opts.IdleTimeout, errIdle)
	}
	return err
}

// streamV2 runs one connection to the v2 filtered stream.
func (s *StreamSource) streamV2(ctx context.Context, cursor string, emit func(crawlers.Page) error) error {
	ours, err := s.syncRules(ctx)
	if err != nil {
		return err
	}
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idleTimeout := s.src.opts.IdleTimeout
	idle := time.AfterFunc(idleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()

	resp, err := s.connectV2(ctx)
	if err != nil {
		return s.ended(parent, ctx, err)
	}
	defer resp.Body.Close()

	// Connected first, backfilled second: whatever is posted in between
	// waits in the stream, so nothing falls in the gap.
	cur, backfilled, err := s.backfill(ctx, cursor, emit, func() { idle.Reset(idleTimeout) })
	if err != nil {
		return s.ended(parent, ctx, err)
	}
	idle.Reset(idleTimeout)
	s.log.Info("following the X v2 filtered stream", "rules", len(s.src.opts.Rules), "since_id", cur.SinceID)

	r := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, tooLong, err := lines.Read(r, MaxStreamMessage)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("closed by X")
			}
			return s.ended(parent, ctx, fmt.Errorf("reading the X v2 stream: %w", err))
		}
		idle.Reset(idleTimeout)
		if tooLong {
			s.log.Warn("skipping oversized stream message", "max_bytes", MaxStreamMessage)
			if err := emit(crawlers.Skipping(crawlers.SkipOversize)); err != nil {
				return err
			}
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue // keep-alive
		}
		page, err := s.v2Message(line, ours, &cur, backfilled)
		if err != nil {
			return err
		}
		if page != nil {
			if err := emit(*page); err != nil {
				return err
			}
		}
	}
}

// connectV2 opens the v2 stream with the fields recent search asks for.
func (s *StreamSource) connectV2(ctx context.Context) (*http.Response, error) {
	q := url.Values{}
	q.Set("tweet.fields", v2TweetFields)
	q.Set("expansions", "author_id")
	q.Set("user.fields", "username")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.src.opts.BaseURL+v2StreamPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("connecting to the X v2 stream: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("connecting to the X v2 stream: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body v2Response
	_ = json.Unmarshal(data, &body) // an HTML error page has no detail to give
	// A 429 here is usually a second connection ("TooManyConnections"):
	// X allows one per app.
	return nil, s.src.statusError(resp.StatusCode, resp.Header, "connecting to the X v2 stream", body.describe(), body.hasCode(codeRateLimited))
}

// backfill polls recent search from the cursor's since_id until no page is
// left, emitting each page, and returns the cursor reached and the ids it
// emitted (the stream may deliver them again). Without a since_id (a first
// start) there is no gap to fill.
func (s *StreamSource) backfill(ctx context.Context, cursor string, emit func(crawlers.Page) error, progress func()) (cursorState, map[string]bool, error) {
	seen := make(map[string]bool)
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, following the stream from now", "err", err)
		return cursorState{}, seen, nil
	}
	if cur.SinceID == "" && cur.NewestID == "" {
		return cursorState{}, seen, nil
	}
	cursor, seen, err = crawlers.Drain(ctx, s.src, cursor, emit, progress)
	if err != nil {
		return cursorState{}, nil, fmt.Errorf("backfilling through recent search: %w", err)
	}
	cur, err = decodeCursor(cursor)
	if err != nil {
		return cursorState{}, nil, err
	}
	return cur.finish(), seen, nil
}

// v2StreamMessage is one line of the v2 stream: a post with the rules it
// matched, or an error object (an operational disconnect).
type v2StreamMessage struct {
	Data     json.RawMessage `json:"data"`
	Includes struct {
		Users []v2User `json:"users"`
	} `json:"includes"`
	MatchingRules []streamRule `json:"matching_rules"`
	Errors        []v2Error    `json:"errors"`
}

// v2Message turns one stream line into a page (nil when there is nothing
// to emit), or an error that ends the stream.
func (s *StreamSource) v2Message(line []byte, ours map[string]bool, cur *cursorState, backfilled map[string]bool) (*crawlers.Page, error) {
	var m v2StreamMessage
	if err := json.Unmarshal(line, &m); err != nil {
		s.log.Debug("skipping malformed stream message", "err", err)
		p := crawlers.Skipping(crawlers.SkipMalformed)
		return &p, nil
	}
	if len(m.Data) == 0 || string(m.Data) == "null" {
		if len(m.Errors) > 0 {
			// {"errors":[{"title":"operational-disconnect",...}]}: X ends
			// the connection; reconnect.
			e := m.Errors[0]
			return nil, fmt.Errorf("X ended the v2 stream: %s", truncate(strings.Trim(e.Title+": "+e.Detail, ": "), 400))
		}
		s.log.Debug("ignoring stream message without data")
		return nil, nil
	}
	if !s.matchesOurs(m.MatchingRules, ours) {
		// Another app's rule on the same project matched.
		s.log.Debug("ignoring post matching only other rules")
		return nil, nil
	}
	users := make(map[string]string, len(m.Includes.Users))
	for _, u := range m.Includes.Users {
		users[u.ID] = u.Username
	}
	p, err := s.src.v2Post(m.Data, users, s.src.now())
	if err != nil {
		s.log.Debug("skipping malformed post", "err", err)
		p := crawlers.Skipping(crawlers.SkipReason(err))
		return &p, nil
	}
	if n := len(m.Errors); n > 0 {
		s.log.Warn("X reported partial errors", "count", n, "title", m.Errors[0].Title, "detail", truncate(m.Errors[0].Detail, 200))
	}
	cur.SinceID = newer(cur.SinceID, p.ID)
	page := &crawlers.Page{Cursor: cur.encode()}
	if !backfilled[p.ID] {
		page.Posts = append(page.Posts, p)
	}
	return page, nil
}

// matchesOurs reports whether one of the matched rules is this source's:
// by id as synced, or by tag for a rule changed while connected.
func (s *StreamSource) matchesOurs(matched []streamRule, ours map[string]bool) bool {
	for _, r := range matched {
		if ours[r.ID] || strings.HasPrefix(r.Tag, s.prefix) {
			return true
		}
	}
	return false
}

// streamRule is a v2 stream rule as X lists it and as matching_rules name
// it.
type streamRule struct {
	ID    string `json:"id,omitempty"`
	Value string `json:"value,omitempty"`
	Tag   string `json:"tag,omitempty"`
}

// rulesResponse is the body of GET and POST /2/tweets/search/stream/rules.
type rulesResponse struct {
	Data []streamRule `json:"data"`
	Meta struct {
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
		Summary     struct {
			Created    int `json:"created"`
			NotCreated int `json:"not_created"`
			Deleted    int `json:"deleted"`
			NotDeleted int `json:"not_deleted"`
		} `json:"summary"`
	} `json:"meta"`
	Errors []v2Error `json:"errors"`
}

// maxRulePages bounds the pages of GET rules (X allows 1,000 rules per
// project, one page of max_results=1000).
const maxRulePages = 10

// syncRules makes this source's rules on X (tag prefix aftershock:<name>:)
// equal options.rules: deletes the ones no longer configured, adds the
// missing ones, and leaves every other rule of the project alone. It
// returns the ids of the rules whose matches are this source's.
func (s *StreamSource) syncRules(ctx context.Context) (map[string]bool, error) {
	existing, err := s.listRules(ctx)
	if err != nil {
		return nil, err
	}
	type key struct{ value, tag string }
	want := make(map[key]bool)
	for _, r := range s.src.opts.Rules {
		want[key{r.Value, s.prefix + r.Tag}] = true
	}
	have := make(map[key]string)
	var stale []string
	for _, r := range existing {
		if !strings.HasPrefix(r.Tag, s.prefix) {
			continue // another app's, or another source's
		}
		k := key{r.Value, r.Tag}
		if want[k] && have[k] == "" {
			have[k] = r.ID
			continue
		}
		stale = append(stale, r.ID)
	}
	if len(stale) > 0 {
		if _, err := s.postRules(ctx, "deleting X stream rules", map[string]any{"delete": map[string][]string{"ids": stale}}); err != nil {
			return nil, err
		}
		s.log.Info("deleted X stream rules no longer configured", "ids", stale)
	}
	var add []streamRule
	for _, r := range s.src.opts.Rules {
		if have[key{r.Value, s.prefix + r.Tag}] == "" {
			add = append(add, streamRule{Value: r.Value, Tag: s.prefix + r.Tag})
		}
	}
	ours := make(map[string]bool)
	for _, id := range have {
		ours[id] = true
	}
	if len(add) == 0 {
		return ours, nil
	}
	res, err := s.postRules(ctx, "adding X stream rules", map[string]any{"add": add})
	if err != nil {
		return nil, err
	}
	for _, r := range res.Data {
		ours[r.ID] = true
	}
	var refused []string
	for _, e := range res.Errors {
		if e.Title == "DuplicateRule" && e.ID != "" {
			// The same value exists under another tag (another app's):
			// X delivers its matches under that rule's id.
			s.log.Warn("X stream rule exists under another tag; taking its matches as ours", "value", truncate(e.Value, 200), "id", e.ID)
			ours[e.ID] = true
			continue
		}
		refused = append(refused, fmt.Sprintf("%q: %s", truncate(e.Value, 200), truncate(strings.Trim(e.Title+": "+e.Detail, ": "), 200)))
	}
	if len(refused) > 0 {
		return nil, &crawlers.PermanentError{Err: fmt.Errorf("options.rules: X refused %d rule(s): %s", len(refused), strings.Join(refused, "; "))}
	}
	s.log.Info("added X stream rules", "count", len(res.Data))
	return ours, nil
}

// listRules reads every rule of the project.
func (s *StreamSource) listRules(ctx context.Context) ([]streamRule, error) {
	var rules []streamRule
	token := ""
	for range maxRulePages {
		q := url.Values{}
		q.Set("max_results", "1000")
		if token != "" {
			q.Set("pagination_token", token)
		}
		var res rulesResponse
		if err := s.callRules(ctx, http.MethodGet, "listing X stream rules", q, nil, &res); err != nil {
			return nil, err
		}
		rules = append(rules, res.Data...)
		if res.Meta.NextToken == "" || res.Meta.NextToken == token {
			return rules, nil
		}
		token = res.Meta.NextToken
	}
	return rules, nil
}

// postRules sends an add or delete request.
func (s *StreamSource) postRules(ctx context.Context, what string, body any) (*rulesResponse, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var res rulesResponse
	if err := s.callRules(ctx, http.MethodPost, what, nil, data, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// callRules sends one request to the rules endpoint and decodes a 2xx
// answer into res.
func (s *StreamSource) callRules(ctx context.Context, method, what string, q url.Values, body []byte, res *rulesResponse) error {
	target := s.src.opts.BaseURL + v2RulesPath
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.src.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	data, err := httpsrc.ReadCapped(resp.Body, MaxBody)
	if err != nil {
		return fmt.Errorf("%s: %d response: %w", what, resp.StatusCode, err)
	}
	if resp.StatusCode/100 != 2 {
		var e v2Response
		_ = json.Unmarshal(data, &e)
		return s.src.statusError(resp.StatusCode, resp.Header, what, e.describe(), e.hasCode(codeRateLimited))
	}
	if err := json.Unmarshal(data, res); err != nil {
		return fmt.Errorf("%s: decoding response: %w", what, err)
	}
	return nil
}

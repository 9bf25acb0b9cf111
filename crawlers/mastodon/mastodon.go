// Package mastodon reads a Mastodon server's hashtag timelines and public
// timeline: polled over REST (a Poller) or followed over the streaming API
// (a Streamer, when options.stream is true).
//
// Polling walks forward with min_id, so each request returns the statuses
// right after the newest one already read, oldest gap first; a full page
// means more are waiting and the runner polls again at once. The cursor is
// a JSON map of timeline to newest status id (see cursorState).
//
// A boost is reported as the status it boosts: the post id, text, author,
// time and reach are the original's, so the original and all its boosts are
// one post (the runner's Nats-Msg-Id drops the repeats). The timeline
// position (the cursor) still moves by the boost's own id.
package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/signals"
)

// Type is the source type name used in configuration.
const Type = "mastodon"

// Defaults and bounds of Options.
const (
	DefaultLimit       = 40
	MaxLimit           = 40
	DefaultIdleTimeout = time.Minute
	// MaxBody caps one REST response (40 statuses are rarely over 1 MiB).
	MaxBody = 8 << 20
	// publicKey names the public timeline in the cursor; '@' cannot occur
	// in a hashtag.
	publicKey = "@public"
)

// Options are the `options` of a mastodon source.
type Options struct {
	// Instance is the server's https base URL, e.g. https://mastodon.social.
	Instance string `yaml:"instance"`
	// Hashtags are read from /api/v1/timelines/tag/<hashtag> (without '#').
	Hashtags []string `yaml:"hashtags"`
	// Public reads /api/v1/timelines/public as well.
	Public bool `yaml:"public"`
	// Local keeps only statuses of the instance's own accounts (public
	// timeline and hashtags alike).
	Local bool `yaml:"local"`
	// Token is a user access token, sent as a Bearer token (optional for
	// REST on servers with public preview; required for streaming).
	Token string `yaml:"token"`
	// Limit is the page size, at most 40 (default 40).
	Limit int `yaml:"limit"`
	// Stream follows the streaming API instead of polling; it needs a user
	// token and exactly one timeline (one hashtag, or public).
	Stream bool `yaml:"stream"`
	// StreamingURL is the streaming server's base URL when it is not the
	// instance (the instance's configuration.urls.streaming).
	StreamingURL string `yaml:"streaming_url"`
	// IdleTimeout ends a stream that sent nothing, not even a heartbeat,
	// for this long (default 1m; Mastodon sends one every 15 s or so).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// hashtagRE is what a hashtag may hold: letters, digits, marks, '_', the
// middle dot and the zero-width non-joiner, as Mastodon allows.
var hashtagRE = regexp.MustCompile(`^[\p{L}\p{N}\p{M}_·\x{200c}]+$`)

// Validate applies defaults and checks the options; messages name the
// field relative to the source spec (`options.instance: ...`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if o.Instance == "" {
		bad("instance", "required")
	} else if err := checkHTTPS(o.Instance); err != nil {
		bad("instance", "%q %v", o.Instance, err)
	}
	o.Instance = strings.TrimRight(o.Instance, "/")
	if o.StreamingURL != "" {
		if err := checkHTTPS(o.StreamingURL); err != nil {
			bad("streaming_url", "%q %v", o.StreamingURL, err)
		}
		o.StreamingURL = strings.TrimRight(o.StreamingURL, "/")
	}
	seen := make(map[string]int)
	for i, h := range o.Hashtags {
		h = strings.TrimPrefix(strings.TrimSpace(h), "#")
		o.Hashtags[i] = h
		switch {
		case h == "":
			bad(fmt.Sprintf("hashtags[%d]", i), "empty")
		case !hashtagRE.MatchString(h) || strings.IndexFunc(h, func(r rune) bool { return !unicode.IsDigit(r) }) < 0:
			bad(fmt.Sprintf("hashtags[%d]", i), "%q is not a hashtag (letters, digits and _, not only digits)", h)
		default:
			key := strings.ToLower(h)
			if j, ok := seen[key]; ok {
				bad(fmt.Sprintf("hashtags[%d]", i), "%q repeats options.hashtags[%d]", h, j)
			}
			seen[key] = i
		}
	}
	if len(o.Hashtags) == 0 && !o.Public {
		bad("hashtags", "required unless options.public is true")
	}
	if o.Limit == 0 {
		o.Limit = DefaultLimit
	}
	if o.Limit < 1 || o.Limit > MaxLimit {
		bad("limit", "%d, want 1 to %d", o.Limit, MaxLimit)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.IdleTimeout < 0 {
		bad("idle_timeout", "%s is negative", o.IdleTimeout)
	}
	if o.Stream {
		if o.Token == "" {
			bad("token", "required when options.stream is true (Mastodon 4.2+ streams only to user tokens)")
		}
		if n := len(o.Hashtags) + btoi(o.Public); n > 1 {
			bad("stream", "one connection follows one timeline: set one hashtag or public, not %d (use one source per hashtag)", n)
		}
	}
	return problems.Err()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func checkHTTPS(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must be an https URL without query or credentials")
	}
	return nil
}

// timeline is one timeline the source reads.
type timeline struct {
	key string // cursor key: the hashtag, or publicKey
	tag string // "" for the public timeline
}

// Source polls a Mastodon server's timelines. It is safe for concurrent use.
type Source struct {
	spec      crawlers.Spec
	opts      Options
	timelines []timeline
	client    *http.Client
	ua        string
	now       func() time.Time
	log       *slog.Logger
}

// New builds a polling Mastodon source from its spec. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	s := &Source{
		spec:   spec,
		opts:   opts,
		client: deps.HTTPClient(spec.Timeout),
		ua:     deps.UserAgent,
		now:    deps.Now,
		log:    deps.Logger,
	}
	for _, h := range opts.Hashtags {
		s.timelines = append(s.timelines, timeline{key: h, tag: h})
	}
	if opts.Public {
		s.timelines = append(s.timelines, timeline{key: publicKey})
	}
	return s, nil
}

// Constructor is the crawlers.Constructor of the mastodon type: a *Source
// (Poller), or a *StreamSource (Streamer) when options.stream is true.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	s, err := New(spec, deps)
	if err != nil {
		return nil, err
	}
	if s.opts.Stream {
		return newStream(s, deps.WithDefaults()), nil
	}
	return s, nil
}

// Poll fetches one page of each due timeline: the statuses after the
// cursor's newest id (min_id), or the newest page on the first poll.
// Statuses two hashtags share are returned once. A timeline that fails
// while others succeed is logged and read again next time; the error is
// returned only when every timeline failed. A 429, or a response saying no
// request is left, ends the poll: what was read is returned with a
// RateLimit and the rest is due after the reset.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursorState{}
	}
	due := s.due(cur.More)
	next := cur.clone()
	if next.Newest == nil {
		next.Newest = make(map[string]string)
	}
	var page crawlers.Page
	seen := make(map[string]bool)
	var firstErr error
	fetched := 0
	for i, tl := range due {
		res, err := s.fetch(ctx, tl, cur.Newest[tl.key])
		if err != nil {
			if ctx.Err() != nil {
				return crawlers.Page{}, err
			}
			var rl *crawlers.RateLimitError
			if errors.As(err, &rl) {
				if fetched == 0 {
					return crawlers.Page{}, err
				}
				page.RateLimit = &crawlers.RateLimit{Remaining: 0, Reset: s.now().Add(rl.RetryAfter)}
				next.More = append(next.More, keys(due[i:])...)
				break
			}
			s.log.Warn("reading timeline failed", "timeline", tl.key, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		fetched++
		if res.rate != nil {
			page.RateLimit = res.rate
		}
		newest, full := s.collect(&page, res, tl, cur.Newest[tl.key], seen)
		if newest != "" {
			next.Newest[tl.key] = newest
		}
		if full {
			next.More = append(next.More, tl.key)
		}
		if res.rate != nil && res.rate.Remaining <= 0 && i+1 < len(due) {
			next.More = append(next.More, keys(due[i+1:])...)
			break
		}
	}
	if fetched == 0 && firstErr != nil {
		return crawlers.Page{}, firstErr
	}
	page.More = len(next.More) > 0
	page.Cursor = next.encode()
	return page, nil
}

// due returns the timelines to read: those named in more (still paging),
// else all.
func (s *Source) due(more []string) []timeline {
	var due []timeline
	for _, tl := range s.timelines {
		for _, k := range more {
			if k == tl.key {
				due = append(due, tl)
				break
			}
		}
	}
	if len(due) == 0 {
		return s.timelines
	}
	return due
}

func keys(tls []timeline) []string {
	var ks []string
	for _, tl := range tls {
		ks = append(ks, tl.key)
	}
	return ks
}

// collect adds the new statuses of one response to page and returns the
// timeline's newest id and whether a full page says more are waiting.
func (s *Source) collect(page *crawlers.Page, res *result, tl timeline, after string, seen map[string]bool) (newest string, full bool) {
	now := s.now()
	newest = after
	for _, raw := range res.statuses {
		st, err := decodeStatus(raw)
		if st.ID != "" && validID(st.ID) {
			// Even a malformed status moves the position: it would be
			// malformed again next time.
			if after != "" && !idLess(after, st.ID) {
				continue // not new: a server that ignored min_id
			}
			newest = maxID(newest, st.ID)
		}
		if err != nil {
			page.Skip(crawlers.SkipReason(err))
			s.log.Debug("skipping malformed status", "timeline", tl.key, "id", st.ID, "err", err)
			continue
		}
		post, ok := s.post(st, now)
		if !ok {
			page.Skip(crawlers.SkipNoText)
			s.log.Debug("skipping status without text", "timeline", tl.key, "id", st.ID)
			continue
		}
		if seen[post.ID] {
			continue
		}
		seen[post.ID] = true
		page.Posts = append(page.Posts, post)
	}
	// rel="prev" names the newest id of the page: it moves the position
	// even when no status of the page could be read.
	if res.prevMinID != "" && (after == "" || idLess(after, res.prevMinID)) {
		newest = maxID(newest, res.prevMinID)
	}
	// The first poll reads only the newest page: no history backfill.
	full = after != "" && len(res.statuses) >= s.opts.Limit && newest != after
	return newest, full
}

// post turns a status into a post; a boost becomes the boosted status. It
// reports false for a status with no text.
func (s *Source) post(st *status, now time.Time) (signals.Post, bool) {
	if st.Reblog != nil {
		st = st.Reblog
	}
	text := plaintext.FromHTML(st.Content)
	if cw := plaintext.Collapse(st.SpoilerText); cw != "" {
		text = strings.TrimSpace(cw + "\n" + text)
	}
	if text == "" {
		return signals.Post{}, false
	}
	p := signals.Post{
		Type:    signals.TypePost,
		Time:    st.created,
		Source:  s.spec.Name,
		ID:      st.ID,
		Service: s.spec.Service,
		Text:    plaintext.Truncate(text, signals.MaxTextBytes),
		Author:  st.Account.Acct,
		Fetched: now,
		Reach:   st.ReblogsCount + st.FavouritesCount,
	}
	if st.Language != nil {
		p.Lang = *st.Language
	}
	if st.URL != nil && *st.URL != "" {
		p.URL = *st.URL
	} else {
		p.URL = st.URI
	}
	// The uri is the status's ActivityPub id: the same on every instance
	// that federates it (the id is each instance's own). Publishing by it
	// makes a status watched through two instances one post.
	if crawlers.IsHTTPURL(st.URI) {
		p.URI = st.URI
	}
	return p, true
}

// result is one timeline response.
type result struct {
	statuses  []json.RawMessage
	prevMinID string // min_id of the Link rel="prev" (newer) page
	rate      *crawlers.RateLimit
}

// timelineURL is the REST address of one page of a timeline.
func (s *Source) timelineURL(tl timeline, minID string) string {
	path := "/api/v1/timelines/public"
	if tl.tag != "" {
		path = "/api/v1/timelines/tag/" + url.PathEscape(tl.tag)
	}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(s.opts.Limit))
	if s.opts.Local {
		q.Set("local", "true")
	}
	if minID != "" {
		q.Set("min_id", minID)
	}
	return s.opts.Instance + path + "?" + q.Encode()
}

// fetch reads one page of a timeline after minID.
func (s *Source) fetch(ctx context.Context, tl timeline, minID string) (*result, error) {
	target := s.timelineURL(tl, minID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", target, err)
	}
	s.header(req)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", target, s.scrub(err))
	}
	defer resp.Body.Close()
	body, err := httpsrc.ReadCapped(resp.Body, MaxBody)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", target, s.scrub(err))
	}
	rate := rateLimit(resp.Header)
	if resp.StatusCode != http.StatusOK {
		return nil, s.statusError(target, resp, body, rate)
	}
	res := &result{rate: rate, prevMinID: prevMinID(resp.Header.Values("Link"))}
	if err := json.Unmarshal(body, &res.statuses); err != nil {
		return nil, fmt.Errorf("reading %s: not a JSON array of statuses: %w", target, err)
	}
	return res, nil
}

// header sets the headers every request carries.
func (s *Source) header(req *http.Request) {
	req.Header.Set("User-Agent", s.ua)
	if s.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.opts.Token)
	}
}

// statusError turns a non-200 answer into the error the runner acts on:
// 429 waits for the rate-limit reset, other 4xx are permanent (bad token,
// a server without public preview), 5xx are retried.
func (s *Source) statusError(target string, resp *http.Response, body []byte, rate *crawlers.RateLimit) error {
	msg := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg += ": " + s.scrubString(plaintext.Truncate(plaintext.Collapse(e.Error), 300))
	}
	wait, _ := httpsrc.RetryAfter(resp.Header.Get("Retry-After"), s.now())
	if rate != nil && !rate.Reset.IsZero() {
		wait = max(wait, rate.Reset.Sub(s.now()))
	}
	return httpsrc.StatusError(resp.StatusCode, wait, fmt.Errorf("reading %s: %s", target, msg))
}

// scrub keeps the token out of an error (a transport error may quote a
// request; the token never is in a URL, but stay safe).
func (s *Source) scrub(err error) error {
	if s.opts.Token == "" || !strings.Contains(err.Error(), s.opts.Token) {
		return err
	}
	return errors.New(s.scrubString(err.Error()))
}

func (s *Source) scrubString(msg string) string {
	if s.opts.Token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, s.opts.Token, "[token]")
}

// rateLimit reads Mastodon's X-RateLimit-* headers; Reset is an ISO 8601
// timestamp (epoch seconds are accepted too). It returns nil without them.
func rateLimit(h http.Header) *crawlers.RateLimit {
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit")))
	remaining, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	if err1 != nil || err2 != nil {
		return nil
	}
	rl := &crawlers.RateLimit{Limit: limit, Remaining: remaining}
	v := strings.TrimSpace(h.Get("X-RateLimit-Reset"))
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		rl.Reset = t
	} else if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
		rl.Reset = time.Unix(secs, 0)
	}
	return rl
}

// linkRE matches one entry of a Link header: <url>; rel="name".
var linkRE = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?([^",;]+)"?`)

// prevMinID returns the min_id of the Link header's rel="prev" page (the
// newer one), or "".
func prevMinID(links []string) string {
	for _, l := range links {
		for _, m := range linkRE.FindAllStringSubmatch(l, -1) {
			if m[2] != "prev" {
				continue
			}
			u, err := url.Parse(m[1])
			if err != nil {
				continue
			}
			if id := u.Query().Get("min_id"); validID(id) {
				return id
			}
		}
	}
	return ""
}

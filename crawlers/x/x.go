// Package x polls X (Twitter) search for posts about a service, or follows
// X's filtered stream (options.stream).
//
// Two APIs are spoken behind one source type: the X API v2 recent search
// (GET /2/tweets/search/recent, hand-rolled net/http; the default) and the
// legacy v1.1 search (GET /1.1/search/tweets.json through
// github.com/dghubble/go-twitter), which X now refuses to most access
// levels with error 453. In stream mode the v2 filtered stream
// (GET /2/tweets/search/stream, with rules the source keeps in sync) or the
// v1.1 statuses/filter stream (go-twitter's Streams.Filter) is followed;
// see StreamSource.
//
// Each poll asks for the posts newer than the cursor's since_id and pages
// back through the results (Page.More) until the API has no further page;
// only then does since_id move to the newest id of the run. Ids are 64-bit
// numbers kept in string form and compared as integers, never as floats.
package x

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/signals"
)

// Type is the source type name used in configuration.
const Type = "x"

// API versions of Options.API.
const (
	APIv2  = "v2"
	APIv11 = "v1.1"
)

// Defaults and bounds of Options.
const (
	DefaultBaseURL    = "https://api.x.com"
	DefaultV11BaseURL = "https://api.twitter.com"
	// DefaultV11StreamURL is the v1.1 stream host, the base of a v1.1
	// source with stream: true.
	DefaultV11StreamURL = "https://stream.twitter.com"
	DefaultMaxResults   = 100
	DefaultCount        = 100
	DefaultMaxPages     = 10
	// MaxBody caps one response body; a full page of 100 posts with their
	// users is well under 1 MiB.
	MaxBody = 8 << 20
	// DefaultIdleTimeout ends a v2 stream that sent nothing, not even the
	// keep-alive X sends every 20 s; DefaultV11IdleTimeout the same for
	// v1.1, whose keep-alives come every 30 s.
	DefaultIdleTimeout    = 30 * time.Second
	DefaultV11IdleTimeout = 90 * time.Second
	// MaxRuleLength is the longest v2 stream rule X accepts, in characters.
	MaxRuleLength = 1024
	// MaxTrack and MaxTrackLength bound the v1.1 stream's track keywords
	// (400 phrases of at most 60 bytes).
	MaxTrack       = 400
	MaxTrackLength = 60
)

// Options are the `options` of an x source.
type Options struct {
	// API is v2 (default) or v1.1.
	API string `yaml:"api"`
	// BaseURL is the API's scheme and host, optionally with a path prefix
	// (a proxy). Default https://api.x.com for v2 and
	// https://api.twitter.com for v1.1.
	BaseURL string `yaml:"base_url"`
	// BearerToken is the app-only OAuth 2.0 bearer token (use ${ENV}).
	BearerToken string `yaml:"bearer_token"`
	// Query is the search query, with the API's operators. A v2 stream
	// uses it to backfill what it missed while disconnected; it defaults
	// there to the rules joined with OR.
	Query string `yaml:"query"`
	// MaxResults is the v2 page size, 10-100 (default 100).
	MaxResults int `yaml:"max_results"`
	// Count is the v1.1 page size, 1-100 (default 100).
	Count int `yaml:"count"`
	// MaxPages bounds the pages read in one run (default 10). A run that
	// hits it moves on to the newest post and leaves the older rest unread,
	// so a first run or a long outage cannot spend the whole read quota.
	MaxPages int `yaml:"max_pages"`
	// Stream follows the filtered stream instead of polling search: v2
	// with Rules, v1.1 with Track.
	Stream bool `yaml:"stream"`
	// Rules are the v2 stream rules of this source (required with v2 and
	// stream). The source owns the rules on X whose tag starts with
	// "aftershock:<source name>:" and syncs them to this list; other
	// rules of the project are left alone.
	Rules []Rule `yaml:"rules"`
	// Track are the v1.1 stream's keywords and phrases (required with v1.1
	// and stream).
	Track []string `yaml:"track"`
	// IdleTimeout ends a stream that sent nothing, not even a keep-alive,
	// for this long; the runner then reconnects (default 30s for v2, 90s
	// for v1.1).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Rule is one v2 filtered-stream rule.
type Rule struct {
	// Value is the rule, with X's stream operators (at most 1,024
	// characters).
	Value string `yaml:"value"`
	// Tag names the rule; on X it becomes "aftershock:<source name>:<tag>".
	Tag string `yaml:"tag"`
}

// Validate applies defaults and checks the options; messages name the
// field relative to the source spec (`options.query: required`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if o.API == "" {
		o.API = APIv2
	}
	switch o.API {
	case APIv2:
		if o.BaseURL == "" {
			o.BaseURL = DefaultBaseURL
		}
		if o.Count != 0 {
			bad("count", "only for api v1.1; v2 pages are sized by options.max_results")
		}
		if o.MaxResults == 0 {
			o.MaxResults = DefaultMaxResults
		}
		if o.MaxResults < 10 || o.MaxResults > 100 {
			bad("max_results", "%d, want 10-100", o.MaxResults)
		}
	case APIv11:
		if o.BaseURL == "" {
			o.BaseURL = DefaultV11BaseURL
			if o.Stream {
				o.BaseURL = DefaultV11StreamURL
			}
		}
		if o.MaxResults != 0 {
			bad("max_results", "only for api v2; v1.1 pages are sized by options.count")
		}
		if o.Count == 0 {
			o.Count = DefaultCount
		}
		if o.Count < 1 || o.Count > 100 {
			bad("count", "%d, want 1-100", o.Count)
		}
	default:
		bad("api", "%q, want v2 or v1.1", o.API)
	}
	o.validateStream(bad)
	if u, err := url.Parse(o.BaseURL); o.BaseURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "") {
		bad("base_url", "%q must be an http(s) URL without query", o.BaseURL)
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	switch {
	case o.BearerToken == "":
		bad("bearer_token", "required (an app-only bearer token, e.g. ${X_BEARER_TOKEN})")
	case strings.ContainsAny(o.BearerToken, " \t\r\n"):
		// Never echo the token itself.
		bad("bearer_token", "contains white space")
	}
	if strings.TrimSpace(o.Query) == "" && !o.Stream {
		bad("query", "required")
	}
	if o.MaxPages == 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxPages < 1 {
		bad("max_pages", "%d, want at least 1", o.MaxPages)
	}
	return problems.Err()
}

// validateStream checks the stream options and applies their defaults.
func (o *Options) validateStream(bad func(field, format string, args ...any)) {
	if !o.Stream {
		if len(o.Rules) > 0 {
			bad("rules", "only with options.stream: true")
		}
		if len(o.Track) > 0 {
			bad("track", "only with options.stream: true")
		}
		if o.IdleTimeout != 0 {
			bad("idle_timeout", "only with options.stream: true")
		}
		return
	}
	if o.IdleTimeout < 0 {
		bad("idle_timeout", "%s is negative", o.IdleTimeout)
	}
	switch o.API {
	case APIv2:
		if o.IdleTimeout == 0 {
			o.IdleTimeout = DefaultIdleTimeout
		}
		if len(o.Track) > 0 {
			bad("track", "only for api v1.1; a v2 stream follows options.rules")
		}
		if len(o.Rules) == 0 {
			bad("rules", "required with stream: true (e.g. [{value: '\"acme shop\" -is:retweet', tag: brand}])")
		}
		seen := make(map[string]bool)
		var values []string
		for i, r := range o.Rules {
			v := strings.TrimSpace(r.Value)
			switch {
			case v == "":
				bad(fmt.Sprintf("rules[%d].value", i), "required")
			case utf8.RuneCountInString(v) > MaxRuleLength:
				bad(fmt.Sprintf("rules[%d].value", i), "%d characters, X takes at most %d", utf8.RuneCountInString(v), MaxRuleLength)
			case seen[v]:
				bad(fmt.Sprintf("rules[%d].value", i), "repeats an earlier rule (X refuses duplicate rules)")
			}
			seen[v] = true
			o.Rules[i].Value = v
			values = append(values, "("+v+")")
		}
		if strings.TrimSpace(o.Query) == "" && len(values) > 0 {
			o.Query = strings.Join(values, " OR ")
			if len(values) == 1 {
				o.Query = o.Rules[0].Value
			}
		}
	case APIv11:
		if o.IdleTimeout == 0 {
			o.IdleTimeout = DefaultV11IdleTimeout
		}
		if len(o.Rules) > 0 {
			bad("rules", "only for api v2; a v1.1 stream follows options.track")
		}
		if o.Query != "" {
			bad("query", "not used by a v1.1 stream, which follows options.track")
		}
		switch {
		case len(o.Track) == 0:
			bad("track", "required with api v1.1 and stream: true")
		case len(o.Track) > MaxTrack:
			bad("track", "%d phrases, X takes at most %d", len(o.Track), MaxTrack)
		}
		for i, k := range o.Track {
			k = strings.TrimSpace(k)
			switch {
			case k == "":
				bad(fmt.Sprintf("track[%d]", i), "empty")
			case len(k) > MaxTrackLength:
				bad(fmt.Sprintf("track[%d]", i), "%d bytes, X takes at most %d", len(k), MaxTrackLength)
			case strings.Contains(k, ","):
				bad(fmt.Sprintf("track[%d]", i), "contains a comma (X splits track on commas: list each phrase on its own)")
			}
			o.Track[i] = k
		}
	}
}

// Source polls X search. It is safe for concurrent use.
type Source struct {
	spec crawlers.Spec
	opts Options
	// http carries the bearer token and User-Agent on every request.
	http *http.Client
	now  func() time.Time
	log  *slog.Logger
}

// New builds an x source from its spec. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	hc := deps.HTTPClient(spec.Timeout)
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &Source{
		spec: spec,
		opts: opts,
		http: &http.Client{
			Timeout:   hc.Timeout,
			Transport: &authTransport{base: base, token: opts.BearerToken, userAgent: deps.UserAgent},
			// The token must not follow a redirect to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now: deps.Now,
		log: deps.Logger,
	}, nil
}

// Constructor is the crawlers.Constructor of the x type: a *Source
// (Poller), or a *StreamSource (Streamer) when options.stream is true.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	s, err := New(spec, deps)
	if err != nil {
		return nil, err
	}
	if s.opts.Stream {
		return newStream(s), nil
	}
	return s, nil
}

// authTransport adds the app-only bearer token and the User-Agent.
type authTransport struct {
	base      http.RoundTripper
	token     string
	userAgent string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	r.Header.Set("User-Agent", t.userAgent)
	return t.base.RoundTrip(r)
}

// rateLimit reads the x-rate-limit-* headers (reset in epoch seconds); nil
// when the response carries none.
func rateLimit(h http.Header) *crawlers.RateLimit {
	limit, err1 := strconv.Atoi(h.Get("x-rate-limit-limit"))
	remaining, err2 := strconv.Atoi(h.Get("x-rate-limit-remaining"))
	reset, err3 := strconv.ParseInt(h.Get("x-rate-limit-reset"), 10, 64)
	if err1 != nil && err2 != nil && err3 != nil {
		return nil
	}
	rl := &crawlers.RateLimit{Limit: limit, Remaining: remaining}
	if err2 != nil {
		rl.Remaining = 1 // unknown: not exhausted
	}
	if err3 == nil {
		rl.Reset = time.Unix(reset, 0).UTC()
	}
	return rl
}

// retryAfter is how long to wait after a 429: until x-rate-limit-reset, else
// Retry-After, else 0 (the runner backs off on its own).
func (s *Source) retryAfter(h http.Header) time.Duration {
	if rl := rateLimit(h); rl != nil && !rl.Reset.IsZero() {
		return max(time.Second, rl.Reset.Sub(s.now()))
	}
	wait, _ := httpsrc.RetryAfter(h.Get("Retry-After"), s.now())
	return wait
}

// statusError classifies a failed response (see httpsrc.StatusError): 429,
// or an API error code 88 ("rate limit exceeded") on any status, waits for
// the reset; other 4xx but 408 are permanent; the rest (5xx) are retried
// with backoff.
func (s *Source) statusError(status int, h http.Header, what, detail string, code88 bool) error {
	err := fmt.Errorf("%s: %d %s", what, status, http.StatusText(status))
	if detail != "" {
		err = fmt.Errorf("%w: %s", err, detail)
	}
	if code88 {
		status = http.StatusTooManyRequests
	}
	return httpsrc.StatusError(status, s.retryAfter(h), err)
}

// postURL is the canonical address of a post; without a username X
// resolves /i/status/<id> itself.
func postURL(username, id string) string {
	if username == "" {
		return "https://x.com/i/status/" + id
	}
	return "https://x.com/" + url.PathEscape(username) + "/status/" + id
}

// postText undoes the API's HTML escaping of &, < and > (both versions
// send "&amp;").
func postText(s string) string { return html.UnescapeString(s) }

// postLang returns a BCP 47 tag, dropping X's pseudo-codes: und
// (undetermined), zxx (no text) and qxx codes such as qme (media only) or
// qht (hashtags only).
func postLang(l string) string {
	if l == "und" || l == "zxx" || (len(l) == 3 && l[0] == 'q') {
		return ""
	}
	return crawlers.Lang(l)
}

// twitterEpoch is the epoch of X's snowflake ids (2010-11-04T01:42:54.657Z).
const twitterEpoch = 1288834974657

// snowflakeTime is the time encoded in a post id: its upper 42 bits are
// milliseconds since twitterEpoch. Ids from before snowflakes (2010) hold
// no time.
func snowflakeTime(id string) (time.Time, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n>>22 < 24*60*60*1000 || n>>63 != 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(n>>22) + twitterEpoch).UTC(), true
}

// post builds a post about the configured service.
func (s *Source) post(id string, t time.Time, text, lang, username string, reach int, fetched time.Time) signals.Post {
	return signals.Post{
		Type:    signals.TypePost,
		Time:    t.UTC(),
		Source:  s.spec.Name,
		ID:      id,
		Service: s.spec.Service,
		Text:    postText(text),
		Lang:    postLang(lang),
		URL:     postURL(username, id),
		Author:  username,
		Fetched: fetched,
		Reach:   reach,
	}
}

// truncate shortens an upstream message for an error or a log line: white
// space collapsed, at most n bytes.
func truncate(s string, n int) string {
	return plaintext.Truncate(plaintext.Collapse(s), n)
}

// take adds the i-th post of a run's page, decoded with err: a malformed
// one is skipped and counted; a good one moves the run's newest id and joins
// the page unless it is not after sinceID (the API should not have sent
// it).
func (s *Source) take(page *crawlers.Page, next *cursorState, sinceID string, i int, p signals.Post, err error) {
	if err != nil {
		page.Skip(crawlers.SkipReason(err))
		s.log.Debug("skipping malformed post", "index", i, "err", err)
		return
	}
	next.NewestID = newer(next.NewestID, p.ID)
	if sinceID != "" && newer(sinceID, p.ID) == sinceID {
		return
	}
	page.Posts = append(page.Posts, p)
}

// turnPage sets the cursor of a run's page: while the API names a further
// page (token, unlike prev) and options.max_pages allows, the cursor with
// that page (stored by set) and More; else the finished run.
func (s *Source) turnPage(page *crawlers.Page, next cursorState, token, prev string, set func(c *cursorState, token string)) {
	next.Pages++
	if token != "" && token != prev && next.Pages < s.opts.MaxPages {
		set(&next, token)
		page.More = true
		page.Cursor = next.encode()
		return
	}
	if token != "" {
		s.log.Warn("stopping after options.max_pages pages; older posts of this run stay unread", "pages", next.Pages)
	}
	page.Cursor = next.finish().encode()
}

// Poll asks for the posts after the cursor's since_id, one page at a time.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over from the newest posts", "err", err)
		cur = cursorState{}
	}
	if s.opts.API == APIv11 {
		return s.pollV11(ctx, cur)
	}
	return s.pollV2(ctx, cur)
}

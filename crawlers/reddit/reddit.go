// Package reddit polls Reddit's OAuth API for new posts and comments: a
// site-wide search, the newest posts of subreddits and, optionally, their
// newest comments.
//
// It authenticates app-only (client_credentials grant) and caches the token
// until it expires; a 401 fetches a new token once. Each poll makes one
// listing request: a run walks every configured target (the search, each
// subreddit) in turn, newest first, following `after` until it reaches an
// item the previous run saw, with Page.More set until the run is done. The
// cursor keeps, per target, the newest creation time and the fullnames seen
// at exactly that time, plus the requests still pending in the current run,
// so a restart neither misses nor repeats.
package reddit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/signals"
)

// Type is the source type name used in configuration.
const Type = "reddit"

// Defaults and bounds of Options.
const (
	DefaultBaseURL  = "https://oauth.reddit.com"
	DefaultTokenURL = "https://www.reddit.com/api/v1/access_token"
	// DefaultUserAgent follows Reddit's `<platform>:<app id>:<version> (by ...)`
	// rule; generic user agents are throttled.
	DefaultUserAgent = "server:aftershock:1.0 (by Aftershock release watch; +https://github.com/aftershock/aftershock)"
	DefaultLimit     = 100
	DefaultMaxPages  = 3
	// MaxPages bounds options.max_pages: Reddit listings end after about
	// 1,000 items.
	MaxPages = 10
	// maxQuery is the longest search query Reddit accepts.
	maxQuery = 512
)

// webURL is where permalinks point.
const webURL = "https://www.reddit.com"

var subredditRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_]{1,20}$`)

// Options are the `options` of a reddit source.
type Options struct {
	// BaseURL is the OAuth API (default https://oauth.reddit.com).
	BaseURL string `yaml:"base_url"`
	// TokenURL is where the app-only token is fetched.
	TokenURL string `yaml:"token_url"`
	// ClientID and ClientSecret are the app's credentials (use ${ENV}).
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// UserAgent must be unique and descriptive, ideally ending
	// `(by /u/<your account>)`.
	UserAgent string `yaml:"user_agent"`
	// Query is searched site-wide, newest first.
	Query string `yaml:"query"`
	// Subreddits are listed newest first (/r/<name>/new).
	Subreddits []string `yaml:"subreddits"`
	// Comments also lists each subreddit's newest comments (/r/<name>/comments).
	Comments bool `yaml:"comments"`
	// Limit is the items per request (1-100, default 100).
	Limit int `yaml:"limit"`
	// MaxPages bounds the pages followed per target and run (1-10, default 3).
	MaxPages int `yaml:"max_pages"`
}

// Validate applies defaults and checks the options; messages name the field
// relative to the source spec (`options.client_id: required`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if !crawlers.IsHTTPURL(o.BaseURL) {
		bad("base_url", "%q must be an http(s) URL", o.BaseURL)
	}
	if o.TokenURL == "" {
		o.TokenURL = DefaultTokenURL
	}
	if !crawlers.IsHTTPURL(o.TokenURL) {
		bad("token_url", "%q must be an http(s) URL", o.TokenURL)
	}
	if o.ClientID == "" {
		bad("client_id", "required (an app-only OAuth client; see https://www.reddit.com/prefs/apps)")
	}
	if o.ClientSecret == "" {
		bad("client_secret", "required")
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	o.Query = strings.TrimSpace(o.Query)
	if o.Query == "" && len(o.Subreddits) == 0 {
		bad("query", "required unless options.subreddits is set")
	}
	if len(o.Query) > maxQuery {
		bad("query", "%d bytes, more than Reddit's %d", len(o.Query), maxQuery)
	}
	seen := make(map[string]int)
	for i, sub := range o.Subreddits {
		sub = strings.TrimPrefix(strings.TrimPrefix(sub, "/"), "r/")
		o.Subreddits[i] = sub
		if !subredditRE.MatchString(sub) {
			bad(fmt.Sprintf("subreddits[%d]", i), "%q is not a subreddit name (2-21 letters, digits or _)", sub)
			continue
		}
		key := strings.ToLower(sub)
		if j, ok := seen[key]; ok {
			bad(fmt.Sprintf("subreddits[%d]", i), "%q repeats options.subreddits[%d]", sub, j)
		}
		seen[key] = i
	}
	if o.Comments && len(o.Subreddits) == 0 {
		bad("comments", "set without options.subreddits")
	}
	if o.Limit == 0 {
		o.Limit = DefaultLimit
	}
	if o.Limit < 1 || o.Limit > 100 {
		bad("limit", "%d, want 1-100", o.Limit)
	}
	if o.MaxPages == 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxPages < 1 || o.MaxPages > MaxPages {
		bad("max_pages", "%d, want 1-%d", o.MaxPages, MaxPages)
	}
	return problems.Err()
}

// target is one listing a run walks.
type target struct {
	key   string     // cursor key: "search", "r/<sub>/new", "r/<sub>/comments"
	path  string     // API path
	query url.Values // parameters besides limit, after and raw_json
}

// Source polls Reddit. It is safe for concurrent use, though the runner
// polls each instance from one goroutine.
type Source struct {
	spec    crawlers.Spec
	opts    Options
	targets []target
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger

	bench *httpsrc.Bench // targets refused (403, 404)

	mu        sync.Mutex
	token     string
	tokenExp  time.Time
	exhausted time.Time // rate limit used up until then
}

// New builds a reddit source from its spec. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	client := deps.HTTPClient(spec.Timeout)
	// A redirect means a subreddit that does not exist (Reddit sends the
	// client to a search page); it must not carry the token elsewhere either.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	targets := makeTargets(opts)
	keys := make([]string, len(targets))
	for i, t := range targets {
		keys[i] = t.key
	}
	return &Source{
		spec:    spec,
		opts:    opts,
		targets: targets,
		client:  client,
		now:     deps.Now,
		log:     deps.Logger,
		bench:   httpsrc.NewBench(keys, deps.Now, crawlers.PermanentFactor*spec.Interval),
	}, nil
}

// Constructor is the crawlers.Constructor of the reddit type.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	return crawlers.Built(New(spec, deps))
}

func makeTargets(o Options) []target {
	var ts []target
	if o.Query != "" {
		ts = append(ts, target{key: "search", path: "/search", query: url.Values{
			"q": {o.Query}, "sort": {"new"}, "type": {"link"},
		}})
	}
	for _, sub := range o.Subreddits {
		ts = append(ts, target{key: "r/" + strings.ToLower(sub) + "/new", path: "/r/" + sub + "/new"})
		if o.Comments {
			ts = append(ts, target{key: "r/" + strings.ToLower(sub) + "/comments", path: "/r/" + sub + "/comments"})
		}
	}
	return ts
}

func (s *Source) target(key string) (target, bool) {
	for _, t := range s.targets {
		if t.key == key {
			return t, true
		}
	}
	return target{}, false
}

// Poll makes the next request of the current run (starting a new run when
// none is pending) and returns the items newer than the cursor.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	if wait := s.exhaustedFor(); wait > 0 {
		return crawlers.Page{}, &crawlers.RateLimitError{RetryAfter: wait, Err: errors.New("reddit rate limit used up")}
	}
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursorState{}
	}
	cur.prune(s.targets)
	if len(cur.Pending) == 0 {
		for _, t := range s.targets {
			cur.Pending = append(cur.Pending, step{Target: t.key})
		}
	}
	var page crawlers.Page
	for len(cur.Pending) > 0 {
		st := cur.Pending[0]
		cur.Pending = cur.Pending[1:]
		t, _ := s.target(st.Target) // prune kept only known targets
		if until, ok := s.bench.Benched(t.key); ok {
			s.log.Debug("skipping refused target", "target", t.key, "until", until)
			continue
		}
		ls, rl, err := s.fetch(ctx, t, st.After)
		var refused *httpsrc.RefusedError
		if errors.As(err, &refused) {
			if !s.bench.Refuse(t.key) {
				return crawlers.Page{}, err
			}
			// Said once as a PermanentError; from now on the others go on.
			s.log.Error("target still refused, skipping it", "target", t.key, "err", err)
			continue
		}
		if err != nil {
			return crawlers.Page{}, err
		}
		s.bench.Accept(t.key)
		page.RateLimit = rl
		floor := cur.Marks[t.key]
		if st.Floor != nil {
			floor = *st.Floor
		}
		newest := cur.Marks[t.key]
		reachedOld := false
		now := s.now()
		for _, it := range ls.items {
			if floor.seen(it.created, it.name) {
				reachedOld = true
				continue
			}
			page.Posts = append(page.Posts, s.post(it, now))
			newest.add(it.created, it.name)
		}
		page.Skipped = ls.skipped
		if cur.Marks == nil {
			cur.Marks = make(map[string]mark)
		}
		cur.Marks[t.key] = newest
		if ls.after != "" && !reachedOld && len(ls.items) > 0 && st.Page+1 < s.opts.MaxPages {
			next := step{Target: t.key, After: ls.after, Page: st.Page + 1, Floor: &floor}
			cur.Pending = append([]step{next}, cur.Pending...)
		}
		break
	}
	page.More = len(cur.Pending) > 0
	page.Cursor = cur.encode()
	return page, nil
}

func (s *Source) post(it item, now time.Time) signals.Post {
	return signals.Post{
		Type:    signals.TypePost,
		Time:    it.time(),
		Source:  s.spec.Name,
		ID:      it.name,
		Service: s.spec.Service,
		Text:    it.text,
		URL:     it.url,
		Author:  it.author,
		Fetched: now,
		Reach:   it.reach,
	}
}

// exhaustedFor returns how long the rate limit stays used up.
func (s *Source) exhaustedFor() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(0, s.exhausted.Sub(s.now()))
}

// Package scrape fetches pages with gocolly/colly for the sources that read
// web pages and feeds (feed, forum): one request at a time, robots.txt
// honoured and cached for a day, a capped body, a forced charset.
package scrape

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gocolly/colly/v2"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
)

// RobotsTTL is how long robots.txt answers are cached: colly keeps them
// for a collector's life, so the collector is renewed this often.
const RobotsTTL = 24 * time.Hour

// Config configures a Fetcher.
type Config struct {
	UserAgent string
	// Client returns the HTTP client of a new collector (one a day).
	Client func() *http.Client
	// MaxBody caps a response; a larger one is a PermanentError.
	MaxBody int
	// Charset forces the body's encoding, "" takes the Content-Type's.
	Charset string
	// IgnoreRobots skips robots.txt.
	IgnoreRobots bool
	// Delay is the pause after each request, across polls.
	Delay time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Fetcher fetches pages for one source. It is safe for concurrent use.
type Fetcher struct {
	cfg Config

	mu       sync.Mutex
	base     *colly.Collector
	baseMade time.Time
}

// New returns a Fetcher; it does no I/O.
func New(cfg Config) *Fetcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Fetcher{cfg: cfg}
}

// collector returns a fresh collector for one request, sharing the
// robots.txt cache, the HTTP client and the one-at-a-time limit of a base
// collector that is renewed every RobotsTTL.
func (f *Fetcher) collector(ctx context.Context) *colly.Collector {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.base == nil || f.cfg.Now().Sub(f.baseMade) > RobotsTTL {
		c := colly.NewCollector(
			colly.UserAgent(f.cfg.UserAgent),
			colly.AllowURLRevisit(),            // a poller fetches the same page again and again
			colly.MaxBodySize(f.cfg.MaxBody+1), // one byte more tells "too large" from "exactly the cap"
			colly.ParseHTTPErrorResponse(),     // the source classifies every status
		)
		c.IgnoreRobotsTxt = f.cfg.IgnoreRobots
		client := *f.cfg.Client()
		client.Transport = robotsGuard{next: client.Transport}
		c.SetClient(&client)
		// One request at a time and no delay but the configured one: the
		// runner owns the pace. Clones share the backend, so the rule
		// spans polls.
		_ = c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: 1, Delay: f.cfg.Delay})
		f.base, f.baseMade = c, f.cfg.Now()
	}
	c := f.base.Clone()
	c.Context = ctx
	return c
}

// robotsGuard fails a robots.txt request that answers 5xx. colly v2.3.0
// would read it as "no rules" (its check ignores the "disallow all" that
// robotstxt makes of a 5xx) and keep that for the collector's life; as an
// error it fails the poll, the runner backs off and robots.txt is asked
// again (a server error means "not now", as Google reads it).
type robotsGuard struct{ next http.RoundTripper }

func (g robotsGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	next := g.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err == nil && req.URL.Path == "/robots.txt" && resp.StatusCode >= 500 {
		resp.Body.Close()
		return nil, fmt.Errorf("robots.txt answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp, err
}

// forgetRobots drops the base collector so robots.txt is fetched again.
func (f *Fetcher) forgetRobots() {
	f.mu.Lock()
	f.base = nil
	f.mu.Unlock()
}

// Response is what one fetch returned, whatever its status.
type Response struct {
	// Target is the URL asked for; URL the one answered, after redirects.
	Target string
	URL    *url.URL
	Status int
	Header http.Header
	// Body is in UTF-8 when the charset was forced or named by the
	// Content-Type header (colly converts it).
	Body []byte
}

// Fetch GETs target with the headers hdr. A page robots.txt disallows and
// a body over the cap are a PermanentError; a robots.txt answering 5xx and
// transport failures are plain errors, retried.
func (f *Fetcher) Fetch(ctx context.Context, target string, hdr http.Header) (*Response, error) {
	c := f.collector(ctx)
	var got *colly.Response
	c.OnRequest(func(r *colly.Request) {
		if f.cfg.Charset != "" {
			r.ResponseCharacterEncoding = f.cfg.Charset
		}
	})
	c.OnResponse(func(r *colly.Response) { got = r })
	err := c.Request(http.MethodGet, target, nil, nil, hdr)
	switch {
	case errors.Is(err, colly.ErrRobotsTxtBlocked):
		// Forget the cached robots.txt, so the slow retry after a
		// PermanentError reads it again and a lifted block is seen.
		f.forgetRobots()
		return nil, &crawlers.PermanentError{Err: fmt.Errorf("fetching %s: blocked by robots.txt", target)}
	case err != nil:
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetching %s: %w", target, ctx.Err())
		}
		return nil, fmt.Errorf("fetching %s: %w", target, err)
	case got == nil:
		return nil, fmt.Errorf("fetching %s: no response", target)
	}
	if len(got.Body) > f.cfg.MaxBody {
		return nil, &crawlers.PermanentError{Err: fmt.Errorf("fetching %s: response larger than %d bytes (options.max_body)", target, f.cfg.MaxBody)}
	}
	return &Response{Target: target, URL: got.Request.URL, Status: got.StatusCode, Header: *got.Headers, Body: got.Body}, nil
}

// OK reports a 2xx status.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// StatusError is the error the runner acts on for a response that is not
// OK (see httpsrc.StatusError); a 429 waits for its Retry-After.
func (r *Response) StatusError(now time.Time) error {
	err := fmt.Errorf("fetching %s: %d %s", r.Target, r.Status, http.StatusText(r.Status))
	wait, _ := httpsrc.RetryAfter(r.Header.Get("Retry-After"), now)
	return httpsrc.StatusError(r.Status, wait, err)
}

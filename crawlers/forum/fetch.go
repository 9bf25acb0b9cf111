package forum

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gocolly/colly/v2"
	"golang.org/x/net/html/charset"

	"github.com/aftershock/aftershock/crawlers"
)

// collector returns a fresh collector for one request, sharing the robots.txt
// cache, the HTTP client and the polite limit of a base collector that is
// renewed once a day.
func (s *Source) collector(ctx context.Context) *colly.Collector {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base == nil || s.now().Sub(s.baseMade) > robotsTTL {
		c := colly.NewCollector(
			colly.UserAgent(s.ua),
			colly.AllowURLRevisit(),             // a poller fetches the same list page again and again
			colly.MaxBodySize(s.opts.MaxBody+1), // one byte more tells "too large" from "exactly the cap"
			colly.ParseHTTPErrorResponse(),      // we classify every status ourselves
		)
		c.IgnoreRobotsTxt = !*s.opts.RespectRobots
		client := *s.client(s.spec.Timeout)
		client.Transport = robotsGuard{next: client.Transport}
		c.SetClient(&client)
		// One request at a time, with a pause after each: polite to the
		// board. Clones share the backend, so the rule spans polls.
		_ = c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: 1, Delay: *s.opts.Delay})
		s.base, s.baseMade = c, s.now()
	}
	c := s.base.Clone()
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
func (s *Source) forgetRobots() {
	s.mu.Lock()
	s.base = nil
	s.mu.Unlock()
}

// response is what one fetch returned, its body in UTF-8 where the
// charset was known.
type response struct {
	status int
	header http.Header
	body   []byte
	url    *url.URL
}

func (s *Source) fetch(ctx context.Context, target string) (*response, error) {
	c := s.collector(ctx)
	var got *colly.Response
	c.OnRequest(func(r *colly.Request) {
		if s.opts.Charset != "" {
			r.ResponseCharacterEncoding = s.opts.Charset
		}
	})
	c.OnResponse(func(r *colly.Response) { got = r })
	hdr := http.Header{}
	hdr.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
	err := c.Request(http.MethodGet, target, nil, nil, hdr)
	switch {
	case errors.Is(err, colly.ErrRobotsTxtBlocked):
		// colly caches a robots.txt that answered 5xx as "disallow all";
		// forget it so the slow retry asks again.
		s.forgetRobots()
		return nil, &crawlers.PermanentError{Err: fmt.Errorf("fetching %s: blocked by robots.txt", target)}
	case err != nil:
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetching %s: %w", target, ctx.Err())
		}
		return nil, fmt.Errorf("fetching %s: %w", target, err)
	case got == nil:
		return nil, fmt.Errorf("fetching %s: no response", target)
	}
	r := &response{status: got.StatusCode, header: *got.Headers, body: got.Body, url: got.Request.URL}
	if len(r.body) > s.opts.MaxBody {
		return nil, &crawlers.PermanentError{Err: fmt.Errorf("fetching %s: response larger than %d bytes (options.max_body)", target, s.opts.MaxBody)}
	}
	r.body = s.decodeByMeta(r)
	return r, nil
}

// decodeByMeta converts a body in a legacy charset that only its <meta>
// names (colly reads the header alone). A forced charset or one named in the
// header was already applied by colly.
func (s *Source) decodeByMeta(r *response) []byte {
	if s.opts.Charset != "" || utf8.Valid(r.body) {
		return r.body
	}
	if _, params, err := mime.ParseMediaType(r.header.Get("Content-Type")); err == nil && params["charset"] != "" {
		return r.body
	}
	enc, name, _ := charset.DetermineEncoding(r.body, "text/html")
	if name == "utf-8" || name == "windows-1252" { // no <meta> (windows-1252 is the fallback guess)
		return r.body
	}
	out, err := enc.NewDecoder().Bytes(r.body)
	if err != nil {
		return r.body
	}
	return bytes.ToValidUTF8(out, []byte("\uFFFD"))
}

// statusError turns a non-success status into the error the runner acts on.
func (s *Source) statusError(r *response, target string) error {
	err := fmt.Errorf("fetching %s: %d %s", target, r.status, http.StatusText(r.status))
	switch {
	case r.status == http.StatusTooManyRequests:
		return &crawlers.RateLimitError{RetryAfter: retryAfter(r.header.Get("Retry-After"), s.now()), Err: err}
	case r.status == http.StatusRequestTimeout:
		return err
	case r.status >= 400 && r.status < 500:
		return &crawlers.PermanentError{Err: err}
	}
	return err
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(0, time.Duration(secs)*time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// viewBody reads a post's view page and returns the text under view_body.
// A page that is gone or refused is a PermanentError.
func (s *Source) viewBody(ctx context.Context, link string) (string, error) {
	r, err := s.fetch(ctx, link)
	if err != nil {
		return "", err
	}
	if r.status < 200 || r.status > 299 {
		return "", s.statusError(r, link)
	}
	text, err := s.parseView(r)
	if err != nil {
		return "", &crawlers.PermanentError{Err: fmt.Errorf("parsing %s: %w", link, err)}
	}
	return text, nil
}

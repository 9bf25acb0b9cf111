package appstore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

const (
	// maxBody caps one response; a page of 50 reviews is about 60 KB.
	maxBody = 4 << 20
	// defaultRetryAfter is the wait after a 429 without Retry-After.
	defaultRetryAfter = time.Minute
)

// refusedError is a PermanentError about one country, as opposed to the
// whole source.
type refusedError struct{ perm *crawlers.PermanentError }

func (e *refusedError) Error() string { return e.perm.Error() }
func (e *refusedError) Unwrap() error { return e.perm }

// feedURL is the address of one page of a country's feed.
func (s *Source) feedURL(cc string, page int) string {
	return fmt.Sprintf("%s/%s/rss/customerreviews/page=%d/id=%s/sortby=mostrecent/json", s.opts.BaseURL, cc, page, s.opts.AppID)
}

// fetch gets and parses one page of a country's feed.
func (s *Source) fetch(ctx context.Context, cc string, page int) (parsed, error) {
	doing := fmt.Sprintf("fetching %s reviews page %d", cc, page)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.feedURL(cc, page), nil)
	if err != nil {
		return parsed{}, fmt.Errorf("%s: %w", doing, err)
	}
	req.Header.Set("User-Agent", s.ua)
	req.Header.Set("Accept", "application/json, text/javascript;q=0.9, */*;q=0.5")
	resp, err := s.client.Do(req)
	if err != nil {
		return parsed{}, fmt.Errorf("%s: %w", doing, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return parsed{}, fmt.Errorf("%s: reading response: %w", doing, err)
	}
	if len(body) > maxBody {
		return parsed{}, fmt.Errorf("%s: response larger than %d bytes", doing, maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parsed{}, s.statusError(doing, resp.StatusCode, resp.Header)
	}
	f, err := parseFeed(body, cc)
	if err != nil {
		return parsed{}, fmt.Errorf("%s: %w", doing, err)
	}
	return f, nil
}

// statusError turns a non-success status into the error the runner acts on.
func (s *Source) statusError(doing string, status int, hdr http.Header) error {
	err := fmt.Errorf("%s: %d %s", doing, status, http.StatusText(status))
	switch {
	case status == http.StatusTooManyRequests:
		return &crawlers.RateLimitError{RetryAfter: retryAfter(hdr.Get("Retry-After"), s.now()), Err: err}
	case status == http.StatusRequestTimeout:
		return err
	case status >= 400 && status <= 499:
		return &refusedError{&crawlers.PermanentError{Err: err}}
	}
	return err
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); without
// one it is a minute.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return defaultRetryAfter
}

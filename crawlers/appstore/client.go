package appstore

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
)

const (
	// maxBody caps one response; a page of 50 reviews is about 60 KB.
	maxBody = 4 << 20
	// defaultRetryAfter is the wait after a 429 without Retry-After.
	defaultRetryAfter = time.Minute
)

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
	body, err := httpsrc.ReadCapped(resp.Body, maxBody)
	if err != nil {
		return parsed{}, fmt.Errorf("%s: %w", doing, err)
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

// statusError turns a non-success status into the error the runner acts
// on; a 4xx is about the country asked (a RefusedError). A 429 without a
// Retry-After waits a minute.
func (s *Source) statusError(doing string, status int, hdr http.Header) error {
	wait, _ := httpsrc.RetryAfter(hdr.Get("Retry-After"), s.now())
	err := httpsrc.StatusError(status, cmp.Or(wait, defaultRetryAfter), fmt.Errorf("%s: %d %s", doing, status, http.StatusText(status)))
	if perm, ok := err.(*crawlers.PermanentError); ok {
		return &httpsrc.RefusedError{Perm: perm}
	}
	return err
}

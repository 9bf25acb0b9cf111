package reddit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
)

const (
	// maxBody caps one response; 100 long self posts stay well under it.
	maxBody = 8 << 20
	// tokenMargin is how long before its expiry a token is renewed.
	tokenMargin = time.Minute
	// defaultRetryAfter is the wait after a 429 that names no reset.
	defaultRetryAfter = time.Minute
)

// fetch gets one listing page of a target, fetching a token first when
// needed and once more after a 401.
func (s *Source) fetch(ctx context.Context, t target, after string) (listing, *crawlers.RateLimit, error) {
	q := url.Values{}
	for k, v := range t.query {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(s.opts.Limit))
	q.Set("raw_json", "1") // text as written, not HTML-escaped (&amp;)
	if after != "" {
		q.Set("after", after)
	}
	target := s.opts.BaseURL + t.path + "?" + q.Encode()
	for attempt := 1; ; attempt++ {
		token, err := s.accessToken(ctx)
		if err != nil {
			return listing{}, nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return listing{}, nil, fmt.Errorf("fetching %s: %w", t.key, err)
		}
		req.Header.Set("Authorization", "bearer "+token)
		req.Header.Set("User-Agent", s.opts.UserAgent)
		req.Header.Set("Accept", "application/json")
		status, hdr, body, err := s.do(req)
		if err != nil {
			return listing{}, nil, fmt.Errorf("fetching %s: %w", t.key, err)
		}
		rl := s.noteRateLimit(hdr)
		switch {
		case status == http.StatusUnauthorized && attempt == 1:
			// The token expired early or was revoked: one fresh token.
			s.dropToken(token)
			continue
		case status >= 200 && status <= 299:
			ls, err := parseListing(body)
			if err != nil {
				return listing{}, rl, fmt.Errorf("parsing %s: %w", t.key, err)
			}
			return ls, rl, nil
		}
		return listing{}, rl, s.statusError("fetching "+t.key, status, hdr, body)
	}
}

// do sends req and reads at most maxBody bytes of the answer.
func (s *Source) do(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := httpsrc.ReadCapped(resp.Body, maxBody)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, body, nil
}

// statusError turns a non-success status into the error the runner acts
// on; a redirect and a 4xx but 401 are about the target asked (a
// RefusedError).
func (s *Source) statusError(doing string, status int, hdr http.Header, body []byte) error {
	err := fmt.Errorf("%s: %d %s%s", doing, status, http.StatusText(status), reason(body))
	switch {
	case status == http.StatusUnauthorized:
		return &crawlers.PermanentError{Err: fmt.Errorf("%w (even with a fresh token)", err)}
	case status >= 300 && status <= 399:
		loc := hdr.Get("Location")
		return httpsrc.Refused(fmt.Errorf("%w to %q: does the subreddit exist?", err, loc))
	}
	err = httpsrc.StatusError(status, s.retryAfter(hdr), err)
	if perm, ok := err.(*crawlers.PermanentError); ok {
		return &httpsrc.RefusedError{Perm: perm}
	}
	return err
}

// reason quotes the short reason of a Reddit error body
// (`{"reason": "private", "message": "Forbidden", "error": 403}`).
func reason(body []byte) string {
	var e struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	r := e.Reason
	if r == "" {
		r = e.Message
	}
	if r == "" || len(r) > 100 {
		return ""
	}
	return fmt.Sprintf(" (%q)", r)
}

// retryAfter is how long a 429 asks to wait: the rate-limit reset, else
// Retry-After, else a minute.
func (s *Source) retryAfter(hdr http.Header) time.Duration {
	if reset, ok := parseFloat(hdr.Get("X-Ratelimit-Reset")); ok && reset > 0 {
		return seconds(reset)
	}
	if secs, ok := parseFloat(hdr.Get("Retry-After")); ok && secs > 0 {
		return seconds(secs)
	}
	return defaultRetryAfter
}

// noteRateLimit reads the X-Ratelimit-* headers (floats like "99.0"; Reset
// is seconds to the end of the window) and remembers a used-up limit so the
// next poll waits instead of asking.
func (s *Source) noteRateLimit(hdr http.Header) *crawlers.RateLimit {
	remaining, ok := parseFloat(hdr.Get("X-Ratelimit-Remaining"))
	if !ok {
		return nil
	}
	now := s.now()
	rl := &crawlers.RateLimit{Remaining: int(math.Floor(max(0, remaining)))}
	if used, ok := parseFloat(hdr.Get("X-Ratelimit-Used")); ok {
		rl.Limit = int(math.Round(max(0, used) + max(0, remaining)))
	}
	reset, ok := parseFloat(hdr.Get("X-Ratelimit-Reset"))
	if ok {
		rl.Reset = now.Add(seconds(reset))
	}
	if rl.Remaining < 1 {
		until := rl.Reset
		if !ok {
			until = now.Add(defaultRetryAfter)
		}
		s.mu.Lock()
		s.exhausted = until
		s.mu.Unlock()
	}
	return rl
}

func parseFloat(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// seconds turns a float number of seconds into a duration, capped at a day.
func seconds(f float64) time.Duration {
	return time.Duration(min(max(f, 0), 86400) * float64(time.Second))
}

// tokenResponse is the access-token endpoint's answer.
type tokenResponse struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   float64 `json:"expires_in"`
	Error       string  `json:"error"`
}

// accessToken returns the cached app-only token, fetching a new one when
// there is none or it is about to expire.
func (s *Source) accessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	token, exp := s.token, s.tokenExp
	s.mu.Unlock()
	now := s.now()
	if token != "" && now.Before(exp) {
		return token, nil
	}
	const doing = "fetching access token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.TokenURL, strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		return "", fmt.Errorf("%s: %w", doing, err)
	}
	req.SetBasicAuth(s.opts.ClientID, s.opts.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set("Accept", "application/json")
	status, hdr, body, err := s.do(req)
	if err != nil {
		return "", fmt.Errorf("%s: %w", doing, err)
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "", &crawlers.PermanentError{Err: fmt.Errorf("%s: %d %s: check options.client_id and options.client_secret", doing, status, http.StatusText(status))}
	case status < 200 || status > 299:
		err := s.statusError(doing, status, hdr, body)
		var re *httpsrc.RefusedError
		if errors.As(err, &re) {
			return "", re.Perm // about the source, not a target
		}
		return "", err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("%s: decoding response: %w", doing, err)
	}
	if tr.AccessToken == "" {
		// Reddit answers a bad grant with 200 and {"error": "..."}.
		e := tr.Error
		if len(e) > 100 {
			e = e[:100]
		}
		return "", &crawlers.PermanentError{Err: fmt.Errorf("%s: no access_token in the response (error %q)", doing, e)}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", &crawlers.PermanentError{Err: fmt.Errorf("%s: token type %q, want bearer", doing, tr.TokenType)}
	}
	life := seconds(tr.ExpiresIn)
	if life > 2*tokenMargin {
		life -= tokenMargin
	} else {
		life /= 2
	}
	s.mu.Lock()
	s.token, s.tokenExp = tr.AccessToken, now.Add(life)
	s.mu.Unlock()
	return tr.AccessToken, nil
}

// dropToken forgets token unless another poll already replaced it.
func (s *Source) dropToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

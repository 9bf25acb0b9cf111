// Package httpsrc holds what the sources that poll an HTTP API share: the
// reading of an answer (Retry-After, a capped body) and its classification
// into the errors the runner acts on (crawlers.RateLimitError,
// crawlers.PermanentError, a plain error for a retry), plus the Bench that
// keeps one refused target of a source from stopping the others.
//
// What an API does its own way (Reddit's X-Ratelimit-* floats, Mastodon's
// ISO reset time, error bodies) stays in its source.
package httpsrc

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// RetryAfter parses a Retry-After header value: delay seconds or an HTTP
// date, never negative (a date in the past is 0). ok is false when v is
// empty or unreadable (negative seconds included), so a source can choose
// its own wait.
func RetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// StatusError turns an answer's non-success status into the error the
// runner acts on, wrapping err (what was asked and what came back): 429 is
// a RateLimitError that waits wait (0: the runner's backoff); 408 and
// anything but 4xx (5xx, an unexpected 1xx or 3xx) stay err, retried with
// backoff; the other 4xx are a PermanentError.
func StatusError(status int, wait time.Duration, err error) error {
	switch {
	case status == http.StatusTooManyRequests:
		return &crawlers.RateLimitError{RetryAfter: wait, Err: err}
	case status == http.StatusRequestTimeout:
		return err
	case status >= 400 && status <= 499:
		return &crawlers.PermanentError{Err: err}
	}
	return err
}

// TooLargeError is ReadCapped's error for a body over its cap.
type TooLargeError struct{ Limit int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("response larger than %d bytes", e.Limit)
}

// ReadCapped reads r to its end, at most limit bytes: a longer body is a
// *TooLargeError (reading stops one byte past the cap), a failed read is
// "reading response: ...".
func ReadCapped(r io.Reader, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if len(body) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return body, nil
}

// Package crawlers holds the contract every source of posts and metric
// samples implements, the runner that schedules sources, persists their
// cursors and publishes what they find to JetStream, and the registry that
// maps a configured source type to its constructor.
//
// A source does one thing: fetch. It holds no retry loop, no sleep and no
// goroutine of its own; the runner owns schedule, rate limits, backoff,
// cursor storage and publishing.
package crawlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Page is what one poll found.
type Page struct {
	Posts   []signals.Post
	Metrics []signals.MetricSample
	// Cursor is the position to resume from next time. The runner persists
	// it only after every item of the page was published.
	Cursor string
	// More is true when another page is ready right away (pagination);
	// the runner polls again at once instead of waiting for the interval.
	More bool
	// Skipped counts the items left out of the page, by reason (see
	// Page.Skip). The runner counts them in
	// aftershock_crawler_posts_total{result="skipped",reason=…} and judges
	// the source's health by them: a page whose every item was skipped is a
	// source problem, not a quiet hour.
	Skipped Skips
	// RateLimit is the source's own rate-limit state, when its API reports one.
	RateLimit *RateLimit
}

// Skip reasons shared by the sources. A source may name its own: short,
// lower case, snake_case, a closed set (they become a metric label).
const (
	// SkipMalformed: the item could not be decoded at all.
	SkipMalformed = "malformed"
	// SkipNoID: the item carries no usable id.
	SkipNoID = "no_id"
	// SkipNoText: the item has no text to read.
	SkipNoText = "no_text"
	// SkipNoTime: the item carries no readable time, and the source has no
	// fallback for it.
	SkipNoTime = "no_time"
	// SkipBadValue: a field holds a value out of its range (a rating of 9,
	// a NaN sample).
	SkipBadValue = "bad_value"
	// SkipOversize: the item is larger than the source reads.
	SkipOversize = "oversize"
	// SkipInvalid: the runner refused the item (signals validation).
	SkipInvalid = "invalid"
	// SkipBadTime: the runner refused a post dated before 1970 or more
	// than MaxAhead after the poll.
	SkipBadTime = "bad_time"
)

// MaxUnix is the last second a message can carry (9999-12-31T23:59:59Z):
// decoders refuse Unix times past it.
const MaxUnix = 253402300799

// Skips counts skipped items by reason.
type Skips map[string]int

// Total is the number of skipped items.
func (s Skips) Total() int {
	n := 0
	for _, c := range s {
		n += c
	}
	return n
}

// Add adds n items skipped for reason.
func (s *Skips) Add(reason string, n int) {
	if n <= 0 {
		return
	}
	if *s == nil {
		*s = make(Skips)
	}
	(*s)[reason] += n
}

// Merge adds every count of o.
func (s *Skips) Merge(o Skips) {
	for r, n := range o {
		s.Add(r, n)
	}
}

// Skip counts one item left out of the page for reason.
func (p *Page) Skip(reason string) { p.Skipped.Add(reason, 1) }

// Skipping returns a page that only says one item was skipped for reason
// (a stream event that could not be read).
func Skipping(reason string) Page {
	var p Page
	p.Skip(reason)
	return p
}

// RateLimit is a source's rate-limit state as its API reported it.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Time
}

// Poller is a source that is asked for what is new since cursor ("" on the
// first poll). Poll must not block longer than ctx allows.
type Poller interface {
	Poll(ctx context.Context, cursor string) (Page, error)
}

// Streamer is a long-running source (a firehose, server-sent events). It
// calls emit for each page of items as they arrive and returns when ctx
// ends or the stream breaks; the runner reconnects with backoff.
type Streamer interface {
	Stream(ctx context.Context, cursor string, emit func(Page) error) error
}

// ErrRateLimited is wrapped by RateLimitError.
var ErrRateLimited = errors.New("rate limited")

// RateLimitError tells the runner to wait before the next request (a 429 with
// Retry-After, or an exhausted rate-limit header).
type RateLimitError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s: %v", e.RetryAfter, e.Err)
}

// Unwrap lets errors.Is find ErrRateLimited and the cause.
func (e *RateLimitError) Unwrap() []error { return []error{ErrRateLimited, e.Err} }

// PermanentError marks a failure retrying will not fix (bad credentials,
// 404 on a configured URL). The runner logs it and keeps trying at a slow pace
// so a fixed upstream recovers without a restart.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SkipError is the error of one item a source leaves out, naming why (a
// Skip reason) for the metric and the health judgement.
type SkipError struct {
	Reason string
	Err    error
}

func (e *SkipError) Error() string { return e.Err.Error() }
func (e *SkipError) Unwrap() error { return e.Err }

// Skipf returns a SkipError for reason with a formatted message (%w wraps).
func Skipf(reason, format string, args ...any) error {
	return &SkipError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// SkipReason is the reason of the SkipError in err's chain, else
// SkipMalformed.
func SkipReason(err error) string {
	var se *SkipError
	if errors.As(err, &se) && se.Reason != "" {
		return se.Reason
	}
	return SkipMalformed
}

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
	// Skipped counts malformed items that were left out of the page.
	Skipped int
	// RateLimit is the source's own rate-limit state, when its API reports one.
	RateLimit *RateLimit
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

// Package deploy talks to the deploy system: the release registry API, the
// gate, and the delivery stage that sends verdicts to notifiers (the halt
// webhook, chat, feature flags) durably, with retries, exactly once per
// release and ring.
package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Notice is one verdict to deliver to one notifier.
type Notice struct {
	// Key is the idempotency key: the same for every attempt of this notice,
	// so receivers can drop redeliveries.
	Key     string          `json:"key"`
	Verdict signals.Verdict `json:"verdict"`
	// Dashboard links to the release watch dashboard, when configured.
	Dashboard string `json:"dashboard,omitempty"`
	// Created is when the notice was first queued (or re-sent).
	Created time.Time `json:"created"`
	// Resend counts how often the notice was re-sent after it failed for
	// good; the key (and so the webhook-id) stays the same.
	Resend int `json:"resend,omitempty"`
}

// Notifier delivers one notice. It reports whether a failure is worth
// retrying (network errors, 5xx, 429) and, optionally, how long to wait first.
// Notifiers hold no retry loops; the delivery stage does.
type Notifier interface {
	Notify(ctx context.Context, n Notice) (retry bool, err error)
}

// RetryAfterError is returned by a notifier whose receiver asked it to wait
// (a 429 or 503 with Retry-After). The delivery stage waits at least After
// before the next attempt.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return e.Err.Error() + " (retry after " + e.After.String() + ")"
}

// Unwrap returns the cause.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter reports the wait a notifier's error asks for, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > 0 {
		return ra.After, true
	}
	return 0, false
}

// Resumer is a notifier whose halt pauses a rollout that stays paused until
// a person resumes it (App Store phased releases, Play staged rollouts).
// Resume is only ever called by an explicit, sre-admin command.
type Resumer interface {
	// Resume restarts the paused rollout of the release and says what it
	// did; handled=false means the release is not one this notifier covers.
	Resume(ctx context.Context, r Release) (result string, handled bool, err error)
}

// PhaseReader is a store notifier that can say how far a release's store
// rollout has got (the App Store phased release's day, the Play staged
// rollout's userFraction). The daemon reports it to the detector as the
// ring's exposure (deploy/storephase).
type PhaseReader interface {
	// Exposure reads the share of users the release's store rollout
	// reaches now, in [0, 1], and says where it read it; handled=false
	// means the release is not one this notifier covers.
	Exposure(ctx context.Context, r Release) (share float64, detail string, handled bool, err error)
}

// Release names what a Resumer acts on.
type Release struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	Version string `json:"version"`
	// Ring is the release's current ring in the registry ("" if none).
	Ring string `json:"ring,omitempty"`
}

// Package inbound checks what arrives from outside (pushed metric samples,
// release registrations and events) against the configuration: the
// configured services and rings, times within a bounded clock skew, and
// values that can be right. Every refusal names the field and why, and wraps
// signals.ErrInvalid so callers report it per item.
package inbound

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Config is the `inbound` section.
//
//	inbound:
//	  max_future: 5m   # refuse times more than this ahead of the clock
//	  max_past: 24h    # refuse times more than this behind it
type Config struct {
	// MaxFuture bounds how far ahead of this process's clock an item's time
	// may be (clock skew; default 5m).
	MaxFuture time.Duration `yaml:"max_future"`
	// MaxPast bounds how far behind the clock an item's time may be
	// (late delivery and backfill; default 24h).
	MaxPast time.Duration `yaml:"max_past"`
}

// Defaults.
const (
	DefaultMaxFuture = 5 * time.Minute
	DefaultMaxPast   = 24 * time.Hour
)

// Validate applies defaults and checks the section.
func (c *Config) Validate() error {
	if c.MaxFuture == 0 {
		c.MaxFuture = DefaultMaxFuture
	}
	if c.MaxPast == 0 {
		c.MaxPast = DefaultMaxPast
	}
	var errs []error
	if c.MaxFuture < 0 || c.MaxFuture > 24*time.Hour {
		errs = append(errs, fmt.Errorf("inbound.max_future: %s, want more than 0 and at most 24h", c.MaxFuture))
	}
	if c.MaxPast < time.Minute {
		errs = append(errs, fmt.Errorf("inbound.max_past: %s, want at least 1m", c.MaxPast))
	}
	return errors.Join(errs...)
}

// Rules are the checks. A nil *Rules accepts everything (for tools and
// tests that run without a configuration).
type Rules struct {
	// Services are the configured services; empty accepts any valid name.
	Services []string
	// Rings are the configured rings in rollout order.
	Rings []string
	Config
	// Now is the clock times are checked against (default time.Now).
	Now func() time.Time
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", signals.ErrInvalid, fmt.Sprintf(format, args...))
}

// Service checks that name is a configured service.
func (r *Rules) Service(name string) error {
	if r == nil || len(r.Services) == 0 || slices.Contains(r.Services, name) {
		return nil
	}
	return invalid("service: %q is not a configured service (configured: %s)", name, strings.Join(r.Services, ", "))
}

// Ring checks that name is a configured ring (exactly, case included).
func (r *Rules) Ring(name string) error {
	if r == nil || r.RingIndex(name) >= 0 {
		return nil
	}
	return invalid("ring: %q is not a configured ring (configured: %s)", name, strings.Join(r.Rings, ", "))
}

// RingIndex is the position of ring in the rollout order, -1 if unknown.
func (r *Rules) RingIndex(ring string) int {
	if r == nil {
		return -1
	}
	return slices.Index(r.Rings, ring)
}

// Time checks that t is within the allowed skew of the clock; field names
// it in the error.
func (r *Rules) Time(field string, t time.Time) error {
	if r == nil || t.IsZero() {
		return nil
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	maxFuture, maxPast := r.MaxFuture, r.MaxPast
	if maxFuture <= 0 {
		maxFuture = DefaultMaxFuture
	}
	if maxPast <= 0 {
		maxPast = DefaultMaxPast
	}
	switch {
	case t.After(now.Add(maxFuture)):
		return invalid("%s: %s is more than %s in the future (inbound.max_future)", field, t.UTC().Format(time.RFC3339), maxFuture)
	case t.Before(now.Add(-maxPast)):
		return invalid("%s: %s is more than %s in the past (inbound.max_past)", field, t.UTC().Format(time.RFC3339), maxPast)
	}
	return nil
}

// Metric checks a metric sample: configured service, configured ring (or
// none), a finite value that is not negative (rates, counts and latencies
// cannot be), and a time within the skew.
func (r *Rules) Metric(m signals.MetricSample) error {
	if err := r.Service(m.Service); err != nil {
		return err
	}
	if m.Ring != "" {
		if err := r.Ring(m.Ring); err != nil {
			return err
		}
	}
	switch {
	case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
		return invalid("value: %v is not a finite number", m.Value)
	case m.Value < 0:
		return invalid("value: %v is negative (rates, counts and latencies cannot be)", m.Value)
	}
	return r.Time("time", m.Time)
}

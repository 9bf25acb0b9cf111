package delivery

import (
	"errors"
	"fmt"
	"time"

	"github.com/aftershock/aftershock/deploy/internal/check"
)

// Config is the `delivery` section: how long and how often notices are
// retried.
//
//	delivery:
//	  base_backoff: 1s      # first retry waits up to this (full jitter), doubling
//	  max_backoff: 5m       # cap on one wait; a longer Retry-After still wins
//	  deadline: 1h          # give up this long after the notice was queued
//	  attempt_timeout: 30s  # one notifier call; above the notifier's own timeout
type Config struct {
	// BaseBackoff is the first retry's upper bound (default 1s); each
	// further retry doubles it, with full jitter.
	BaseBackoff time.Duration `yaml:"base_backoff"`
	// MaxBackoff caps the wait between attempts (default 5m).
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Deadline is how long after a notice was queued it is given up
	// (default 1h).
	Deadline time.Duration `yaml:"deadline"`
	// AttemptTimeout bounds one call to a notifier (default 30s); keep it
	// above the notifier's own timeout.
	AttemptTimeout time.Duration `yaml:"attempt_timeout"`
}

// Defaults.
const (
	DefaultBaseBackoff    = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultDeadline       = time.Hour
	DefaultAttemptTimeout = 30 * time.Second
)

// Validate applies defaults and checks the section, naming fields under
// `delivery`.
func (c *Config) Validate() error { return c.ValidateAt("delivery") }

// ValidateAt is Validate with errors naming fields under path.
func (c *Config) ValidateAt(path string) error {
	field := func(name string) string { return check.Field(path, name) }
	if c.BaseBackoff == 0 {
		c.BaseBackoff = DefaultBaseBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Deadline == 0 {
		c.Deadline = DefaultDeadline
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = DefaultAttemptTimeout
	}
	var errs []error
	if c.BaseBackoff < time.Millisecond {
		errs = append(errs, fmt.Errorf("%s: %s, want at least 1ms", field("base_backoff"), c.BaseBackoff))
	}
	if c.MaxBackoff < c.BaseBackoff {
		errs = append(errs, fmt.Errorf("%s: %s is below base_backoff %s", field("max_backoff"), c.MaxBackoff, c.BaseBackoff))
	}
	if c.Deadline <= 0 {
		errs = append(errs, fmt.Errorf("%s: %s, want more than 0", field("deadline"), c.Deadline))
	}
	if c.AttemptTimeout <= 0 || c.AttemptTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("%s: %s, want more than 0 and at most 10m", field("attempt_timeout"), c.AttemptTimeout))
	}
	return errors.Join(errs...)
}

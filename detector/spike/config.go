package spike

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a Detector. The zero value is valid: Validate fills every
// unset field with a default that needs no per-series tuning, because the
// detector learns each series' step, scale, rhythm and tail as it goes.
type Config struct {
	// Threshold is the score at or above which a point is labelled an
	// anomaly. The score is -log10(p)/10, where p is the learned tail
	// probability of the point (or of the run or shift ending at it), so
	// 0.4 means "rarer than 1 in 10,000" on every series.
	Threshold float64 `yaml:"threshold"`
	// MinZ is the smallest robust z (residual over its typical absolute
	// size) whose point evidence counts, whatever the tail says; points
	// from MinZ/2 add to the run statistic. It keeps near-constant series
	// from being labelled for tiny wiggles.
	MinZ float64 `yaml:"min_z"`
	// WarmUp is the number of points seen before any score or label (they
	// score 0 while the detector learns the series).
	WarmUp int `yaml:"warm_up"`
	// Window is the number of recent points whose median is the local level.
	// A sustained level shift is absorbed after about Window/2 points.
	Window int `yaml:"window"`
	// History is the number of recent residuals kept to learn the tail.
	History int `yaml:"history"`
	// TailFraction is the share of History treated as the tail when the
	// generalised Pareto tail is fitted (peaks over threshold).
	TailFraction float64 `yaml:"tail_fraction"`
	// Cooldown is the rest period: the number of points after a label that
	// score 0 and are not labelled, so one incident is labelled once, at
	// its first point.
	Cooldown int `yaml:"cooldown"`
	// Periods are the candidate seasonal periods. Each gets a slot profile;
	// the one that forecasts best (if it beats no seasonality) is used.
	// Unset means a day and a week; an empty list ([]) turns seasonality off.
	Periods []time.Duration `yaml:"periods"`
	// BinsPerDay caps the slot resolution of a seasonal profile, which bounds
	// memory for series with short steps: a profile has at most
	// BinsPerDay*period/24h slots.
	BinsPerDay int `yaml:"bins_per_day"`
}

// Defaults of Config, applied by Validate to unset fields.
const (
	DefaultThreshold    = 0.4
	DefaultMinZ         = 4.0
	DefaultWarmUp       = 288
	DefaultWindow       = 8
	DefaultHistory      = 2016
	DefaultTailFraction = 0.02
	DefaultCooldown     = 100
	DefaultBinsPerDay   = 288
)

// defaultPeriods are the seasonal periods tried when Config.Periods is nil.
var defaultPeriods = [...]time.Duration{24 * time.Hour, 7 * 24 * time.Hour}

// maxSlots bounds the memory of one seasonal profile whatever the config.
const maxSlots = 1 << 14

// Validate fills defaults and reports every invalid field by its yaml name.
func (c *Config) Validate() error {
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.MinZ == 0 {
		c.MinZ = DefaultMinZ
	}
	if c.WarmUp == 0 {
		c.WarmUp = DefaultWarmUp
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.History == 0 {
		c.History = DefaultHistory
	}
	if c.TailFraction == 0 {
		c.TailFraction = DefaultTailFraction
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultCooldown
	}
	if c.BinsPerDay == 0 {
		c.BinsPerDay = DefaultBinsPerDay
	}
	if c.Periods == nil {
		c.Periods = append([]time.Duration(nil), defaultPeriods[:]...)
	}
	var errs []error
	if !(c.Threshold > 0 && c.Threshold < 1) {
		errs = append(errs, fmt.Errorf("threshold: must be in (0, 1), got %v", c.Threshold))
	}
	if !(c.MinZ > 0) {
		errs = append(errs, fmt.Errorf("min_z: must be positive, got %v", c.MinZ))
	}
	if c.WarmUp < 0 {
		errs = append(errs, fmt.Errorf("warm_up: must not be negative, got %d", c.WarmUp))
	}
	if c.Window < 3 || c.Window > 256 {
		errs = append(errs, fmt.Errorf("window: must be between 3 and 256, got %d", c.Window))
	}
	if c.History < 100 || c.History > 100000 {
		errs = append(errs, fmt.Errorf("history: must be between 100 and 100000, got %d", c.History))
	}
	if !(c.TailFraction > 0 && c.TailFraction <= 0.2) {
		errs = append(errs, fmt.Errorf("tail_fraction: must be in (0, 0.2], got %v", c.TailFraction))
	}
	if c.Cooldown < 1 {
		errs = append(errs, fmt.Errorf("cooldown: must be at least 1, got %d", c.Cooldown))
	}
	if c.BinsPerDay < 1 || c.BinsPerDay > 1440 {
		errs = append(errs, fmt.Errorf("bins_per_day: must be between 1 and 1440, got %d", c.BinsPerDay))
	}
	if len(c.Periods) > 4 {
		errs = append(errs, fmt.Errorf("periods: at most 4 periods, got %d", len(c.Periods)))
	}
	for i, p := range c.Periods {
		if p < time.Minute || p > 366*24*time.Hour {
			errs = append(errs, fmt.Errorf("periods[%d]: must be between 1m and 366d, got %v", i, p))
		}
	}
	return errors.Join(errs...)
}

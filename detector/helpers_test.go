package detector

import (
	"math"
	"strings"
	"testing"
	"time"
)

// defaultConfig is the detector's default configuration, validated.
func defaultConfig(tb testing.TB) Config {
	tb.Helper()
	cfg := Config{}
	if err := cfg.Validate("detector"); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// sixHours is the baseline of the tests whose timelines lay out six hours
// of history before the release (the default was 6h until 2026-12-07; it
// is 24h now, see Config.Baseline).
const sixHours = 6 * time.Hour

// sixHourBaseline is the default configuration with a six-hour baseline.
func sixHourBaseline(tb testing.TB) Config {
	tb.Helper()
	cfg := Config{Baseline: sixHours}
	if err := cfg.Validate("detector"); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func mathExp(x float64) float64   { return math.Exp(x) }
func abs(x float64) float64       { return math.Abs(x) }
func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mathSin(x float64) float64 { return math.Sin(x) }

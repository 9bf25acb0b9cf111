package detector

import (
	"math"
	"strings"
	"testing"
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

func mathExp(x float64) float64   { return math.Exp(x) }
func abs(x float64) float64       { return math.Abs(x) }
func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mathSin(x float64) float64 { return math.Sin(x) }

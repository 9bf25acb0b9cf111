package detector

import (
	"math"
	"strings"
)

func mathExp(x float64) float64   { return math.Exp(x) }
func abs(x float64) float64       { return math.Abs(x) }
func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mathSin(x float64) float64 { return math.Sin(x) }

package detector

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// poissonUpper is P(X >= k) for X ~ Poisson(lambda): the chance of seeing at
// least k events when lambda are expected. Exact, so sound for small counts.
func poissonUpper(k int, lambda float64) float64 {
	if k <= 0 {
		return 1
	}
	if lambda <= 0 {
		return 0
	}
	return mathext.GammaIncReg(float64(k), lambda)
}

// binomialUpper is P(X >= k) for X ~ Binomial(n, p).
func binomialUpper(k, n int, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	return mathext.RegIncBeta(float64(k), float64(n-k+1), p)
}

// strength maps a p-value to [0, 1]: 1 - p, clamped.
func strength(p float64) float64 {
	if math.IsNaN(p) {
		return 0
	}
	return math.Max(0, math.Min(1, 1-p))
}

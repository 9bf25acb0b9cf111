package detector

import (
	"math"
	"sort"
)

// mannWhitneyGreater is the one-sided Mann–Whitney U test that values in a
// tend to be greater than values in b. It returns the p-value (normal
// approximation with tie correction; exact enough from 5 samples a side) and
// the common-language effect size P(A > B) + ½P(A = B).
func mannWhitneyGreater(a, b []float64) (p, effect float64) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 1, 0.5
	}
	type obs struct {
		v     float64
		fromA bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var rankA, tieSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1..j
		t := float64(j - i)
		tieSum += t*t*t - t
		for k := i; k < j; k++ {
			if all[k].fromA {
				rankA += rank
			}
		}
		i = j
	}
	fn1, fn2 := float64(n1), float64(n2)
	u := rankA - fn1*(fn1+1)/2
	effect = u / (fn1 * fn2)
	n := fn1 + fn2
	sigma2 := fn1 * fn2 / 12 * ((n + 1) - tieSum/(n*(n-1)))
	if sigma2 <= 0 {
		return 1, effect // every value equal
	}
	z := (u - fn1*fn2/2 - 0.5) / math.Sqrt(sigma2) // continuity correction
	return 0.5 * math.Erfc(z/math.Sqrt2), effect
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

package detector

import (
	"math"
	"testing"
	"time"
)

// TestPooledShare: the share a watch expects pools the baseline day with
// earlier whole days of the hourly history when the days differ by no
// more than their binomial noise, keeps mostly the baseline day when the
// share moves from day to day beyond noise, sets aside an earlier day of
// an incident, and is the one-day share without three days of history.
func TestPooledShare(t *testing.T) {
	const posts = 2400 // a day's posts, 100 an hour
	start := time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)
	from := start.Add(-24 * time.Hour)
	cases := []struct {
		name   string
		days   int
		shares []float64 // earlier days' shares, newest first (the day before the baseline first)
		s1     float64   // the baseline day's share
		lo, hi float64
	}{
		{"six days at 10%, baseline day came out low", 7, []float64{0.10, 0.10, 0.10, 0.10, 0.10, 0.10}, 0.08, 0.0965, 0.0975},
		{"binomial-size noise between days", 7, []float64{0.104, 0.097, 0.101, 0.095, 0.103, 0.099}, 0.08, 0.0960, 0.0990},
		{"an earlier day of an incident is set aside", 7, []float64{0.10, 0.10, 0.30, 0.10, 0.10, 0.10}, 0.09, 0.0975, 0.0990},
		{"share moves ×1.5 between days: mostly its own day", 7, []float64{0.08, 0.12, 0.07, 0.13, 0.08, 0.12}, 0.08, 0.0800, 0.0850},
		{"only the baseline day", 7, nil, 0.08, 0.08, 0.08},
		{"one earlier day: under three days", 7, []float64{0.10}, 0.08, 0.08, 0.08},
		{"pooling off", 1, []float64{0.10, 0.10, 0.10, 0.10, 0.10, 0.10}, 0.08, 0.08, 0.08},
		{"three days of a 7-day setting", 7, []float64{0.09, 0.09}, 0.08, 0.0860, 0.0875},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func(n int) { shareHistoryDays = n }(shareHistoryDays)
			shareHistoryDays = c.days
			s := newScenario(t, Config{})
			sv := s.d.service("shop")
			fill := func(dayFrom time.Time, share float64) {
				for h := range 24 {
					b := sv.hours.at(dayFrom.Add(time.Duration(h) * time.Hour))
					b.posts += posts / 24
					b.negative += int32(math.Round(share * posts / 24))
				}
				if sv.hours.first.IsZero() || dayFrom.Before(sv.hours.first) {
					sv.hours.first = dayFrom
				}
			}
			fill(from.Truncate(time.Hour), c.s1)
			for k, sh := range c.shares {
				fill(from.Truncate(time.Hour).Add(-time.Duration(k+1)*24*time.Hour), sh)
			}
			sum := bucket{posts: posts / 24 * 24, negative: int32(math.Round(c.s1*posts/24)) * 24}
			s1 := float64(sum.negative) / float64(sum.posts)
			got := s.d.pooledShare(sv, from, sum, s1)
			if got < c.lo-1e-9 || got > c.hi+1e-9 {
				t.Errorf("share %.4f, want in [%.4f, %.4f] (one-day %.4f)", got, c.lo, c.hi, s1)
			}
		})
	}
}

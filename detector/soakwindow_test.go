package detector

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// The soak's window-limited statistic (soakWindow; Lai 1998).

// feed adds minutes of Poisson-chart buckets to c from t: x observed
// against e expected each minute, with x given per minute by ratio(m).
func feed(c *chart, t time.Time, minutes int, e float64, ratio func(m int) float64) time.Time {
	for m := range minutes {
		c.add(t, e*ratio(m), e)
		t = t.Add(time.Minute)
	}
	return t
}

func TestWindowLimitedStatistic(t *testing.T) {
	const rho2 = 0 // the ×2 chart
	win := soakWindow.Minutes()
	for _, tc := range []struct {
		name  string
		run   func(c *chart) time.Time
		check func(t *testing.T, c *chart, end time.Time)
	}{{
		name: "in control: both zero",
		run: func(c *chart) time.Time {
			return feed(c, t0, 24*60, 1, func(int) float64 { return 1 })
		},
		check: func(t *testing.T, c *chart, _ time.Time) {
			for i := range c.s {
				if s, _, _, _ := c.windowed(i); s != 0 || c.s[i] != 0 {
					t.Errorf("chart %d: windowed %.2f, CUSUM %.2f, want 0", i, s, c.s[i])
				}
			}
		},
	}, {
		name: "×5 for 30 minutes ten hours in: the window's statistic is the CUSUM",
		run: func(c *chart) time.Time {
			end := feed(c, t0, 10*60, 1, func(int) float64 { return 1 })
			return feed(c, end, 30, 1, func(int) float64 { return 5 })
		},
		check: func(t *testing.T, c *chart, end time.Time) {
			for i := range c.s {
				s, x, e, from := c.windowed(i)
				if math.Abs(s-c.s[i]) > 1e-9 || x != c.x[i] || e != c.e[i] || !from.Equal(c.from[i]) {
					t.Errorf("chart ×%g: windowed %.3f (%.0f vs %.0f since %s), CUSUM %.3f (%.0f vs %.0f since %s)",
						CUSUMRises[i], s, x, e, from.Format("15:04"), c.s[i], c.x[i], c.e[i], c.from[i].Format("15:04"))
				}
			}
			if want := 30 * (5*math.Log(4) - 3); math.Abs(c.s[1]-want) > 1e-6 {
				t.Errorf("×4 chart %.2f, want %.2f", c.s[1], want)
			}
		},
	}, {
		name: "×1.6 for 18 hours: the CUSUM adds it all up, the window six hours of it",
		run: func(c *chart) time.Time {
			return feed(c, t0, 18*60, 1, func(int) float64 { return 1.6 })
		},
		check: func(t *testing.T, c *chart, _ time.Time) {
			inc := 1.6*math.Log(2) - 1
			if want := 18 * 60 * inc; math.Abs(c.s[rho2]-want) > 1e-6 {
				t.Errorf("CUSUM %.2f, want %.2f", c.s[rho2], want)
			}
			s, x, e, _ := c.windowed(rho2)
			lo, hi := (win-winBlock.Minutes())*inc, win*inc
			if s < lo-1e-9 || s > hi+1e-9 {
				t.Errorf("windowed %.2f, want between %.2f and %.2f (one window)", s, lo, hi)
			}
			if math.Abs(x-1.6*e) > 1e-6 || e < win-winBlock.Minutes() || e > win {
				t.Errorf("window's excursion %.1f vs %.1f expected, want ×1.6 over %.0f–%.0f minutes", x, e, win-winBlock.Minutes(), win)
			}
		},
	}, {
		name: "an excursion that began before the window and goes on: only its last hours count",
		run: func(c *chart) time.Time {
			end := feed(c, t0, 8*60, 1, func(int) float64 { return 2 })
			return feed(c, end, 60, 1, func(int) float64 { return 1 })
		},
		check: func(t *testing.T, c *chart, end time.Time) {
			s, _, _, from := c.windowed(rho2)
			if s >= c.s[rho2] {
				t.Errorf("windowed %.2f not below the CUSUM %.2f", s, c.s[rho2])
			}
			if from.Before(end.Add(-soakWindow - time.Minute)) {
				t.Errorf("window's excursion from %s, more than %s before %s", from, soakWindow, end)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &chart{}
			end := tc.run(c)
			tc.check(t, c, end)
		})
	}
}

// The window-limited statistic is never above the CUSUM, whatever the
// counts: the budget's thresholds stay valid for it.
func TestWindowNeverAboveCUSUM(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := &chart{}
	tm := t0
	for m := range 3 * 24 * 60 {
		e := 0.2 + 0.5*rng.Float64()
		ratio := 1.0
		if (m/300)%3 == 1 { // spells of ×1.5–×4
			ratio = 1.5 + 2.5*rng.Float64()
		}
		x := float64(poisson(rng, e*ratio))
		if m%2 == 0 {
			c.add(tm, x, e)
		} else {
			c.addShare(tm, min(x, 5), 5, 0.1)
		}
		for i := range c.s {
			s, wx, _, _ := c.windowed(i)
			if s > c.s[i]+1e-9 || s < 0 || wx < -1e-9 {
				t.Fatalf("minute %d chart %d: windowed %.3f (%.1f counts), CUSUM %.3f", m, i, s, wx, c.s[i])
			}
		}
		tm = tm.Add(time.Minute)
	}
}

// The window is saved with the chart, carried to the next ring, and a
// chart restored from a snapshot without one starts from its excursions.
func TestWindowSavedAndCarried(t *testing.T) {
	c := &chart{h: 10, hSoak: 12, minX: 5}
	end := feed(c, t0, 10*60, 1, func(m int) float64 { return 1.4 })
	want := [nRises]float64{}
	for i := range c.s {
		want[i], _, _, _ = c.windowed(i)
	}
	data, err := json.Marshal(c.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var cs chartSnapshot
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	restored := cs.chart()
	carried := &chart{}
	carried.carry(c)
	old := cs
	old.Window = nil
	seeded := old.chart()
	for i := range c.s {
		for name, r := range map[string]*chart{"restored": &restored, "carried": carried} {
			if s, _, _, _ := r.windowed(i); math.Abs(s-want[i]) > 1e-9 {
				t.Errorf("%s chart %d: windowed %.3f, want %.3f", name, i, s, want[i])
			}
		}
		if s, _, _, _ := seeded.windowed(i); math.Abs(s-c.s[i]) > 1e-9 {
			t.Errorf("seeded chart %d: windowed %.3f, want the CUSUM %.3f", i, s, c.s[i])
		}
	}
	// Going on, restored and original agree (the carried chart's counts
	// are its own: it starts from zero totals).
	feed(c, end, 120, 1, func(int) float64 { return 1.4 })
	feed(&restored, end, 120, 1, func(int) float64 { return 1.4 })
	for i := range c.s {
		a, ax, _, _ := c.windowed(i)
		b, bx, _, _ := restored.windowed(i)
		if math.Abs(a-b) > 1e-9 || math.Abs(ax-bx) > 1e-9 {
			t.Errorf("chart %d after restore: %.3f (%.1f) vs %.3f (%.1f)", i, b, bx, a, ax)
		}
	}
}

// soakTimeline lays out five days of history whose complaint share
// differs from day to day by up to ×1.5 without any incident (at 2,880
// posts a day, far more than binomial noise; the last day, the baseline,
// at 10 %), H3 for three
// hours and its completion, and returns the scenario and the completion
// time.
func soakTimeline(t *testing.T) (*scenario, time.Time) {
	s := newScenario(t, Config{})
	calm := stream{rate: 2, negShare: 0.1}
	day := t0
	for _, share := range []float64{0.09, 0.12, 0.08, 0.11, 0.10} {
		s.emit(day, day.Add(24*time.Hour), stream{rate: 2, negShare: share})
		day = day.Add(24 * time.Hour)
	}
	start := day
	s.release(start, "H3", signals.EventStarted)
	done := start.Add(3 * time.Hour)
	s.emit(start, done, calm)
	s.release(done, "H3", signals.EventCompleted)
	return s, done
}

// A slow drift of the complaint share in the soak — up to ×1.6 over six
// hours and held for twelve more, as the share drifts from one day to the
// next without any incident — does not halt: the CUSUM alone would have
// added it up over the soak's bar, the window-limited statistic does not
// reach it. A clear ×5 rise ten hours into a soak still halts.
func TestSoakDriftDoesNotHaltLateRiseDoes(t *testing.T) {
	s, done := soakTimeline(t)
	w := s.d.watches[watchKey{"shop-4.2.0", "H3"}]
	if w == nil || !w.soaking {
		t.Fatal("H3 is not soaking after its completion")
	}
	sc := &w.charts[chShare]
	peak := 0.0
	for h := range 18 {
		share := 0.16
		if h < 6 {
			share = 0.1 + 0.06*float64(h+1)/6
		}
		s.emit(done.Add(time.Duration(h)*time.Hour), done.Add(time.Duration(h+1)*time.Hour), stream{rate: 2, negShare: share})
		for i := range sc.s {
			peak = max(peak, sc.s[i])
		}
	}
	if peak < sc.hSoak {
		t.Fatalf("the drift's CUSUM peaked at %.1f, under the soak's bar %.1f: the test shows nothing", peak, sc.hSoak)
	}
	if v, ok := s.firstHalt(); ok {
		t.Fatalf("halted on a drift of the share: %v", v.Reasons)
	}
	if w.base.dayExcess <= 0 {
		t.Errorf("no between-day dispersion estimated from five days whose share differs by ×1.5")
	}
	t.Logf("×1.6 drift: CUSUM peak %.1f over the soak's bar %.1f, no halt (between-day excess %.4f per expected complaint)", peak, sc.hSoak, w.base.dayExcess)

	s, done = soakTimeline(t)
	onset := done.Add(10 * time.Hour)
	s.emit(done, onset, stream{rate: 2, negShare: 0.1})
	if v, ok := s.firstHalt(); ok {
		t.Fatalf("halted a calm soak: %v", v.Reasons)
	}
	s.emit(onset, onset.Add(90*time.Minute), stream{rate: 2, negShare: 0.1, extra: 0.8}) // ×5 complaints
	v, ok := s.firstHalt()
	if !ok {
		t.Fatalf("×5 ten hours into the soak not halted: %v", s.last().Reasons)
	}
	if d := v.Time.Sub(onset); d > 45*time.Minute {
		t.Errorf("×5 in the soak halted %s after onset, want within 45m", d)
	}
	if r := strings.Join(v.Reasons, " "); !strings.Contains(r, "window-limited CUSUM") {
		t.Errorf("the soak's halt does not say it is over the window's bar: %s", r)
	}
	t.Logf("×5 in the soak halted %s after onset: %v", v.Time.Sub(onset), v.Reasons)
}

package detector

import (
	"fmt"
	"math"
	"time"
)

// Count signals are judged sequentially: a bank of Poisson CUSUMs (Page
// 1954; Lorden 1971) per signal, one per design rise ρ, each accumulating
// the log-likelihood ratio of "the rate is ρ times the expectation" against
// "the rate is as expected" bucket by bucket:
//
//	S ← max(0, S + x·ln ρ − (ρ−1)·e)
//
// where x is the bucket's count and e its expectation (the seasonal
// baseline, see fold). The bank alarms when one of its charts reaches h
// with at least minX counts in that chart's current excursion. The small ρ
// catch a ×2 rise that lasts hours, the large ones a sudden burst within
// minutes; together they behave like the generalised likelihood ratio over
// unknown rises (the multi-chart CUSUM of Tartakovsky et al. 2006).
//
// Overdispersion: social counts come in bursts (a thread, a retweet wave),
// so they vary more than a Poisson count. As in quasi-Poisson outbreak
// detection (Farrington et al. 1996) the detector estimates a dispersion
// φ ≥ 1 from the baseline (variance/mean of 5-minute counts) and treats the
// counts as φ-fold Poisson events: the statistic is read in units of φ and
// the budget in expected events is divided by φ. See docs/judge.md.

// CUSUMRises are the design rises of the bank, as multiples of the
// expectation. detector/cusumsim simulates the same bank.
var CUSUMRises = [nRises]float64{2, 4, 10, 30}

const nRises = 4

var cusumLogRises = func() (l [nRises]float64) {
	for i, r := range CUSUMRises {
		l[i] = math.Log(r)
	}
	return l
}()

// cusumThreshold is the threshold h at which the bank's in-control average
// run length is n expected events when e events are expected per bucket:
// the table simulated by detector/cusumsim, read on the two rows around e
// (the higher of their thresholds: the lattice of small counts makes ARL
// uneven in e, and the higher errs on the side of fewer false alarms).
func cusumThreshold(n, e float64) float64 {
	rows := cusumPerBucket
	hi := len(rows) - 1
	for i, pe := range rows {
		if e <= pe {
			hi = i
			break
		}
	}
	lo := max(hi-1, 0)
	if e <= rows[0] {
		lo = 0
	}
	return max(rowThreshold(lo, n), rowThreshold(hi, n))
}

// rowThreshold reads h for an ARL of n expected events off one row of the
// table, interpolating linearly in log ARL and extending the row with its
// fitted slope.
func rowThreshold(row int, n float64) float64 {
	tab := cusumTable[row]
	target := math.Log10(max(n, 1))
	// The simulated row is noisy where ARL is about one event; read it as
	// non-decreasing.
	prevH, prevL := tab[0][0], tab[0][1]
	if target <= prevL {
		return prevH
	}
	for _, p := range tab[1:] {
		h, l := p[0], max(p[1], prevL)
		if target <= l {
			if l == prevL {
				return h
			}
			return prevH + (h-prevH)*(target-prevL)/(l-prevL)
		}
		prevH, prevL = h, l
	}
	return prevH + (target-prevL)/cusumSlope[row]
}

// chart is the CUSUM bank of one count signal within one watch.
type chart struct {
	s    [nRises]float64
	from [nRises]time.Time // start of each chart's current excursion
	x, e [nRises]float64   // observed and expected counts in that excursion
	// total and expected are counted since the watch (re)started.
	total, expected float64
	// h is the alarm threshold in log-likelihood units (φ × table h); minX
	// the least count in an excursion before it may alarm.
	h    float64
	minX float64
	// hSoak is the halting bar during a soak: the threshold for a budget
	// soakStrictness times stricter.
	hSoak float64
}

// soakStrictness: a completed release is halted in its soak only on
// evidence that would raise a false alarm ten times less often than the
// budget allows; below that a failing signal asks for a review.
const soakStrictness = 10

// strong reports whether some chart is over the soak's halting bar.
func (c *chart) strong() bool {
	for i := range c.s {
		if c.hSoak > 0 && c.s[i] >= c.hSoak && c.x[i] >= c.minX {
			return true
		}
	}
	return false
}

// add folds one bucket starting at t: x observed, e expected.
func (c *chart) add(t time.Time, x, e float64) {
	c.total += x
	c.expected += e
	for i := range c.s {
		if c.s[i] == 0 {
			c.from[i], c.x[i], c.e[i] = t, 0, 0
		}
		v := c.s[i] + x*cusumLogRises[i] - (CUSUMRises[i]-1)*e
		if v <= 0 {
			c.s[i], c.x[i], c.e[i] = 0, 0, 0
			continue
		}
		c.s[i] = v
		c.x[i] += x
		c.e[i] += e
	}
}

// addShare folds one bucket of a share: x of n posts are complaints where
// a share s is expected. Each chart is the Bernoulli CUSUM of an odds
// ratio ρ (the risk-adjusted CUSUM of Steiner et al. 2000; Reynolds &
// Stoumbos 1999): per post the log-likelihood ratio of complaint odds ρ
// times the expected odds, x·ln ρ − n·ln(1 − s + s·ρ). Against the
// Poisson chart of the count with expectation s·n it is the exact model
// given the posts, and an incident's own complaints, which are posts too,
// raise what is expected of them far less: the posts are judged by their
// odds of complaining, not by the count of complaints per post. Its
// in-control run length in expected events follows the Poisson table's
// (both are likelihood-ratio charts, log ARL ≈ h + c; TestShareChartBudget).
func (c *chart) addShare(t time.Time, x, n, s float64) {
	e := s * n
	c.total += x
	c.expected += e
	for i := range c.s {
		if c.s[i] == 0 {
			c.from[i], c.x[i], c.e[i] = t, 0, 0
		}
		v := c.s[i] + x*cusumLogRises[i] - n*math.Log1p(s*(CUSUMRises[i]-1))
		if v <= 0 {
			c.s[i], c.x[i], c.e[i] = 0, 0, 0
			continue
		}
		c.s[i] = v
		c.x[i] += x
		c.e[i] += e
	}
}

// alarm returns the chart that crossed h furthest (with enough counts),
// or -1.
func (c *chart) alarm() int {
	best, bestR := -1, 0.0
	for i := range c.s {
		if c.h > 0 && c.s[i] >= c.h && c.x[i] >= c.minX && c.s[i]/c.h > bestR {
			best, bestR = i, c.s[i]/c.h
		}
	}
	return best
}

// level is the highest statistic relative to the threshold, in [0, ∞).
func (c *chart) level() float64 {
	l := 0.0
	for i := range c.s {
		if c.h > 0 {
			l = max(l, c.s[i]/c.h)
		}
	}
	return l
}

// describe explains an alarm of chart i.
func (c *chart) describe(name string, i int) string {
	e := max(c.e[i], 1e-9)
	return fmt.Sprintf("%s: %.0f observed vs %.1f expected since %s (×%.1f; CUSUM %.1f ≥ %.1f)",
		name, c.x[i], c.e[i], c.from[i].UTC().Format("15:04"), c.x[i]/e, c.s[i], c.h)
}

func (c *chart) reset() {
	h, minX, hSoak := c.h, c.minX, c.hSoak
	*c = chart{h: h, minX: minX, hSoak: hSoak}
}

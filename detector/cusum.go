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
	// drift is the between-day excess dispersion per expected event, over
	// the chart's own φ: in a soak, an excursion of e expected events
	// halts over hSoak × (1 + drift·e) (baseline.dayExcess).
	drift float64
	// win holds what the window-limited statistic of the soak needs (see
	// soakWindow): the running log-likelihood ratio of each chart and
	// its lowest points in the last hours.
	win window
}

// soakWindow is the window of the soak's halting statistic: in a soak a
// chart halts on its own only when the log-likelihood ratio of the last
// soakWindow alone reaches the soak's bar — the window-limited CUSUM
// (Lai 1998, "Information bounds and quick detection of parameter changes
// in stochastic systems"; Lai & Shan 1999). A soak lasts a day and the
// baseline is the day before the release: the share of complaints and the
// rates drift from one day to the next by more than the counts' own noise
// (news, a launch's buzz in the baseline day, a weekday's public), and an
// unlimited CUSUM adds such a drift up over a whole night and day. A
// window bounds what a drift can add, while a change that matters in a
// soak — a late incident — reaches the bar within it (×5: minutes; a ×2
// share at a service's daytime traffic: an hour or two). The window-limited
// statistic is never above the CUSUM (a maximum over fewer starting
// points), so its false-alarm rate is at most the CUSUM's and the budget's
// thresholds stay valid, conservatively.
const soakWindow = 6 * time.Hour

// winBlock is the granularity of the window: the lowest point of each
// chart's running sum is kept per block, so a window is a whole number of
// blocks (between soakWindow − winBlock and soakWindow of data).
const winBlock = 30 * time.Minute

const winBlocks = int(soakWindow / winBlock)

// window keeps, per chart of the bank, the running log-likelihood ratio L
// since the watch (re)started and, for each of the last winBlocks blocks,
// L's lowest point with the counts up to it: the window-limited statistic
// is L − (lowest L in the window), the largest log-likelihood ratio of an
// excursion that started within the window. Fixed memory per chart.
type window struct {
	l      [nRises]float64
	blocks [winBlocks]winPoint // ring, blocks[head] the newest
	head   int
	n      int
	last   time.Time // start of the last bucket added
}

// winPoint is the lowest point of a block: where an excursion could start.
type winPoint struct {
	block time.Time
	l     [nRises]float64
	x, e  [nRises]float64 // the chart's counts (total, expected) up to it
	at    [nRises]int32   // the start of the excursion: seconds after block
}

func (p *winPoint) from(i int) time.Time { return p.block.Add(time.Duration(p.at[i]) * time.Second) }

func (p *winPoint) set(i int, l, x, e float64, t time.Time) {
	p.l[i], p.x[i], p.e[i], p.at[i] = l, x, e, int32(t.Sub(p.block)/time.Second)
}

// note records the point before the bucket starting at t (running sums
// l, counts x and e so far) as a possible start of an excursion.
func (w *window) note(t time.Time, x, e float64) {
	b := t.Truncate(winBlock)
	if w.n == 0 || !w.blocks[w.head].block.Equal(b) {
		w.head = (w.head + 1) % winBlocks
		w.n = min(w.n+1, winBlocks)
		p := &w.blocks[w.head]
		p.block = b
		for i := range p.l {
			p.set(i, w.l[i], x, e, t)
		}
		w.last = t
		return
	}
	p := &w.blocks[w.head]
	for i := range p.l {
		if w.l[i] < p.l[i] {
			p.set(i, w.l[i], x, e, t)
		}
	}
	w.last = t
}

// stat is chart i's window-limited statistic and the counts of its
// excursion (observed, expected since from), with total and expected the
// chart's counts so far. It is never above the CUSUM s (the statistic
// over every starting point since the chart started).
func (w *window) stat(i int, total, expected float64) (s, x, e float64, from time.Time) {
	cut := w.last.Add(-soakWindow)
	low := w.l[i]
	x0, e0, from := total, expected, w.last
	for k := range w.n {
		p := &w.blocks[(w.head-k+winBlocks)%winBlocks]
		if !p.block.After(cut) {
			break
		}
		if p.l[i] < low {
			low, x0, e0, from = p.l[i], p.x[i], p.e[i], p.from(i)
		}
	}
	return w.l[i] - low, total - x0, expected - e0, from
}

// seed starts a window from a chart's excursions (a chart restored from a
// snapshot, which keeps no window): each excursion as if it began at its
// start, so the window-limited statistic is the CUSUM until that start
// leaves the window.
func (w *window) seed(c *chart) {
	*w = window{}
	for i := range c.s {
		w.l[i] = c.s[i]
	}
	if c.s == ([nRises]float64{}) {
		return
	}
	oldest := time.Time{}
	for i := range c.s {
		if c.s[i] > 0 && (oldest.IsZero() || c.from[i].Before(oldest)) {
			oldest = c.from[i]
		}
	}
	w.head, w.n = 0, 1
	p := &w.blocks[0]
	p.block = oldest.Truncate(winBlock)
	for i := range c.s {
		// Lowest point: 0 at the start of an excursion (its from), or
		// the current value for a chart at 0.
		p.set(i, 0, c.total-c.x[i], c.expected-c.e[i], c.from[i])
		if c.s[i] == 0 {
			p.set(i, 0, c.total, c.expected, oldest)
		}
	}
	w.last = oldest
}

// soakStrictness: a completed release is halted in its soak only on
// evidence that would raise a false alarm ten times less often than the
// budget allows; below that a failing signal asks for a review.
const soakStrictness = 10

// strong reports whether some chart is over the soak's halting bar by
// its window-limited statistic (soakWindow), with at least minX counts in
// that window's excursion.
func (c *chart) strong() bool {
	return c.strongest() >= 0
}

// strongest returns the chart whose window-limited statistic is over the
// soak's bar furthest (with enough counts), or -1.
func (c *chart) strongest() int {
	best, bestR := -1, 0.0
	for i := range c.s {
		if c.hSoak <= 0 {
			continue
		}
		s, x, e, _ := c.windowed(i)
		if bar := c.soakBar(e); s >= bar && x >= c.minX && s/bar > bestR {
			best, bestR = i, s/bar
		}
	}
	return best
}

// soakBar is the soak's halting bar for an excursion of e expected
// events: hSoak, raised by the between-day variance of a long excursion.
// Counts that vary more than the model says are read as φ-fold events (the
// quasi-likelihood of Farrington et al. 1996, as for φ itself): the
// log-likelihood ratio shrinks by the excursion's dispersion relative to
// the one the threshold has, 1 + drift·e.
func (c *chart) soakBar(e float64) float64 {
	return c.hSoak * (1 + c.drift*max(e, 0))
}

// windowed is chart i's window-limited statistic and its excursion's
// counts: the CUSUM itself when the window's is higher (a window seeded
// from a restored chart can be, by a rounding).
func (c *chart) windowed(i int) (s, x, e float64, from time.Time) {
	s, x, e, from = c.win.stat(i, c.total, c.expected)
	if s >= c.s[i] {
		return c.s[i], c.x[i], c.e[i], c.from[i]
	}
	return s, x, e, from
}

// add folds one bucket starting at t: x observed, e expected.
func (c *chart) add(t time.Time, x, e float64) {
	c.win.note(t, c.total, c.expected)
	c.total += x
	c.expected += e
	for i := range c.s {
		if c.s[i] == 0 {
			c.from[i], c.x[i], c.e[i] = t, 0, 0
		}
		inc := x*cusumLogRises[i] - (CUSUMRises[i]-1)*e
		c.win.l[i] += inc
		v := c.s[i] + inc
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
	c.addShareWeighted(t, x, n, s, 1)
}

// addShareWeighted is addShare with each log-likelihood ratio taken at
// weight wt in (0, 1]: a bucket whose counts are more dispersed than the
// chart's threshold allows for (a quasi-likelihood with the bucket's own
// dispersion, φ/φ_t). The counts are kept as they are.
func (c *chart) addShareWeighted(t time.Time, x, n, s, wt float64) {
	e := s * n
	c.win.note(t, c.total, c.expected)
	c.total += x
	c.expected += e
	for i := range c.s {
		if c.s[i] == 0 {
			c.from[i], c.x[i], c.e[i] = t, 0, 0
		}
		inc := wt * (x*cusumLogRises[i] - n*math.Log1p(s*(CUSUMRises[i]-1)))
		c.win.l[i] += inc
		v := c.s[i] + inc
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

// soakNote says why a chart halts in a soak: its window-limited
// statistic over the soak's bar.
func (c *chart) soakNote() string {
	i := c.strongest()
	if i < 0 {
		return ""
	}
	s, x, e, from := c.windowed(i)
	return fmt.Sprintf("; in the soak: %.0f observed vs %.1f expected since %s within the last %s (×%.1f; window-limited CUSUM %.1f ≥ soak bar %.1f)",
		x, e, from.UTC().Format("15:04"), soakWindow, x/max(e, 1e-9), s, c.soakBar(e))
}

// carry continues p's excursions in c (a promotion, docs/judge.md §3):
// the CUSUMs and the window, whose counts are kept relative to c's own
// totals.
func (c *chart) carry(p *chart) {
	c.s, c.from, c.x, c.e = p.s, p.from, p.x, p.e
	c.win = p.win
	dx, de := c.total-p.total, c.expected-p.expected
	for k := range c.win.blocks {
		b := &c.win.blocks[k]
		for i := range b.x {
			b.x[i] += dx
			b.e[i] += de
		}
	}
}

func (c *chart) reset() {
	h, minX, hSoak, drift := c.h, c.minX, c.hSoak, c.drift
	*c = chart{h: h, minX: minX, hSoak: hSoak, drift: drift}
}

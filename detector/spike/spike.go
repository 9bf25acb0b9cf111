// Package spike is Aftershock's streaming univariate anomaly detector. The
// daemon runs one Detector per metric series, and `aftershock backtest` runs
// the same code over a recorded series, so a threshold tuned on history
// behaves the same live.
//
// Each point goes through four steps, using only the points before it:
//
//  1. Forecast. The step is learned from timestamps. Candidate models forecast
//     the value: the median of the last Window points, and for each seasonal
//     period (a day, a week) a slot-of-period profile plus the median of the
//     last Window deseasonalised points. The model with the lower long-run
//     error is used, so a daily rhythm is forecast, not flagged, and
//     a series without one is not forced into it. Medians absorb a sustained
//     level shift after about Window/2 points. Each model also learns the
//     lag-one autocorrelation of deviations from its median and adds that
//     share of the latest (clipped) deviation, so a slowly wandering series
//     (CPU, temperature) is followed while a jump away from it stands out.
//     Model choice compares mean squared (clipped) errors, so a model that
//     misses the same daily edge every day loses to one that knows it.
//  2. Normalise. The residual is divided by an exponentially weighted mean
//     absolute residual whose updates are clipped, so one spike barely moves
//     it while a lasting change of variance is learned. A floor derived from
//     the data's resolution (smallest step between values) keeps small
//     integer counts and constant series from dividing by zero.
//  3. Evidence. Four statistics (below), each turned into a tail
//     probability p learned on this series alone, give evidence -log10 p
//     against "normal".
//  4. Score. The score is the largest evidence divided by 10, capped at 1,
//     so it means the same on every series: 0.4 is p = 1e-4, 0.5 is 1e-5.
//     A point is labelled when its score reaches Threshold. After a label
//     the next Cooldown points score 0 and are not labelled (the rest
//     period of CAD-OSE), so an incident is reported once, at its start,
//     and a window-scored benchmark sees one early detection, not a train
//     of late ones; the run statistics restart.
//
// The four statistics:
//
//   - Point: the normalised residual. The last History residuals form an
//     empirical distribution; each tail is fitted with a generalised Pareto
//     distribution over its top TailFraction (peaks over threshold, Siffer
//     et al., "Anomaly detection in streams with extreme value theory", KDD
//     2017). Heavy-tailed series learn that big swings are normal; quiet
//     ones learn that they are not. Counts only when |z| reaches MinZ.
//   - Run: a CUSUM per direction of the point evidence less 1.5, over points
//     whose |z| reaches MinZ/2 (Page 1954). Several moderately rare points
//     in a row on one side (a burst, a shift) add up; by Siegmund's
//     approximation the CUSUM's height is itself about -log10 p.
//   - Shift: the mean of the last 10 deseasonalised values less their
//     ~200-point mean, over its typical size, with its own learned tails:
//     the averaged score of Numenta's anomaly likelihood (Ahmad et al.,
//     "Unsupervised real-time anomaly detection for streaming data", 2017)
//     with extreme-value tails instead of a normal. Counts from |z| 6.
//   - Novelty: a value beyond every value seen by more than 5% of their
//     range; among n exchangeable points a new extreme has p = 2/n. This is
//     the "spatial anomaly" Numenta adds to HTM for NAB, and what CAD-OSE's
//     fixed value bins see as a never-seen fact.
//
// Warm-up: the first WarmUp points (288 by default), and at least until 100
// residuals have been seen to fit the tails (about 110 points), score 0 and
// are not labelled. Meanwhile the detector learns the step, level, noise
// scale, seasonal profiles, tails and value range; Result.Warm says when it
// is over.
//
// Memory is bounded by the configuration, not by the series length.
package spike

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"
)

// Result is the verdict on one point.
type Result struct {
	// Score is in [0, 1]: the evidence against "normal" in -log10 p units
	// over 10, where p is the learned probability of a point (or of the run
	// or shift ending at it) at least this unusual. It is 0 during warm-up,
	// during the rest period after a label and for values that are not
	// finite.
	Score float64
	// Anomaly is true when Score reaches the threshold (at most once per
	// Cooldown points).
	Anomaly bool
	// Expected is the forecast the point was compared with.
	Expected float64
	// Direction is +1 when the value is above Expected, -1 when below.
	Direction int
	// Warm is true once the detector has seen enough points to score.
	Warm bool
}

// Confidence is 1 - p for the point's score: how sure the detector is that
// the point is not normal, on the 1 - p-value scale the judge's other
// anomalies use (a score of 0.4 is 0.9999).
func (r Result) Confidence() float64 {
	return 1 - math.Pow(10, -evidenceScale*r.Score)
}

// Detector scores one series point by point. It is not safe for concurrent
// use; the daemon keeps one per series.
type Detector struct {
	cfg Config
	s   state
	// scratch buffers so Update does not allocate (the History-long one
	// comes from histScratch, shared: it would double a detector's size).
	ringScratch []float64
	preds       []float64
	canPred     []bool
}

// histScratch holds *[]float64 buffers for fitting tails: needed for a
// moment, so one per goroutine instead of one per series.
var histScratch sync.Pool

func getScratch(n int) *[]float64 {
	if b, ok := histScratch.Get().(*[]float64); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]float64, n)
	return &b
}

// state is everything that must survive a restart.
type state struct {
	Version  int       `json:"version"`
	N        int64     `json:"n"`
	LastT    int64     `json:"last_t"` // unix nanoseconds of the latest point
	HasLast  bool      `json:"has_last"`
	Prev     float64   `json:"prev"`
	Res      float64   `json:"res"` // smallest non-zero |difference| seen
	Deltas   []int64   `json:"deltas"`
	DeltaN   int       `json:"delta_n"`
	DeltaI   int       `json:"delta_i"`
	Step     int64     `json:"step"` // nanoseconds, 0 until known
	Models   []model   `json:"models"`
	Sel      int       `json:"sel"`
	Hist     []float64 `json:"hist"`
	HistN    int       `json:"hist_n"`
	HistI    int       `json:"hist_i"`
	Up       tail      `json:"up"`
	Down     tail      `json:"down"`
	Fitted   bool      `json:"fitted"`
	SinceFit int       `json:"since_fit"`
	// Shift channels, one per time scale: the mean of the latest few
	// deseasonalised values against their long-run mean, each scored on its
	// own learned tails.
	Shifts   []shift `json:"shifts"`
	ShiftSel int     `json:"shift_sel"` // the model whose seasonality u removes
	// Rest counts down the points after a label that score 0.
	Rest int `json:"rest"`
	// Range of every value seen, for novelty.
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	HasSeen bool    `json:"has_seen"`
	// Run evidence (CUSUM of -log10 p, one per direction) for shifts and
	// bursts made of several moderately rare points in a row.
	RunUp   float64 `json:"run_up"`
	RunDown float64 `json:"run_down"`
}

const stateVersion = 2

// model is one forecaster: a median of recent (deseasonalised) values plus,
// when Period > 0, a slot-of-period profile.
type model struct {
	Period int64     `json:"period"` // nanoseconds, 0 for no seasonality
	Slots  int       `json:"slots"`  // 0 until the step is known
	Prof   []float64 `json:"prof,omitempty"`
	Seen   []bool    `json:"seen,omitempty"`
	Filled int       `json:"filled"`
	Ring   []float64 `json:"ring"`
	RingN  int       `json:"ring_n"`
	RingI  int       `json:"ring_i"`
	Err    float64   `json:"err"`  // fast EW mean |residual|: the scale
	Perf   float64   `json:"perf"` // slow EW mean squared clipped residual: for model choice
	ErrN   int       `json:"err_n"`
	// Short-term memory: the latest deviation from the ring median (clipped)
	// and EW moments that estimate its lag-one autocorrelation.
	Dev    float64 `json:"dev"`
	HasDev bool    `json:"has_dev"`
	C0     float64 `json:"c0"` // EW mean of dev(t-1)^2
	C1     float64 `json:"c1"` // EW mean of dev(t)*dev(t-1)
	DevN   int     `json:"dev_n"`
	// level cache: the ring's median at point lvlAt (not persisted).
	lvl   float64
	lvlAt int64
}

// channel is a history of one normalised statistic and the tails fitted
// to it.
type channel struct {
	Hist     []float64 `json:"hist"`
	N        int       `json:"n"`
	I        int       `json:"i"`
	Up       tail      `json:"up"`
	Down     tail      `json:"down"`
	Fitted   bool      `json:"fitted"`
	SinceFit int       `json:"since_fit"`
}

// p is the fitted tail probability of a statistic at least as extreme as x
// in its direction.
func (c *channel) p(x float64) float64 {
	if x >= 0 {
		return c.Up.p(x)
	}
	return c.Down.p(-x)
}

// add records x and refits the tails when due, using scratch (len >= len(Hist)).
func (c *channel) add(x float64, frac float64, scratch []float64) {
	c.Hist[c.I] = x
	c.I = (c.I + 1) % len(c.Hist)
	if c.N < len(c.Hist) {
		c.N++
	}
	c.SinceFit++
	if c.N >= minHist && (c.SinceFit >= refitEvery || !c.Fitted || c.N < 4*minHist && c.SinceFit >= 4) {
		buf := scratch[:c.N]
		copy(buf, c.Hist[:c.N])
		c.Up = fitTail(buf, frac)
		for i := range buf {
			buf[i] = -c.Hist[i]
		}
		c.Down = fitTail(buf, frac)
		c.Fitted, c.SinceFit = true, 0
	}
}

// tail is a generalised Pareto fit of one side of the residual distribution.
type tail struct {
	U     float64 `json:"u"`     // threshold
	Sigma float64 `json:"sigma"` // scale
	Xi    float64 `json:"xi"`    // shape
	Frac  float64 `json:"frac"`  // share of residuals above U
}

const (
	errAlpha     = 0.02  // scale adapts over ~50 points
	perfAlpha    = 0.005 // model choice looks at ~200 points
	clipErr      = 5.0   // residuals clipped at this many scales when learning the scale
	clipProf     = 3.0   // and at this many when learning a profile slot
	profRate     = 0.3   // per-visit learning rate of a profile slot
	switchMargin = 0.9   // a model must be 10% better to take over
	minErrN      = 100   // points a model must forecast before it may be chosen
	minHist      = 100   // residuals needed before the tail is trusted
	refitEvery   = 64    // points between tail fits
	sigmaFloor   = 0.25  // smallest tail scale, in z units
	maxXi        = 0.45
	maxAbsZ      = 1e12
	stepSamples  = 15
	minStepN     = 5
	clipDev      = 3.0 // deviations clipped at this many scales for the short-term memory
	maxPhi       = 0.9 // largest lag-one autocorrelation used
	minDevN      = 50  // deviations seen before the autocorrelation is used
	// evidenceScale maps evidence to the score: score = evidence/evidenceScale,
	// so a score of 0.5 means p = 1e-5 whatever the series.
	evidenceScale = 10.0
	minP          = 1e-300
	shortN        = 10 // points in the shift statistic's short mean (Numenta's averaging window)
)

// New returns a Detector for cfg. cfg is validated (and defaulted) first; an
// invalid cfg panics, so callers should call cfg.Validate themselves when it
// comes from users.
func New(cfg Config) *Detector {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("spike: invalid config: %v", err))
	}
	d := &Detector{cfg: cfg}
	d.s = state{
		Version: stateVersion,
		Deltas:  make([]int64, stepSamples),
		Hist:    make([]float64, cfg.History),
		Models:  make([]model, 1+len(cfg.Periods)),
	}
	for _, sc := range shiftScales {
		d.s.Shifts = append(d.s.Shifts, shift{Short: make([]float64, sc.n), Chan: channel{Hist: make([]float64, cfg.History)}})
	}
	for i := range d.s.Models {
		m := &d.s.Models[i]
		if i > 0 {
			m.Period = int64(cfg.Periods[i-1])
		}
		m.Ring = make([]float64, cfg.Window)
	}
	d.ringScratch = make([]float64, cfg.Window)
	d.preds = make([]float64, len(d.s.Models))
	d.canPred = make([]bool, len(d.s.Models))
	return d
}

// Footprint is the detector's approximate size in memory, in bytes. It is
// bounded by the configuration (History, Window, Periods, BinsPerDay), not
// by the length of the series.
func (d *Detector) Footprint() int {
	const f = 8
	n := int(unsafe.Sizeof(*d))
	s := &d.s
	n += f*(len(s.Deltas)+len(s.Hist)) + f*(len(d.ringScratch)+len(d.preds)) + len(d.canPred)
	for _, sh := range s.Shifts {
		n += int(unsafe.Sizeof(sh)) + f*(len(sh.Short)+len(sh.Chan.Hist))
	}
	for _, m := range s.Models {
		n += int(unsafe.Sizeof(m)) + f*(len(m.Prof)+len(m.Ring)) + len(m.Seen)
	}
	return n
}

// Config returns the validated configuration the detector runs with.
func (d *Detector) Config() Config { return d.cfg }

// Update feeds the point (t, v) and returns the verdict on it, computed from
// the points before it only. Values that are not finite are skipped: they
// score 0 and leave the state unchanged.
func (d *Detector) Update(t time.Time, v float64) Result {
	s := &d.s
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Result{Warm: d.warm()}
	}
	d.learnStep(t)
	s.N++

	// Forecast with every model that can.
	for i := range s.Models {
		d.preds[i], d.canPred[i] = d.forecast(&s.Models[i], t)
	}
	d.choose()
	sel := &s.Models[s.Sel]
	pred := d.preds[s.Sel]
	r := v - pred
	floor := d.floor(pred)
	scale := math.Max(sel.Err, floor)
	z := 0.0
	if sel.ErrN > 0 || floor > 0 {
		z = r / scale
	}
	z = math.Max(-maxAbsZ, math.Min(maxAbsZ, z))

	res := Result{Expected: pred, Direction: 1, Warm: d.warm()}
	if s.Sel != s.ShiftSel {
		// The deseasonalised values change meaning with the model: start
		// the means afresh (the learned tails stay).
		s.ShiftSel = s.Sel
		for i := range s.Shifts {
			s.Shifts[i].restart()
		}
	}
	u := v - d.baseOf(sel, t)

	if r < 0 {
		res.Direction = -1
	}
	if res.Warm {
		var p float64
		if z >= 0 {
			p = s.Up.p(z)
		} else {
			p = s.Down.p(-z)
		}
		ev := 0.0 // evidence against "normal", in -log10 p units
		if math.Abs(z) >= d.cfg.MinZ {
			ev = -math.Log10(math.Max(p, minP))
		}
		if run := d.run(z, p); run > ev {
			ev = run
		}
		if nov := d.novelty(v); nov > ev {
			ev = nov
		}
		for i := range s.Shifts {
			if sh := s.Shifts[i].evidence(u, floor); sh > ev {
				ev = sh
			}
		}
		score := math.Min(1, ev/evidenceScale)
		if s.Rest > 0 {
			s.Rest--
			score = 0
		}
		res.Score = score
		if score >= d.cfg.Threshold {
			res.Anomaly = true
			s.Rest = d.cfg.Cooldown
			s.RunUp, s.RunDown = 0, 0
		}
	}

	// Learn from the point.
	if s.N > 1 {
		if diff := math.Abs(v - s.Prev); diff > 0 && (s.Res == 0 || diff < s.Res) {
			s.Res = diff
		}
	}
	s.Prev = v
	if !s.HasSeen || v < s.Min {
		s.Min = v
	}
	if !s.HasSeen || v > s.Max {
		s.Max = v
	}
	s.HasSeen = true
	// A residual is only comparable to others once its scale has been
	// learned from a few points.
	if sel.ErrN >= d.cfg.Window {
		s.Hist[s.HistI] = z
		s.HistI = (s.HistI + 1) % len(s.Hist)
		if s.HistN < len(s.Hist) {
			s.HistN++
		}
		s.SinceFit++
		if s.HistN >= minHist && (s.SinceFit >= refitEvery || !s.Fitted || s.HistN < 4*minHist) {
			d.fitTails()
		}
	}
	for i := range s.Models {
		d.learn(&s.Models[i], t, v, d.preds[i], d.canPred[i], floor)
	}
	scratch := getScratch(len(s.Hist))
	for i := range s.Shifts {
		s.Shifts[i].learn(u, floor, shiftScales[i].alpha, d.cfg.TailFraction, *scratch)
	}
	histScratch.Put(scratch)
	return res
}

// run adds the point's evidence to the run statistic of its direction and
// returns that statistic: a CUSUM of -log10 p less runSlack per point,
// counting only points whose |z| reaches MinZ/2. Several moderately rare
// points in a row on the same side (a level shift, a burst) add up to the
// evidence one very rare point gives, while isolated ones decay away.
func (d *Detector) run(z, p float64) float64 {
	s := &d.s
	ev := 0.0
	if math.Abs(z) >= runZ*d.cfg.MinZ {
		ev = -math.Log10(math.Max(p, 1e-300))
	}
	up, down := &s.RunUp, &s.RunDown
	if z < 0 {
		up, down = down, up
	}
	*up = math.Max(0, *up+ev-runSlack)
	*down = math.Max(0, *down-runSlack)
	return *up
}

// Fixed parameters of the evidence channels, chosen on the tuning halves
// (EVALUATION.md). They are variables only so that TestTuneQuality can try
// alternatives; nothing else changes them.
var (
	noveltyTolerance = 0.05 // share of the seen range a value must pass to be novel
	runSlack         = 1.5  // evidence (-log10 p) a point must exceed to add to a run
	runZ             = 0.5  // share of MinZ a point's |z| must reach to add to a run
	// shiftScales are the shift channels: 10 points (Numenta's averaging
	// window) against ~200.
	shiftScales = []shiftScale{{10, 0.005}}
	shiftMinZ   = 6.0 // smallest |shift z| that counts as evidence
)

// baseOf is the seasonal part of model m's forecast at t (0 without one).
func (d *Detector) baseOf(m *model, t time.Time) float64 {
	if m.Period == 0 || m.Slots <= 0 {
		return 0
	}
	b := m.slot(t)
	if !m.Seen[b] {
		return 0
	}
	return m.profAt(b)
}

// shift is one time scale of the shift statistic: the mean of the latest
// len(Short) deseasonalised values less their long-run (exponentially
// weighted) mean, over the statistic's typical size. It is the averaged
// score of Numenta's anomaly likelihood (Ahmad et al. 2017), scored with
// learned generalised Pareto tails instead of a normal.
type shift struct {
	Short []float64 `json:"short"`
	N     int       `json:"n"`
	I     int       `json:"i"`
	Sum   float64   `json:"sum"`
	Long  float64   `json:"long"`
	LongN int       `json:"long_n"`
	Err   float64   `json:"err"`
	ErrN  int       `json:"err_n"`
	Chan  channel   `json:"chan"`
}

// shiftScale is the short window and the long mean's rate of a shift.
type shiftScale struct {
	n     int
	alpha float64
}

func (sh *shift) restart() {
	sh.N, sh.I, sh.Sum, sh.LongN = 0, 0, 0, 0
	clear(sh.Short)
}

// stat is the unnormalised statistic with u as the newest value; ok is false
// until both means are learned.
func (sh *shift) stat(u float64) (float64, bool) {
	n := len(sh.Short)
	if sh.N < n-1 || sh.LongN < n {
		return 0, false
	}
	sum := sh.Sum + u
	if sh.N == n {
		sum -= sh.Short[sh.I] // the oldest value leaves the window
	}
	return sum/float64(n) - sh.Long, true
}

func (sh *shift) scale(floor float64) float64 {
	return math.Max(sh.Err, floor/math.Sqrt(float64(len(sh.Short))))
}

// evidence is -log10 of the learned tail probability of the statistic with u
// as the newest value, 0 while it is not learned or below shiftMinZ.
func (sh *shift) evidence(u, floor float64) float64 {
	st, ok := sh.stat(u)
	if !ok || sh.ErrN == 0 || !sh.Chan.Fitted {
		return 0
	}
	z := st / sh.scale(floor)
	if math.Abs(z) < shiftMinZ {
		return 0
	}
	return -math.Log10(math.Max(sh.Chan.p(z), minP))
}

// learn adds u.
func (sh *shift) learn(u, floor, alpha, frac float64, scratch []float64) {
	if st, ok := sh.stat(u); ok {
		sc := sh.scale(floor)
		if sh.ErrN > 0 {
			sh.Chan.add(st/sc, frac, scratch)
		}
		a := math.Abs(st)
		if sh.ErrN > 0 {
			a = math.Min(a, clipErr*sc)
		}
		sh.ErrN++
		sh.Err += math.Max(errAlpha, 1/float64(sh.ErrN)) * (a - sh.Err)
	}
	sh.LongN++
	sh.Long += math.Max(alpha, 1/float64(sh.LongN)) * (u - sh.Long)
	n := len(sh.Short)
	if sh.N == n {
		sh.Sum -= sh.Short[sh.I]
	} else {
		sh.N++
	}
	sh.Short[sh.I] = u
	sh.Sum += u
	sh.I = (sh.I + 1) % n
	if sh.I == 0 {
		// recompute the running sum exactly once per lap
		sh.Sum = 0
		for _, x := range sh.Short {
			sh.Sum += x
		}
	}
}

// novelty is the evidence (-log10 p) that v lies outside every value seen so
// far by more than noveltyTolerance of their range: under exchangeability a
// new extreme among n+1 points has probability 1/(n+1) per side. This is
// the "spatial anomaly" Numenta adds to HTM's score in NAB, and what
// CAD-OSE's fixed value bins see as a never-seen fact.
func (d *Detector) novelty(v float64) float64 {
	s := &d.s
	if !s.HasSeen {
		return 0
	}
	tol := noveltyTolerance * (s.Max - s.Min)
	if v > s.Max+tol || v < s.Min-tol {
		return math.Log10(float64(s.N) / 2)
	}
	return 0
}

func (d *Detector) warm() bool {
	return d.s.Fitted && d.s.N > int64(d.cfg.WarmUp)
}

// floor is the smallest scale a residual is divided by: half the data's
// resolution (1 for counts), or a tiny share of the level.
func (d *Detector) floor(pred float64) float64 {
	return math.Max(0.5*d.s.Res, 1e-9*(1+math.Abs(pred)))
}

// learnStep updates the median spacing of recent timestamps and, once it is
// known, sizes the seasonal profiles.
func (d *Detector) learnStep(t time.Time) {
	s := &d.s
	ns := t.UnixNano()
	if s.HasLast {
		if dt := ns - s.LastT; dt > 0 {
			s.Deltas[s.DeltaI] = dt
			s.DeltaI = (s.DeltaI + 1) % len(s.Deltas)
			if s.DeltaN < len(s.Deltas) {
				s.DeltaN++
			}
			if s.DeltaN >= minStepN {
				s.Step = medianInt(s.Deltas[:s.DeltaN])
			}
		}
	}
	if !s.HasLast || ns > s.LastT {
		s.LastT, s.HasLast = ns, true
	}
	if s.Step == 0 {
		return
	}
	for i := range s.Models {
		m := &s.Models[i]
		if m.Period == 0 || m.Slots != 0 {
			continue
		}
		perPeriod := m.Period / s.Step
		if perPeriod < 4 {
			m.Slots = -1 // too coarse a step to see this rhythm
			continue
		}
		slots := int64(d.cfg.BinsPerDay) * m.Period / int64(24*time.Hour)
		slots = max(4, min(slots, perPeriod, maxSlots))
		m.Slots = int(slots)
		m.Prof = make([]float64, slots)
		m.Seen = make([]bool, slots)
	}
}

func (m *model) slot(t time.Time) int {
	phase := t.UnixNano() % m.Period
	if phase < 0 {
		phase += m.Period
	}
	return int(float64(phase) / float64(m.Period) * float64(m.Slots))
}

// profAt is the profile at slot b, which must have been seen: the median of
// it and its seen neighbours, which smooths noise without blurring a sharp
// daily edge (a shift starting at 08:00).
func (m *model) profAt(b int) float64 {
	var v [3]float64
	n := 0
	for _, j := range [3]int{b - 1, b, b + 1} {
		j = (j + m.Slots) % m.Slots
		if m.Seen[j] {
			v[n] = m.Prof[j]
			n++
		}
	}
	switch n {
	case 3:
		return max(min(v[0], v[1]), min(max(v[0], v[1]), v[2]))
	case 2:
		return (v[0] + v[1]) / 2
	}
	return v[0]
}

// forecast returns the model's forecast for time t and whether it has one.
func (d *Detector) forecast(m *model, t time.Time) (float64, bool) {
	base := 0.0
	if m.Period > 0 {
		if m.Slots <= 0 {
			return 0, false
		}
		b := m.slot(t)
		if !m.Seen[b] {
			return 0, false
		}
		base = m.profAt(b)
	}
	if m.RingN == 0 {
		if m.Period == 0 {
			return d.s.Prev, false
		}
		return base, true
	}
	return base + d.level(m) + m.phi()*m.Dev, true
}

// level is the median of the model's ring of deseasonalised values.
// It is computed once per point: forecast and learn share it.
func (d *Detector) level(m *model) float64 {
	if m.lvlAt == d.s.N {
		return m.lvl
	}
	buf := d.ringScratch[:m.RingN]
	copy(buf, m.Ring[:m.RingN])
	m.lvl, m.lvlAt = median(buf), d.s.N
	return m.lvl
}

// phi is the learned lag-one autocorrelation of deviations from the level,
// in [0, maxPhi]; 0 until enough points were seen. Autocorrelated series
// (CPU, temperature) are then forecast from their latest deviation, so a
// slow wander is not a surprise while a jump from it is.
func (m *model) phi() float64 {
	if !m.HasDev || m.DevN < minDevN || m.C0 <= 0 {
		return 0
	}
	return math.Max(0, math.Min(maxPhi, m.C1/m.C0))
}

// choose picks the model with the lowest long-run error, with hysteresis.
func (d *Detector) choose() {
	s := &d.s
	eligible := func(i int) bool {
		m := &s.Models[i]
		if !d.canPred[i] {
			return false
		}
		if i == 0 {
			return true
		}
		return m.ErrN >= minErrN && m.Filled*10 >= m.Slots*9
	}
	if !eligible(s.Sel) {
		s.Sel = 0
	}
	for i := range s.Models {
		if i != s.Sel && eligible(i) && s.Models[i].Perf < switchMargin*s.Models[s.Sel].Perf {
			s.Sel = i
		}
	}
}

// learn updates one model with the value v it forecast as pred.
func (d *Detector) learn(m *model, t time.Time, v, pred float64, ok bool, floor float64) {
	scale := math.Max(m.Err, floor)
	if ok {
		a := math.Abs(v - pred)
		if m.ErrN > 0 {
			a = math.Min(a, clipErr*scale)
		}
		m.ErrN++
		ea := math.Max(errAlpha, 1/float64(m.ErrN))
		pa := math.Max(perfAlpha, 1/float64(m.ErrN))
		m.Err += ea * (a - m.Err)
		m.Perf += pa * (a*a - m.Perf)
	}
	base := 0.0
	if m.Period > 0 {
		if m.Slots <= 0 {
			return
		}
		b := m.slot(t)
		if !m.Seen[b] {
			m.Seen[b], m.Prof[b] = true, v
			m.Filled++
		} else {
			diff := v - m.Prof[b]
			if m.ErrN > 0 {
				c := clipProf * scale
				diff = math.Max(-c, math.Min(c, diff))
			}
			m.Prof[b] += profRate * diff
		}
		base = m.profAt(b)
	}
	if m.RingN > 0 {
		dev := v - base - d.level(m)
		c := clipDev * scale
		dev = math.Max(-c, math.Min(c, dev))
		if m.HasDev {
			m.DevN++
			a := math.Max(perfAlpha, 1/float64(m.DevN))
			m.C0 += a * (m.Dev*m.Dev - m.C0)
			m.C1 += a * (dev*m.Dev - m.C1)
		}
		m.Dev, m.HasDev = dev, true
	}
	m.Ring[m.RingI] = v - base
	m.lvlAt = -1
	m.RingI = (m.RingI + 1) % len(m.Ring)
	if m.RingN < len(m.Ring) {
		m.RingN++
	}
}

// fitTails fits both tails of the residual history.
func (d *Detector) fitTails() {
	s := &d.s
	n := s.HistN
	scratch := getScratch(n)
	defer histScratch.Put(scratch)
	buf := (*scratch)[:n]
	copy(buf, s.Hist[:n])
	s.Up = fitTail(buf, d.cfg.TailFraction)
	for i := range buf {
		buf[i] = -s.Hist[i]
	}
	s.Down = fitTail(buf, d.cfg.TailFraction)
	s.Fitted, s.SinceFit = true, 0
}

// fitTail fits a generalised Pareto tail to the largest values of buf by the
// method of moments. buf is reordered.
func fitTail(buf []float64, frac float64) tail {
	n := len(buf)
	k := max(int(math.Ceil(frac*float64(n))), 10)
	k = min(k, n-1)
	selectDesc(buf, k)
	u := buf[k]
	var sum, sum2 float64
	for _, x := range buf[:k] {
		e := x - u
		sum += e
		sum2 += e * e
	}
	mean := sum / float64(k)
	variance := sum2/float64(k) - mean*mean
	xi := 0.0
	if variance > 0 && mean > 0 {
		xi = 0.5 * (1 - mean*mean/variance)
	}
	xi = math.Max(0, math.Min(maxXi, xi))
	sigma := math.Max(sigmaFloor, mean*(1-xi))
	return tail{U: u, Sigma: sigma, Xi: xi, Frac: float64(k) / float64(n)}
}

// p is the fitted probability of a value at least s.
func (tl tail) p(s float64) float64 {
	x := (s - tl.U) / tl.Sigma
	if x <= 0 {
		return math.Min(1, tl.Frac*math.Exp(-x))
	}
	if tl.Xi < 1e-9 {
		return tl.Frac * math.Exp(-x)
	}
	return tl.Frac * math.Pow(1+tl.Xi*x, -1/tl.Xi)
}

// MarshalBinary encodes the detector's learned state (JSON), so the daemon
// can persist it and resume with UnmarshalBinary.
func (d *Detector) MarshalBinary() ([]byte, error) {
	b, err := json.Marshal(&d.s)
	if err != nil {
		return nil, fmt.Errorf("encoding spike state: %w", err)
	}
	return b, nil
}

// UnmarshalBinary restores state written by MarshalBinary into a detector
// made by New with the same Window, History and Periods.
func (d *Detector) UnmarshalBinary(b []byte) error {
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decoding spike state: %w", err)
	}
	if s.Version != stateVersion {
		return fmt.Errorf("decoding spike state: version %d, want %d", s.Version, stateVersion)
	}
	if len(s.Hist) != d.cfg.History || len(s.Deltas) != stepSamples || len(s.Models) != 1+len(d.cfg.Periods) {
		return fmt.Errorf("decoding spike state: state was made with another history or periods config")
	}
	if len(s.Shifts) != len(shiftScales) {
		return fmt.Errorf("decoding spike state: state has %d shift channels, want %d", len(s.Shifts), len(shiftScales))
	}
	for i, sh := range s.Shifts {
		if len(sh.Short) != shiftScales[i].n || len(sh.Chan.Hist) != d.cfg.History {
			return fmt.Errorf("decoding spike state: shifts[%d] does not match the history config", i)
		}
	}
	for i, m := range s.Models {
		want := int64(0)
		if i > 0 {
			want = int64(d.cfg.Periods[i-1])
		}
		if m.Period != want || len(m.Ring) != d.cfg.Window || len(m.Prof) != max(m.Slots, 0) || len(m.Seen) != len(m.Prof) {
			return fmt.Errorf("decoding spike state: models[%d] does not match the window or periods config", i)
		}
	}
	d.s = s
	return nil
}

package detector

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Error counts (issue 11, item 3): the new version's errors among its
// requests, judged with a Bernoulli CUSUM of the error odds — the chart of
// negative_share (Steiner, Cook, Farewell & Treasure 2000, after Reynolds &
// Stoumbos 1999) on a count pair (Config.ErrorCounts: two metric samples
// whose values are counts over their interval, errors and requests).
//
// Per bucket (minute) the chart takes the new version's x errors among n
// requests, and the other cohort's y errors among m requests (samples of
// another version or none, running at the same time), and adds for each
// design odds ratio ρ
//
//   - with a concurrent cohort (m > 0): x·ln ρ − (x+y)·ln(1 − π + π·ρ),
//     π = n / (n + m). Given the bucket's x + y errors, the new version's
//     share of them is Binomial(x + y, π) when both run at the same error
//     ratio (Przyborowski & Wilenski 1940, the conditional test of two
//     Poisson counts); an error ratio ρ times the old one's odds makes it
//     Binomial(x + y, π·ρ / (1 − π + π·ρ)). Errors that hit both cohorts —
//     a dependency's outage, a network blip — cancel, as in Kayenta's
//     advice to compare the canary with a baseline running at the same
//     time, not with the past.
//   - without one (m = 0: the release is everywhere): x·ln ρ −
//     n·ln(1 − p + p·ρ), p the old cohort's error ratio in the baseline
//     hours (an upper estimate, like the sparse social signals). Only this
//     form can be fooled by a dependency's outage: nothing runs beside
//     the release to tell the two apart. So an alarm with buckets of this
//     form in its excursion halts on its own only once the excess has
//     lasted (persists): a burst of a few minutes — the commonest
//     dependency failure — is over by then, a regression is not.
//
// Both are log-likelihood ratios of a Bernoulli model whose events are the
// new version's errors, so the threshold comes from the same simulated
// table as every chart (cusum_table.go), for the expected errors of the
// new version per run length (see countThreshold), and with the
// dispersion of the old cohort's errors in the baseline hours.

// recentBuckets is the span over which an excess judged against the
// baseline hours must persist before it halts on its own (persists): the
// metrics' recent window, 10 one-minute buckets.
const recentBuckets = 10

// persistBuckets of the last recentBuckets minutes must favour the risen
// odds for an excess judged against the baseline hours to halt.
const persistBuckets = 8

// minErrorEvidence is the least number of the new version's errors in an
// excursion before the chart may alarm.
const minErrorEvidence = minCountEvidence

// counts are one bucket's (or a span's) counts of a pair: the new
// version's errors x among its requests n, the other cohort's errors y
// among its requests m.
type counts struct{ x, n, y, m float64 }

func (c *counts) add(o counts) { c.x += o.x; c.n += o.n; c.y += o.y; c.m += o.m }

// addSample counts one sample named name of pair p: errors or requests,
// of the new version (canary) or of the other cohort. A sample of
// neither of the pair's names is not counted.
func (c *counts) addSample(p CountPair, name string, canary bool, v float64) {
	switch {
	case name == p.Errors && canary:
		c.x += v
	case name == p.Errors:
		c.y += v
	case name == p.Requests && canary:
		c.n += v
	case name == p.Requests:
		c.m += v
	}
}

// countBase is what an error-count chart expects, fixed at the ring start
// from the other cohort's counts in the baseline hours before it.
type countBase struct {
	ok       bool
	detail   string // why there is none
	minutes  float64
	errors   float64
	requests float64
	p        float64 // upper estimate of the error ratio
	reqRate  float64 // requests per minute
	phi      float64 // dispersion of the errors given the requests
	bursts   int32   // 5-minute blocks set aside as bursts (robustDispersion)
}

// countWatch is the error-count chart of one pair in one watch.
type countWatch struct {
	base *countBase
	c    chart
	// In each ρ's current excursion: the new version's requests, the
	// other cohort's errors and requests (c.x and c.e hold the new
	// version's errors and their expectation).
	n, y, m [nRises]float64
	// solo counts the buckets of each excursion judged against the
	// baseline hours (no other cohort running): see persists.
	solo [nRises]int32
	// recent are the counts of the last recentBuckets buckets in which
	// the new version had requests (a ring, pos the next slot), for
	// persists.
	recent  [recentBuckets]counts
	pos     int32
	next    time.Time // the next bucket to fold
	late    counts    // samples that came after their bucket was folded
	total   counts    // since the watch started (or re-opened)
	minutes int32     // buckets in which the new version had requests
	share   float64   // the new version's share of the traffic h was set for
	asOf    time.Time // restored: samples before it are counted already
}

// validCount reports whether v can be a count: non-negative, finite and
// at most signals.MaxCount (one absurd sample summed into a bucket made
// the statistic NaN, and the chart passed a regression for the rest of the
// watch).
func validCount(v float64) bool { return v >= 0 && v <= signals.MaxCount }

// countsIn sums pair p's samples in [from, to) by cohort.
func (d *Detector) countsIn(w *watch, s *service, p CountPair, from, to time.Time) (c counts) {
	for _, name := range []string{p.Errors, p.Requests} {
		xs := s.metrics[name]
		for i := sampleIndex(xs, from); i < len(xs) && xs[i].t.Before(to); i++ {
			c.addSample(p, name, w.isCanary(xs[i]), xs[i].value)
		}
	}
	return c
}

// countBaselines fixes the baseline of each count pair of a watch the
// first time it is asked (at the ring start), from the other cohort's
// counts in the baseline hours before it.
func (d *Detector) countBaselines(w *watch, s *service) {
	if len(d.cfg.ErrorCounts) == 0 || s == nil {
		return
	}
	if w.counts == nil {
		w.counts = make([]countWatch, len(d.cfg.ErrorCounts))
	}
	for i := range w.counts {
		if w.counts[i].base == nil {
			w.counts[i].base = d.countBaseline(w, s, d.cfg.ErrorCounts[i])
			if w.counts[i].base.ok {
				d.countThreshold(w, &w.counts[i], w.ring.Exposure)
			}
		}
	}
}

func (d *Detector) countBaseline(w *watch, s *service, p CountPair) *countBase {
	b := &countBase{phi: 1}
	from := w.start.Add(-d.cfg.Baseline)
	xs := s.metrics[p.Requests]
	first := time.Time{}
	for i := sampleIndex(xs, from); i < len(xs) && xs[i].t.Before(w.start); i++ {
		if !w.isCanary(xs[i]) {
			first = xs[i].t
			break
		}
	}
	if first.IsZero() {
		b.detail = fmt.Sprintf("no %s counts before the ring started: no baseline", p.Requests)
		return b
	}
	from = maxTime(from, first.Truncate(d.cfg.Bucket))
	minutes := w.start.Sub(from).Minutes()
	if minutes < d.cfg.MinBaseline.Minutes() {
		b.detail = fmt.Sprintf("baseline has %.0f min of %s counts, needs %s", minutes, p.Requests, d.cfg.MinBaseline)
		return b
	}
	blocks := d.countBlocks(w, s, p, from)
	var tot counts
	for _, c := range blocks {
		tot.add(c)
	}
	if tot.m <= 0 {
		b.detail = fmt.Sprintf("no %s of the old cohort before the ring started: no baseline", p.Requests)
		return b
	}
	phi, bursts, kept := robustDispersion(blocks, tot)
	b.ok, b.minutes, b.errors, b.requests, b.phi, b.bursts = true, minutes, kept.y, kept.m, phi, bursts
	b.p = min(upper(int32(min(kept.y, math.MaxInt32-2)))/kept.m, 0.95)
	b.reqRate = tot.m / minutes
	return b
}

// countBlocks are the other cohort's counts in the 5-minute blocks of the
// baseline hours [from, ring start), the last one possibly shorter.
func (d *Detector) countBlocks(w *watch, s *service, p CountPair, from time.Time) []counts {
	const block = 5 * time.Minute
	var out []counts
	for t := from; t.Before(w.start); t = t.Add(block) {
		out = append(out, d.countsIn(w, s, p, t, minTime(t.Add(block), w.start)))
	}
	return out
}

// robustDispersion estimates how much more the old cohort's errors vary,
// given its requests, than binomial counts: the dispersion φ of the
// quasi-likelihood model, from the Pearson statistic Σ(y − r·m)² / Σ r·m
// over 5-minute blocks (as Farrington et al. 1996), but so that a few
// bursts do not set it: a first, robust φ from the median of the blocks'
// Pearson residuals r² over the median of χ²(1) (0.455) finds the blocks
// whose excess is beyond the 0.1 % tail of the model (r² > 10.83 φ); they
// are set aside as bursts, and the ratio and the Pearson statistic are
// taken over the other blocks. Bursts that hit every
// cohort at once — a dependency's outage — are what the concurrent form of
// the chart cancels, and a Pearson statistic over the whole baseline let
// one such burst set φ to its ceiling (10: a chart that can no longer see
// anything). Clamped to [1, 10]; 1 with fewer than 20 errors.
func robustDispersion(blocks []counts, tot counts) (phi float64, bursts int32, kept counts) {
	kept = tot
	if tot.y < 20 || len(blocks) < 6 {
		return 1, 0, kept
	}
	ratio := tot.y / tot.m
	var r2 []float64
	for _, c := range blocks {
		if mu := ratio * c.m; mu > 0 {
			r2 = append(r2, (c.y-mu)*(c.y-mu)/mu)
		}
	}
	if len(r2) == 0 {
		return 1, 0, kept
	}
	robust := max(median(r2)/0.455, 1)
	kept = counts{}
	var keptBlocks []counts
	for _, c := range blocks {
		if mu := ratio * c.m; c.y > mu && (c.y-mu)*(c.y-mu) > 10.83*robust*mu {
			bursts++
			continue
		}
		kept.add(c)
		keptBlocks = append(keptBlocks, c)
	}
	if kept.m <= 0 || kept.y <= 0 {
		return min(robust, 10), bursts, tot
	}
	ratio = kept.y / kept.m
	var sq, expected float64
	for _, c := range keptBlocks {
		mu := ratio * c.m
		sq += (c.y - mu) * (c.y - mu)
		expected += mu
	}
	return min(max(sq/expected, 1), 10), bursts, kept
}

// countThreshold sets the chart's h from the budget, like thresholds: an
// in-control run length of k × false_halt_every (k the halting charts of
// the watch, budgetCharts) in the new version's expected errors — the
// baseline's error ratio × its requests per minute × the new version's
// share of the traffic: the ring's configured exposure, or the share it
// was seen to have when that is larger (h only rises: a canary that takes
// more of the traffic than configured makes more errors per minute, and
// its run length in errors must be longer for the same one in time).
func (d *Detector) countThreshold(w *watch, cw *countWatch, share float64) {
	b := cw.base
	share = min(max(share, 1e-4), 1)
	cw.share = share
	lam := b.p * b.reqRate * share // expected errors of the new version per minute
	arl := d.cfg.FalseHaltEvery.Minutes() * float64(d.budgetCharts(w))
	per := d.cfg.Bucket.Minutes()
	phi := cw.dispersion()
	h := phi * cusumThreshold(lam*arl/phi, lam*per/phi)
	hs := phi * cusumThreshold(soakStrictness*lam*arl/phi, lam*per/phi)
	cw.c.h, cw.c.hSoak, cw.c.minX = max(cw.c.h, h), max(cw.c.hSoak, hs), minErrorEvidence
}

// dispersion is the φ the chart's threshold is set with: the old cohort's
// dispersion in the baseline hours, scaled to the new version's share of
// the traffic. Error counts are overdispersed as a negative binomial's,
// variance μ + μ²/κ (Lawless 1987: a gamma-distributed rate), so a cohort
// with a share s of the requests — s times the old cohort's expected
// errors — has dispersion 1 + (φ − 1)·s: a 2 % canary's few errors a
// minute are nearly Poisson, however bursty the whole service's hundreds
// are. Taking all of φ as the cohort's own (none of it shared with the
// other cohort, which the concurrent form would cancel) errs on the side
// of fewer false alarms.
func (cw *countWatch) dispersion() float64 {
	return 1 + (max(cw.base.phi, 1)-1)*min(max(cw.share, 0), 1)
}

// budgetCharts is the number of charts that halt on their own for a
// watch: the social ones (haltingCharts) and the critical error-count
// charts of pairs its service reported in the baseline hours. A service
// that sends no counts does not pay for a chart it cannot have.
func (d *Detector) budgetCharts(w *watch) int {
	n := d.haltingCharts()
	for i, cw := range w.counts {
		if cw.base != nil && cw.base.ok && d.cfg.critical(d.cfg.ErrorCounts[i].Name) {
			n++
		}
	}
	return n
}

// foldCounts folds every complete bucket up to now into the watch's
// error-count charts.
func (d *Detector) foldCounts(w *watch, now time.Time) {
	s := d.services[w.ev.Service]
	if len(d.cfg.ErrorCounts) == 0 || s == nil {
		return
	}
	d.countBaselines(w, s)
	limit := minTime(now.Add(-d.cfg.Lateness), w.end)
	bw := d.cfg.Bucket
	for i := range w.counts {
		cw, p := &w.counts[i], d.cfg.ErrorCounts[i]
		if cw.next.IsZero() {
			cw.next = w.start.Truncate(bw)
		}
		for !cw.next.Add(bw).After(limit) {
			t := cw.next
			cw.next = t.Add(bw)
			b := d.countsIn(w, s, p, t, t.Add(bw))
			b.add(cw.late)
			cw.late = counts{}
			cw.total.add(b)
			if b.n > 0 {
				// Only buckets with the new version's requests: with counts
				// every 5 minutes, 8 of every 10 buckets are empty, and the
				// last 10 buckets could never persist.
				cw.recent[cw.pos] = b
				cw.pos = (cw.pos + 1) % recentBuckets
				cw.minutes++
			}
			if cw.base.ok {
				cw.addBucket(t, b, cw.base.p)
			}
		}
		if cw.base.ok && cw.total.n+cw.total.m > 0 {
			if seen := cw.total.n / (cw.total.n + cw.total.m); seen > 1.05*cw.share && cw.total.n > 0 {
				d.countThreshold(w, cw, seen)
			}
		}
	}
}

// judged is what a bucket's counts can be judged on. A cohort's errors
// count only with its requests in the same bucket: errors whose requests
// did not come (a failed scrape, a requests sample lost or late) say
// nothing about its error ratio — taken as requests of their own they
// made a canary's few errors "100 % of its requests" and halted a clean
// release. The new version's errors without its requests are not judged;
// the other cohort's leave the bucket to the baseline form. More errors
// than requests in a bucket (two counters read at different instants,
// increase() extrapolating) count as that many requests.
func (b counts) judged() counts {
	if b.n <= 0 {
		return counts{}
	}
	j := counts{x: b.x, n: max(b.n, b.x)}
	if b.m > 0 {
		j.y, j.m = b.y, max(b.m, b.y)
	}
	return j
}

// addBucket folds one bucket's counts; p is the baseline error ratio,
// used only when no other cohort ran in the bucket (see judged for a
// bucket with errors but no requests).
func (cw *countWatch) addBucket(t time.Time, b counts, p float64) {
	b = b.judged()
	trials, pi := b.trials(p)
	if trials <= 0 {
		return
	}
	// The same odds chart as negative_share, over the bucket's trials;
	// each ρ's excursion also keeps the new version's requests and the
	// other cohort's counts, started and dropped with it.
	before := cw.c.s
	cw.c.addShareWeighted(t, b.x, trials, pi, cw.weight(b))
	for i, s := range cw.c.s {
		if s == 0 || before[i] == 0 {
			cw.n[i], cw.y[i], cw.m[i], cw.solo[i] = 0, 0, 0, 0
		}
		if s == 0 {
			continue
		}
		cw.n[i] += b.n
		cw.y[i] += b.y
		cw.m[i] += b.m
		if b.m <= 0 {
			cw.solo[i]++
		}
	}
}

// weight is the quasi-likelihood weight φ/φ_t of a bucket judged against
// the other cohort: φ is the dispersion the threshold was set with (the
// new version's errors at the baseline's error ratio), φ_t the one its
// errors have in this bucket. Error counts vary as a negative binomial's,
// variance μ + μ²/κ (Lawless 1987), so the dispersion's excess over 1
// grows with the expected count: φ_t = 1 + (φ − 1)·r_t/p, where p is the
// baseline's ratio and r_t what the other cohort shows in the bucket —
// taken two standard errors low (y − 2√y errors), so that a small
// cohort's chance wobble does not count. In a dependency's burst both
// cohorts' errors rise ×4–×30 at once; the concurrent comparison cancels
// the common rise, but each cohort's own variation (its pods, its share of
// the slow queries) is now on twenty times the errors, and a chart
// weighing those minutes as quiet ones read a ×1.1 wobble of a ×20 burst
// as a regression (tune: a clean H3 at 95 % halted 3 minutes into a
// 5-minute burst, 2,626 errors of the new version against 2,562 expected).
// The weight is 1 unless the other cohort's own ratio is clearly up, so it
// changes nothing outside such bursts and can only lower the statistic:
// the false-alarm budget holds as before.
func (cw *countWatch) weight(b counts) float64 {
	if b.m <= 0 || b.y <= 0 || cw.base == nil || cw.base.p <= 0 {
		return 1
	}
	low := max(b.y-2*math.Sqrt(b.y), 0) / b.m
	if low <= cw.base.p {
		return 1
	}
	phi := cw.dispersion()
	return phi / (1 + (phi-1)*low/cw.base.p)
}

// trials are what a bucket's chart increment is taken over: with another
// cohort running (m > 0), the bucket's errors, each the new version's
// with probability π = n / (n + m); without one, the new version's
// requests, each an error with the baseline ratio p. 0 when the new
// version did not run or nothing tells the cohorts apart.
func (b counts) trials(p float64) (trials, pi float64) {
	if b.n <= 0 {
		return 0, 0
	}
	if b.m > 0 {
		return b.x + b.y, b.n / (b.n + b.m)
	}
	return b.n, p
}

// increment is chart i's log-likelihood ratio for one bucket's counts, in
// the form addBucket uses (0 when the bucket says nothing).
func increment(b counts, p float64, i int) float64 {
	b = b.judged()
	trials, pi := b.trials(p)
	if trials <= 0 {
		return 0
	}
	return b.x*cusumLogRises[i] - trials*math.Log1p(pi*(CUSUMRises[i]-1))
}

// persists reports whether an alarm of chart i may halt on its own. An
// excursion judged against the other cohort running beside the new
// version may at once. One with buckets judged against the baseline hours
// only (the release everywhere) may once the excess has lasted: the
// excursion began at least recentBuckets minutes ago and at least
// persistBuckets of the last recentBuckets buckets with the new version's
// requests (minutes when counts come every minute) favour the risen error
// odds on their own (a positive increment). A dependency failing for a few
// minutes raises every request's errors alike, and at 100 % nothing tells
// it from a regression but that it ends: a burst shorter than
// persistBuckets minutes cannot halt, however large; a regression
// persists.
func (cw *countWatch) persists(i int) bool {
	if cw.solo[i] == 0 {
		return true
	}
	if cw.next.Sub(cw.c.from[i]) < recentBuckets*time.Minute {
		return false
	}
	up := 0
	for _, b := range cw.recent {
		if increment(b, cw.base.p, i) > 0 {
			up++
		}
	}
	return up >= persistBuckets
}

// lateCount adds a count sample that came after its bucket was folded to
// the open watches of its service, to be folded with the next bucket.
func (d *Detector) lateCount(service, name string, x sample) {
	for _, k := range d.order {
		w := d.watches[k]
		if w.closed || w.ev.Service != service || !w.open(x.t) {
			continue
		}
		for i := range w.counts {
			cw, p := &w.counts[i], d.cfg.ErrorCounts[i]
			if cw.next.IsZero() || !x.t.Before(cw.next) || x.t.Before(cw.asOf) {
				continue
			}
			cw.late.addSample(p, name, w.isCanary(x), x.value)
		}
	}
}

// countSignals judges the watch's error-count pairs. A pair the service
// sent no count of during the watch is left out (like a metric nobody
// sends); one without a baseline or without enough of the new version's
// requests has no evidence.
func (d *Detector) countSignals(w *watch) []signals.SignalResult {
	var out []signals.SignalResult
	for i := range w.counts {
		cw, name := &w.counts[i], d.cfg.ErrorCounts[i].Name
		if cw.base == nil || !cw.base.ok && cw.total.n+cw.total.m+cw.total.x+cw.total.y == 0 {
			continue
		}
		r := signals.SignalResult{Name: name, Group: GroupInternal}
		b := cw.base
		if !b.ok {
			r.Outcome = signals.OutcomeInsufficient
			r.Detail = name + ": " + b.detail
			out = append(out, r)
			continue
		}
		r.Expected = b.errors / b.requests
		if cw.total.n > 0 {
			r.Observed = cw.total.x / cw.total.n
		}
		r.Strength = math.Min(1, cw.c.level())
		expected := b.p * cw.total.n
		switch j := cw.c.alarm(); {
		case j >= 0:
			r.Outcome = signals.OutcomeFail
			r.Observed, r.Expected = cw.c.x[j], cw.c.e[j]
			r.Detail = cw.describe(name, j)
			r.Critical = d.cfg.critical(name) && (!w.soaking || cw.c.strong())
			if r.Critical && w.soaking {
				r.Detail += cw.c.soakNote()
			}
			if r.Critical && !cw.persists(j) {
				r.Critical = false
				r.Detail += fmt.Sprintf("; halts once %d of the last %d minutes with counts are over it (with no other version running, a dependency's burst looks the same)", persistBuckets, recentBuckets)
			}
		case cw.total.n <= 0:
			// The commonest cause is a broken feed of the new version
			// (its version label missing, its exporter down): say so.
			r.Outcome = signals.OutcomeInsufficient
			req := d.cfg.ErrorCounts[i].Requests
			if cw.total.m > 0 {
				r.Detail = fmt.Sprintf("%s: no %s counts of the new version since the ring started, while the old cohort's arrive: nothing to judge (are its samples labelled version %q or release %q?)", name, req, w.ev.Version, w.ev.Release)
			} else {
				r.Detail = fmt.Sprintf("%s: no %s counts of any version since the ring started: nothing to judge (the feed of counts is silent)", name, req)
			}
		case cw.minutes < int32(d.cfg.MinSamples) || expected < 1:
			r.Outcome = signals.OutcomeInsufficient
			r.Detail = fmt.Sprintf("%s: the new version had %s requests in %d minutes, %.1f errors expected at the old cohort's %s: too few to judge",
				name, thousands(cw.total.n), cw.minutes, expected, percent(b.errors/b.requests))
		default:
			r.Outcome = signals.OutcomePass
		}
		out = append(out, r)
	}
	return out
}

// heldCounts are the watch's critical error-count signals whose alarm may
// not halt on its own yet: an excess against the baseline hours that has
// not persisted, or in a soak one under the soak's stricter bar. The ring
// does not halt on them through its score either (evaluateAt).
func (d *Detector) heldCounts(w *watch) []string {
	var out []string
	for i := range w.counts {
		cw, name := &w.counts[i], d.cfg.ErrorCounts[i].Name
		if cw.base == nil || !cw.base.ok || !d.cfg.critical(name) {
			continue
		}
		if j := cw.c.alarm(); j >= 0 && (!cw.persists(j) || w.soaking && !cw.c.strong()) {
			out = append(out, name)
		}
	}
	return out
}

// describe explains an alarm of chart i: "errors: 41 of 1,310 requests of
// the new version (3.1 %) against 0.9 % in the old cohort since 10:04;
// CUSUM 14.2 over threshold 12.7 (×4 chart)".
func (cw *countWatch) describe(name string, i int) string {
	c := &cw.c
	against := fmt.Sprintf("%s in the old cohort", percent(cw.y[i]/max(cw.m[i], 1)))
	switch {
	case cw.m[i] == 0:
		against = fmt.Sprintf("%s in the baseline hours (no other version running)", percent(cw.base.p))
	case cw.m[i] < cw.n[i]:
		against += fmt.Sprintf(" (%s requests)", thousands(cw.m[i]))
	}
	odds := ""
	if phi := cw.dispersion(); phi > 1.05 {
		odds = fmt.Sprintf("; dispersion %.2f", phi)
	}
	return fmt.Sprintf("%s: %s of %s requests of the new version (%s) against %s since %s; CUSUM %.1f over threshold %.1f (×%g chart%s)",
		name, thousands(c.x[i]), thousands(cw.n[i]), percent(c.x[i]/max(cw.n[i], 1)), against,
		c.from[i].UTC().Format("15:04"), c.s[i], c.h, CUSUMRises[i], odds)
}

// thousands formats a count with thousands separators: 1,310.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// carryCounts continues the error-count charts of a release's previous
// ring in its next ring: the same new version's errors among its requests,
// judged against the same baseline (the other cohort before the previous
// ring started), every bucket counted once. The threshold is set again for
// the next ring's share of the traffic (h only rises). Unlike the social
// charts they are carried from an internal ring too: H1's counts are the
// new version's as much as H2's.
func (d *Detector) carryCounts(prev, w *watch) {
	if prev == nil || w == nil || prev.ev.Service != w.ev.Service || prev.ev.Version != w.ev.Version || len(prev.counts) != len(d.cfg.ErrorCounts) {
		return
	}
	for i := range prev.counts {
		p := &prev.counts[i]
		if p.base == nil || !p.base.ok {
			continue
		}
		if w.counts == nil {
			w.counts = make([]countWatch, len(d.cfg.ErrorCounts))
		}
		b := *p.base
		cw := &w.counts[i]
		*cw = countWatch{base: &b, n: p.n, y: p.y, m: p.m, solo: p.solo, recent: p.recent, pos: p.pos, next: p.next}
		cw.c.carry(&p.c)
		cw.c.h, cw.c.hSoak = p.c.h, p.c.hSoak
		d.countThreshold(w, cw, max(w.ring.Exposure, p.share))
	}
}

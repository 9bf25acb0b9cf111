package detector

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// ringWeights gives the group weights of a ring. Internal rings have no
// public voice: only internal signals. A small ring (H2, ~1%) moves the
// general chatter little, so the posts that mention the new version weigh
// most. A wide ring makes the general social signals primary.
func ringWeights(r RingConfig) map[string]float64 {
	switch {
	case r.Internal:
		return map[string]float64{GroupInternal: 1}
	case r.Exposure < 0.05:
		return map[string]float64{GroupRelease: 2, GroupSocial: 0.5, GroupInternal: 1}
	default:
		return map[string]float64{GroupSocial: 2, GroupRelease: 1, GroupInternal: 1}
	}
}

func (d *Detector) evaluate(w *watch, now time.Time) { d.evaluateAt(w, now, "") }

// evaluateAt judges a watch at now and emits a verdict when the decision
// or action changed, at the end of the minimum watch, and when the watch
// closes (closing is the reason it closes early, "" otherwise).
func (d *Detector) evaluateAt(w *watch, now time.Time, closing string) {
	w.lastEval = now
	s := d.services[w.ev.Service]
	until := now
	if until.After(w.end) {
		until = w.end
	}
	var results []signals.SignalResult
	var keywords []string
	if !w.ring.Internal && s != nil {
		var social []signals.SignalResult
		social, keywords = d.socialSignals(w, s, until)
		results = append(results, social...)
	}
	if s != nil {
		results = append(results, d.metricSignals(w, s, until)...)
		results = append(results, d.countSignals(w)...)
	}
	for i := range results {
		if slices.Contains(d.cfg.DryRun, results[i].Name) {
			results[i].DryRun = true
		}
	}
	weights := ringWeights(w.ring)
	score, decision, reasons := Score(results, weights, d.cfg.PassScore, d.cfg.MarginalScore, w.ring.NoData)
	if decision == signals.DecisionPass {
		if missing := mustHaveMissing(results, d.cfg.MustHaveData); len(missing) > 0 {
			decision = signals.DecisionWait
			reasons = append(reasons, fmt.Sprintf("no evidence for %v, which must have data: cannot pass", missing))
		}
	}
	if !w.ring.Internal && s != nil && decision != signals.DecisionFail {
		if why := d.silence(s, until); why != "" {
			decision = signals.DecisionWait
			reasons = append([]string{why}, reasons...)
		}
	}
	if !w.knownRing {
		reasons = append(reasons, fmt.Sprintf("ring %q is not configured; judged with default settings", w.ring.Name))
	}

	critical := false
	for _, r := range results {
		if r.Outcome == signals.OutcomeFail && !r.DryRun {
			if r.Critical {
				critical = true
			}
			if !w.failed[r.Name] {
				w.failed[r.Name] = true
				d.pending.Anomalies = append(d.pending.Anomalies, anomalyOf(w, r, now, keywords, s))
			}
		}
	}
	action := signals.ActionNone
	feature := ""
	switch decision {
	case signals.DecisionFail:
		w.fails++
		w.holds++
		switch held := d.heldCounts(w); {
		case !critical && w.fails >= d.cfg.Consecutive && onlyFailing(results, held):
			// The error counts' alarm that may not halt on its own yet
			// (persists; a soak's stricter bar) must not halt through the
			// score either: with no other signal in evidence it alone
			// makes the score 0, and a dependency's burst of a few
			// minutes at 100 % halted the release.
			action = signals.ActionReviewRequired
			reasons = append(reasons, fmt.Sprintf("not halting on %v alone until it may halt on its own; asking for a review", held))
		case critical || w.fails >= d.cfg.Consecutive:
			action = signals.ActionHalt
		default:
			reasons = append(reasons, fmt.Sprintf("failing in %d of %d consecutive evaluations needed to halt", w.fails, d.cfg.Consecutive))
		}
	case signals.DecisionMarginal:
		// A marginal verdict holds the ring for a human, but only once it
		// has held; one noisy evaluation changes nothing.
		w.fails = 0
		w.holds++
		if w.holds >= d.cfg.Consecutive {
			action = signals.ActionReviewRequired
		} else {
			reasons = append(reasons, fmt.Sprintf("marginal in %d of %d consecutive evaluations needed to ask for review", w.holds, d.cfg.Consecutive))
		}
	default:
		w.fails, w.holds = 0, 0
	}
	// The configured window is the least watch: a ring cannot pass before
	// it is over.
	if decision == signals.DecisionPass && now.Before(w.minEnd) {
		decision = signals.DecisionWait
		reasons = append(reasons, fmt.Sprintf("passing so far (score %.1f); the minimum watch of %s ends at %s", score, w.ring.Window, w.minEnd.UTC().Format(time.RFC3339)))
	}
	if decision == signals.DecisionFail || decision == signals.DecisionMarginal {
		feature = w.dominantFeature()
		if feature != "" {
			reasons = append(reasons, fmt.Sprintf("%d of %d complaints in the window name the feature %q", w.features[feature], w.negPosts, feature))
		}
	}
	// Etsy's way: when the complaints point at one feature that has a flag,
	// and the service's own metrics are fine, switch the feature off instead
	// of halting the whole release — once per feature.
	if action == signals.ActionHalt && feature != "" && !internalFailed(results) &&
		d.flagged != nil && d.flagged(w.ev.Service, feature) && !w.flaggedOff[feature] {
		action = signals.ActionFlagOff
		reasons = append(reasons, fmt.Sprintf("switching the feature %q off instead of halting the ring", feature))
	}
	if w.replacedBy != "" && action != signals.ActionNone {
		// Its release id names another version now (reusedwatch.go): an
		// action would stop that version's rollout.
		reasons = append(reasons, fmt.Sprintf("no %s: the release id now names version %s, not the version judged here", action, w.replacedBy))
		action = signals.ActionNone
	}
	final := !now.Before(w.end)
	checkpoint := !w.minDone && !now.Before(w.minEnd)
	ending := final || closing != "" || action == signals.ActionHalt
	if decision == w.decision && action == w.action && !ending && !checkpoint {
		return
	}
	w.decision, w.action = decision, action
	if checkpoint {
		w.minDone = true
		if !ending {
			reasons = append(reasons, fmt.Sprintf("minimum watch window of %s over; watching while the ring is live", w.ring.Window))
		}
	}
	if ending {
		w.closed = true
		switch {
		case closing != "":
			reasons = append(reasons, closing)
		case final && w.soaking:
			reasons = append(reasons, fmt.Sprintf("soak watch of %s after completion ended", d.cfg.SoakFor(w.ev.Service)))
		case final:
			reasons = append(reasons, fmt.Sprintf("watch ended after max_watch %s", d.cfg.MaxWatch))
		}
	}
	if w.soaking && !final && closing == "" {
		reasons = append(reasons, "soak: the release completed; still watched")
	}
	v := signals.Verdict{
		Type: signals.TypeVerdict, Time: now, Release: w.ev.Release, Service: w.ev.Service,
		Version: w.ev.Version, Ring: w.ring.Name, Score: round1(score), Decision: decision, Action: action,
		Reasons: reasons, Signals: results, Keywords: keywords, Team: w.ev.Team, Authors: w.ev.Authors,
	}
	if decision == signals.DecisionFail || decision == signals.DecisionMarginal {
		v.Examples = examplesIn(s, w.start, until, 5, keywords)
	}
	if v.Reasons == nil {
		v.Reasons = []string{}
	}
	v.Feature = feature
	d.pending.Verdicts = append(d.pending.Verdicts, v)
	if action == signals.ActionFlagOff {
		w.restartAfterFlag(feature, now)
	}
}

// onlyFailing reports whether every failing signal that counts is one of
// names (and one fails).
func onlyFailing(results []signals.SignalResult, names []string) bool {
	n := 0
	for _, r := range results {
		if r.Outcome != signals.OutcomeFail || r.DryRun {
			continue
		}
		if !slices.Contains(names, r.Name) {
			return false
		}
		n++
	}
	return n > 0
}

// mustHaveMissing lists the must-have-data signals without evidence.
func mustHaveMissing(results []signals.SignalResult, must []string) []string {
	var out []string
	for _, n := range must {
		found := false
		for _, r := range results {
			if r.Name == n && r.Outcome != signals.OutcomeInsufficient {
				found = true
			}
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}

func internalFailed(results []signals.SignalResult) bool {
	for _, r := range results {
		if r.Group == GroupInternal && r.Outcome == signals.OutcomeFail && !r.DryRun {
			return true
		}
	}
	return false
}

// dominantFeature is the configured feature most complaints in the window
// name, when it is clearly the common thread (at least 5 posts and 40% of
// the window's complaints).
func (w *watch) dominantFeature() string {
	best, n := "", int32(0)
	for f, c := range w.features {
		if c > n || c == n && f < best {
			best, n = f, c
		}
	}
	if n >= 5 && float64(n) >= 0.4*float64(w.negPosts) {
		return best
	}
	return ""
}

// restartAfterFlag opens a fresh window after a feature was switched off:
// what users say from now on shows whether that was enough.
func (w *watch) restartAfterFlag(feature string, now time.Time) {
	if w.flaggedOff == nil {
		w.flaggedOff = map[string]bool{}
	}
	w.flaggedOff[feature] = true
	w.start = now
	w.fails, w.holds, w.negPosts = 0, 0, 0
	w.terms = windowTerms{}
	w.features = nil
	w.failed = map[string]bool{}
	w.total = bucket{}
	for i := range w.charts {
		w.charts[i].reset()
	}
}

func (d *Detector) socialSignals(w *watch, s *service, until time.Time) ([]signals.SignalResult, []string) {
	b := w.base
	if b == nil || !b.ok {
		detail := "no baseline yet"
		if b != nil {
			detail = b.detail
		}
		var out []signals.SignalResult
		for _, n := range []string{"complaint_volume", "negative_share", "complaint_categories", "release_complaints"} {
			out = append(out, signals.SignalResult{Name: n, Group: groupOf(n), Outcome: signals.OutcomeInsufficient, Observed: float64(w.total.posts), Detail: n + ": " + detail})
		}
		return out, nil
	}
	win := w.total
	minPosts := w.ring.MinPosts
	// Evidence: enough posts since the ring started to say "nothing rose".
	// Zero complaints among a hundred posts is evidence; zero posts is not.
	evidence := int(win.posts) >= minPosts
	why := fmt.Sprintf("%d posts since the ring started, needs %d: too few to judge", win.posts, minPosts)
	a := d.cfg.Alpha

	expPosts := float64(b.posts) / b.minutes * w.next.Sub(w.start).Minutes()
	volume := countTest("post_volume", GroupSocial, int(win.posts), expPosts, a, 2, minPosts)
	// Volume alone is informational: a launch or a campaign is loud and happy.
	volume.DryRun = true
	if w.weeks > 0 {
		volume.Detail = strings.TrimSpace(volume.Detail + fmt.Sprintf(" (hour-of-week factor %.2f from %d weeks)", w.factor, w.weeks))
	}
	complaints := chartResult("complaint_volume", GroupSocial, &w.charts[chComplaints], evidence, why)
	share := chartResult("negative_share", GroupSocial, &w.charts[chShare], evidence, why)
	if win.posts > 0 {
		share.Observed = float64(win.negative) / float64(win.posts)
	}
	share.Expected = b.negShare
	release := chartResult("release_complaints", GroupRelease, &w.charts[chRelease], evidence, why)
	if release.Outcome == signals.OutcomeFail {
		release.Detail += " — complaints that mention the new version or update" + d.exposureNote(w, &w.charts[chRelease], until)
	}
	// In a soak a critical signal halts on its own only over the soak's
	// stricter bar; below it, it counts in the score like any other.
	halts := func(c *chart) bool { return !w.soaking || c.strong() }
	complaints.Critical = d.cfg.critical("complaint_volume") && complaints.Outcome == signals.OutcomeFail && halts(&w.charts[chComplaints])
	share.Critical = d.cfg.critical("negative_share") && share.Outcome == signals.OutcomeFail && halts(&w.charts[chShare])
	release.Critical = d.cfg.critical("release_complaints") && release.Outcome == signals.OutcomeFail && halts(&w.charts[chRelease])
	if w.soaking {
		for _, r := range []struct {
			res *signals.SignalResult
			c   *chart
		}{{&complaints, &w.charts[chComplaints]}, {&share, &w.charts[chShare]}, {&release, &w.charts[chRelease]}} {
			if r.res.Critical {
				r.res.Detail += r.c.soakNote()
			}
		}
	}

	cats := signals.SignalResult{Name: "complaint_categories", Group: GroupSocial, Outcome: signals.OutcomePass}
	if !evidence {
		cats.Outcome = signals.OutcomeInsufficient
		cats.Detail = "complaint_categories: " + why
	}
	var failing, critical []string
	type kc struct {
		name string
		n    int32
	}
	var top []kc
	for i, name := range Categories {
		if obs := win.categories[i]; obs > 0 {
			top = append(top, kc{name, obs})
		}
		c := &w.charts[chCategory0+i]
		cats.Strength = max(cats.Strength, min(1, c.level()))
		if j := c.alarm(); j >= 0 {
			desc := c.describe(name, j)
			if w.soaking && d.cfg.critical(name) && halts(c) {
				desc += c.soakNote()
			}
			failing = append(failing, desc)
			cats.Observed += c.x[j]
			cats.Expected += c.e[j]
			if d.cfg.critical(name) && halts(c) {
				critical = append(critical, name)
			}
		}
	}
	if len(failing) > 0 {
		cats.Outcome = signals.OutcomeFail
		cats.Critical = len(critical) > 0 || d.cfg.critical("complaint_categories") && !w.soaking
		cats.Detail = "complaint categories rising: " + joinSemi(failing)
		if len(critical) > 0 {
			cats.Detail += fmt.Sprintf(" (critical: %s)", strings.Join(critical, ", "))
		}
	}
	sort.Slice(top, func(i, j int) bool { return top[i].n > top[j].n || top[i].n == top[j].n && top[i].name < top[j].name })
	var keywords []string
	for i := 0; i < len(top) && i < 3; i++ {
		keywords = append(keywords, top[i].name)
	}
	terms := d.emergingTerms(w, s)
	for _, t := range terms.top {
		if !slices.Contains(keywords, t) {
			keywords = append(keywords, t)
		}
	}
	if b.phi > 1 {
		complaints.Detail = strings.TrimSpace(complaints.Detail + fmt.Sprintf(" (dispersion %.1f from the baseline)", b.phi))
	}
	return []signals.SignalResult{volume, complaints, share, cats, release, terms.result}, keywords
}

func groupOf(signal string) string {
	if signal == "release_complaints" {
		return GroupRelease
	}
	return GroupSocial
}

// recentMetricWindow is the recent part of a watch in which metrics are
// also compared: a regression late in a long watch is not diluted by the
// hours before it.
const recentMetricWindow = 10 * time.Minute

func (d *Detector) metricSignals(w *watch, s *service, until time.Time) []signals.SignalResult {
	names := d.metricNames(w, s)
	recent := until.Add(-recentMetricWindow)
	var out []signals.SignalResult
	for _, name := range names {
		if d.cfg.countSample(name) {
			continue // judged by its count chart (countSignals)
		}
		r, ok := d.metricResult(w, s, name, w.start, until)
		if !ok {
			continue
		}
		// The whole watch, and its last minutes when that has evidence and
		// says more.
		if recent.After(w.start) && r.Outcome != signals.OutcomeFail {
			if rr, ok := d.metricResult(w, s, name, recent, until); ok && rr.Outcome == signals.OutcomeFail {
				rr.Detail += fmt.Sprintf(" in the last %s", recentMetricWindow)
				r = rr
			}
		}
		out = append(out, r)
	}
	return out
}

// metricResult compares the new version's samples of one metric in
// [from, until) with the other cohort's; false when there are none.
func (d *Detector) metricResult(w *watch, s *service, name string, from, until time.Time) (signals.SignalResult, bool) {
	// The new version's cohort against everything else running at the
	// same time (samples without a version, or older versions); over the
	// whole watch from its bounded summary (watchsamples.go).
	canary, baseline, nCanary, nBaseline := d.metricSamples(w, s, name, from, until)
	if len(canary) == 0 && len(baseline) == 0 {
		return signals.SignalResult{}, false
	}
	r := signals.SignalResult{Name: name, Group: GroupInternal, Critical: d.cfg.critical(name)}
	if len(canary) < d.cfg.MinSamples || len(baseline) < d.cfg.MinSamples {
		r.Outcome = signals.OutcomeInsufficient
		r.Critical = false
		r.Detail = fmt.Sprintf("%s: %d new-version and %d baseline samples, needs %d each", name, len(canary), len(baseline), d.cfg.MinSamples)
		return r, true
	}
	mc, mb := median(canary), median(baseline)
	r.Observed, r.Expected = mc, mb
	p, effect := mannWhitneyGreater(canary, baseline)
	r.Strength = strength(p)
	// Both a significant shift and a material effect: most canary samples
	// above the baseline and the median up by half (or from zero).
	material := effect >= 0.75 && (mb <= 0 && mc > 0 || mb > 0 && mc >= 1.5*mb)
	if p < 0.01 && material {
		r.Outcome = signals.OutcomeFail
		r.Detail = fmt.Sprintf("%s: new version median %.4g vs baseline %.4g (P(new>old)=%.2f, %s)%s", name, mc, mb, effect, fmtP(p), sampledNote(len(canary), len(baseline), nCanary, nBaseline))
		// A critical metric fails the verdict outright only when it doubled.
		r.Critical = r.Critical && (mb <= 0 || mc >= 2*mb)
	} else {
		r.Outcome = signals.OutcomePass
		r.Critical = false
	}
	return r, true
}

// sampledNote says when a whole-watch metric comparison was made on a
// uniform sample of the watch's samples (watchsamples.go), and of how many.
func sampledNote(kc, kb int, nc, nb int64) string {
	if int64(kc) >= nc && int64(kb) >= nb {
		return ""
	}
	return fmt.Sprintf("; on a uniform sample of %d of %d new-version and %d of %d baseline samples", kc, nc, kb, nb)
}

func anomalyOf(w *watch, r signals.SignalResult, now time.Time, keywords []string, s *service) signals.Anomaly {
	kind := signals.KindComplaintSpike
	switch {
	case r.Group == GroupInternal && r.Name == "latency_p99", r.Group == GroupInternal && len(r.Name) > 7 && r.Name[:7] == "latency":
		kind = signals.KindLatencyRegression
	case r.Group == GroupInternal:
		kind = signals.KindErrorRegression
	case r.Name == "negative_share":
		kind = signals.KindSentimentShift
	case r.Name == "complaint_categories":
		kind = signals.KindKeywordSpike
	case r.Name == "post_volume":
		kind = signals.KindVolumeSpike
	}
	return signals.Anomaly{
		Type: signals.TypeAnomaly, Time: now, Service: w.ev.Service, Release: w.ev.Release, Ring: w.ring.Name,
		Kind: kind, Signal: r.Name, Observed: r.Observed, Expected: r.Expected, Strength: r.Strength,
		Start: w.start, Keywords: keywords, Examples: examplesIn(s, w.start, now, 5, keywords),
	}
}

// examplesIn picks up to n negative posts from [from, to) as evidence:
// those that contain one of the verdict's keywords first, newest first.
func examplesIn(s *service, from, to time.Time, n int, keywords []string) []signals.Example {
	if s == nil {
		return nil
	}
	var matching, other []signals.Example
	for i := len(s.negative) - 1; i >= 0; i-- {
		t := s.negTimes[i]
		if t.Before(from) || !t.Before(to) {
			continue
		}
		if mentionsAny(s.negative[i].Text, keywords) {
			matching = append(matching, s.negative[i])
		} else {
			other = append(other, s.negative[i])
		}
	}
	out := append(matching, other...)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func mentionsAny(text string, keywords []string) bool {
	lower := strings.ToLower(text)
	for _, k := range keywords {
		if k != "" && strings.Contains(lower, strings.ToLower(strings.ReplaceAll(k, "_", " "))) {
			return true
		}
	}
	return false
}

func joinSemi(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += "; "
		}
		out += x
	}
	return out
}

func round1(x float64) float64 { return float64(int(x*10+0.5)) / 10 }

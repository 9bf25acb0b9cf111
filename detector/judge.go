package detector

import (
	"fmt"
	"sort"

	"github.com/aftershock/aftershock/signals"
)

// Signal groups and their default weights (Kayenta-style weighted groups).
const (
	GroupSocial   = "social"
	GroupRelease  = "release" // posts about the new version or update
	GroupInternal = "internal"
)

// Score turns per-signal results into a verdict score and decision, like a
// canary judge: score = 100 × weighted share of passing signals among those
// with evidence; a failing critical signal fails the verdict outright;
// dry-run signals are reported but not counted; when half or more of the
// counted signals lack evidence the ring cannot pass (it waits). It is a
// pure function.
func Score(results []signals.SignalResult, weights map[string]float64, pass, marginal float64, noData string) (score float64, decision string, reasons []string) {
	var total, passed float64
	critical := false
	var insufficient []string
	counted := 0
	for _, r := range results {
		if r.DryRun {
			continue
		}
		counted++
		switch r.Outcome {
		case signals.OutcomeInsufficient:
			insufficient = append(insufficient, r.Name)
			continue
		case signals.OutcomeFail:
			reasons = append(reasons, r.Detail)
			if r.Critical {
				critical = true
			}
		}
		w, ok := weights[r.Group]
		if !ok {
			w = 1
		}
		if w == 0 {
			continue
		}
		// Spread a group's weight over its signals so a group with many
		// signals doesn't dominate.
		w /= float64(countGroup(results, r.Group))
		total += w
		if r.Outcome == signals.OutcomePass {
			passed += w
		}
	}
	sort.Strings(insufficient)
	if total == 0 {
		what := fmt.Sprintf("insufficient evidence for every signal (%v)", insufficient)
		if len(insufficient) == 0 {
			what = "no signal to judge yet: no post or metric sample of the service has arrived"
		}
		reasons = append(reasons, fmt.Sprintf("%s; no-data policy: %s", what, noData))
		switch noData {
		case NoDataPass:
			return 100, signals.DecisionPass, reasons
		case NoDataFail:
			return 0, signals.DecisionFail, reasons
		default:
			return 0, signals.DecisionWait, reasons
		}
	}
	if len(insufficient) > 0 {
		reasons = append(reasons, fmt.Sprintf("insufficient evidence, not counted: %v", insufficient))
	}
	score = 100 * passed / total
	if critical {
		reasons = append([]string{"a critical signal failed"}, reasons...)
		return 0, signals.DecisionFail, reasons
	}
	switch {
	case score >= pass:
		decision = signals.DecisionPass
	case score >= marginal:
		decision = signals.DecisionMarginal
	default:
		decision = signals.DecisionFail
	}
	// Kayenta's rule: when half or more of the counted signals have no
	// evidence, what little passed is not enough to pass the ring.
	if decision == signals.DecisionPass && 2*len(insufficient) >= counted {
		decision = signals.DecisionWait
		reasons = append(reasons, fmt.Sprintf("%d of %d counted signals lack evidence: cannot pass", len(insufficient), counted))
	}
	return score, decision, reasons
}

func countGroup(results []signals.SignalResult, group string) int {
	n := 0
	for _, r := range results {
		if r.Group == group && !r.DryRun && r.Outcome != signals.OutcomeInsufficient {
			n++
		}
	}
	return max(n, 1)
}

// countTest classifies an observed count against an expected one with an
// exact Poisson upper-tail test: it fails when the count is both significant
// at alpha and at least minRatio times the expectation (so a tiny but
// statistically clear rise on a huge base does not halt a release).
func countTest(name, group string, observed int, expected float64, alpha, minRatio float64, minEvidence int) signals.SignalResult {
	r := signals.SignalResult{Name: name, Group: group, Observed: float64(observed), Expected: expected}
	if float64(observed) < float64(minEvidence) && expected < float64(minEvidence) {
		r.Outcome = signals.OutcomeInsufficient
		r.Detail = fmt.Sprintf("%s: %d observed, %.1f expected: too few to judge", name, observed, expected)
		return r
	}
	// A floor on the expectation keeps a zero baseline from making any post significant.
	lambda := max(expected, 0.5)
	p := poissonUpper(observed, lambda)
	r.Strength = strength(p)
	if p < alpha && float64(observed) >= minRatio*lambda {
		r.Outcome = signals.OutcomeFail
		r.Detail = fmt.Sprintf("%s: %d observed vs %.1f expected (×%.1f, %s)", name, observed, expected, float64(observed)/lambda, fmtP(p))
		return r
	}
	r.Outcome = signals.OutcomePass
	return r
}

// shareTest classifies a share k/n against a baseline share with an exact
// binomial upper-tail test.
func shareTest(name, group string, k, n int, baseShare float64, alpha, minDelta float64, minEvidence int) signals.SignalResult {
	r := signals.SignalResult{Name: name, Group: group, Expected: baseShare}
	if n > 0 {
		r.Observed = float64(k) / float64(n)
	}
	if n < minEvidence {
		r.Outcome = signals.OutcomeInsufficient
		r.Detail = fmt.Sprintf("%s: %d posts: too few to judge", name, n)
		return r
	}
	// Keep a little mass on both ends so a baseline of 0% or 100% stays testable.
	p0 := min(max(baseShare, 0.01), 0.99)
	p := binomialUpper(k, n, p0)
	r.Strength = strength(p)
	if p < alpha && r.Observed-baseShare >= minDelta {
		r.Outcome = signals.OutcomeFail
		r.Detail = fmt.Sprintf("%s: %.0f%% vs %.0f%% in baseline (%d of %d posts, %s)", name, 100*r.Observed, 100*baseShare, k, n, fmtP(p))
		return r
	}
	r.Outcome = signals.OutcomePass
	return r
}

// fmtP prints a p-value; below what a float64 holds it says so.
func fmtP(p float64) string {
	if p < 1e-300 {
		return "p<1e-300"
	}
	return fmt.Sprintf("p=%.2g", p)
}

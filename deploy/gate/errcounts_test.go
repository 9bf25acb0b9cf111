package gate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// countStream is a replay input with request and error counts only: the
// old cohort's 6 baseline hours before t0 and, from t0 (H2 started), a 5 %
// canary whose error ratio is mult(minute after t0) × 1 %; no posts.
func countStream(mult func(m int) float64) string {
	rng := rand.New(rand.NewPCG(11, 5))
	poisson := func(l float64) int {
		if l > 50 {
			return max(0, int(math.Round(l+math.Sqrt(l)*rng.NormFloat64())))
		}
		k, p, e := 0, 1.0, math.Exp(-l)
		for p *= rng.Float64(); p > e; p *= rng.Float64() {
			k++
		}
		return k
	}
	var b strings.Builder
	line := func(at time.Time, cohort, name string, v int) {
		fmt.Fprintf(&b, `{"type":"metric","time":%q,"service":"shop",%s"name":%q,"value":%d}`+"\n", at.Format(time.RFC3339), cohort, name, v)
	}
	for m := -360; m < 120; m++ {
		at := t0.Add(time.Duration(m)*time.Minute + 40*time.Second)
		if m == 0 {
			fmt.Fprintf(&b, `{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","event":"started"}`+"\n", t0.Format(time.RFC3339))
		}
		share := 0.0
		if m >= 0 {
			share = 0.05
		}
		n := poisson(5000 * (1 - share))
		line(at, "", "requests", n)
		line(at, "", "errors", poisson(float64(n)*0.01))
		if share > 0 {
			n := poisson(5000 * share)
			line(at, `"version":"4.2.0","ring":"H2",`, "requests", n)
			line(at, `"version":"4.2.0","ring":"H2",`, "errors", poisson(float64(n)*0.01*mult(m)))
		}
	}
	return b.String()
}

// Error counts through `aftershock replay` to the gate: a canary whose
// errors are normal, with no posts, is never proceeded (the social
// signals have no evidence: Kayenta's rule), in any form of the gate; one
// whose errors quadruple 20 minutes in halts on the counts alone, and the
// gate says halt (Argo Failed, Flagger rolls back).
func TestGateOnErrorCounts(t *testing.T) {
	f, url := gateFor(t)
	for _, v := range replayVerdicts(t, countStream(func(int) float64 { return 1 })) {
		if v.Decision == "fail" || v.Action == "halt" {
			t.Fatalf("a clean canary fails: %+v", v)
		}
		if _, err := f.tracker.Record(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		checkWaits(t, ask(t, url, "shop-4.2.0", "H2"), "verdict at "+v.Time.Format(time.RFC3339))
	}

	f, url = gateFor(t)
	halted := false
	for _, v := range replayVerdicts(t, countStream(func(m int) float64 {
		if m >= 20 {
			return 4
		}
		return 1
	})) {
		if _, err := f.tracker.Record(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		g := ask(t, url, "shop-4.2.0", "H2")
		if v.Action != "halt" {
			checkWaits(t, g, "verdict at "+v.Time.Format(time.RFC3339))
			continue
		}
		halted = true
		if d := v.Time.Sub(t0); d < 20*time.Minute || d > 40*time.Minute {
			t.Errorf("halted %s after the start, want 20–40 min (onset at 20)", d)
		}
		if !strings.Contains(strings.Join(v.Reasons, "; "), "errors: ") {
			t.Errorf("the halt's reasons do not name the error counts: %q", v.Reasons)
		}
		if g.json.Decision != Halt || argoPhase(g.argo) != "Failed" || g.rollback/100 != 2 || g.confirmPromo == http.StatusOK {
			t.Fatalf("after the halt: JSON %s, Argo %s, Flagger confirm-promotion %d rollback %d; want halt, Failed, no promotion, rollback",
				g.json.Decision, argoPhase(g.argo), g.confirmPromo, g.rollback)
		}
		break
	}
	if !halted {
		t.Fatal("a ×4 canary did not halt on its error counts")
	}
}

package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/replay"
	"github.com/aftershock/aftershock/signals"
)

// Issue 11: "a gate that says proceed because the crawlers are broken is
// the worst failure this product can have". These tests take the verdicts
// the real detector gives on the reproductions (through
// `aftershock replay`), hand each one in order to the gate as the tracker
// would, and ask the gate over HTTP in all three forms after each.

// replayVerdicts runs input through replay.Run and returns its verdicts.
func replayVerdicts(t *testing.T, input string) []signals.Verdict {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := replay.Run(ctx, strings.NewReader(input), &out, &errOut, replay.Options{}); err != nil {
		t.Fatalf("replay: %v (%s)", err, errOut.String())
	}
	var vs []signals.Verdict
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var line replay.Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatal(err)
		}
		if line.Release == "" { // the summary line
			continue
		}
		vs = append(vs, signals.Verdict{Type: signals.TypeVerdict, Time: line.Time, Release: line.Release, Service: line.Service,
			Ring: line.Ring, Score: line.Score, Decision: line.Decision, Action: line.Action, Reasons: line.Reasons})
	}
	if len(vs) == 0 {
		t.Fatalf("replay gave no verdicts: %s", out.String())
	}
	return vs
}

// gateAnswers is what the three forms of the gate say at one moment.
type gateAnswers struct {
	json           Answer
	argo           ArgoData
	confirmPromo   int // Flagger confirm-promotion status
	rollout        int // Flagger rollout status
	rollback       int // Flagger rollback status (2xx rolls back)
	flaggerMessage string
	raw            []string // the JSON and Argo bodies
}

func ask(t *testing.T, url, release, ring string) gateAnswers {
	t.Helper()
	var g gateAnswers
	get := func(path string, v any) {
		code, body := do(t, "GET", url+path, "tok", "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatal(err)
		}
		g.raw = append(g.raw, body)
	}
	get(fmt.Sprintf("/v1/releases/%s/gate?ring=%s", release, ring), &g.json)
	var argo ArgoResponse
	get(fmt.Sprintf("/v1/releases/%s/gate?ring=%s&format=argo", release, ring), &argo)
	g.argo = argo.Data
	hook := func(name string) (int, string) {
		body := fmt.Sprintf(`{"name":"shop","namespace":"prod","phase":"Progressing","metadata":{"release":%q,"ring":%q,"token":"tok"}}`, release, ring)
		// Flagger cannot send headers: its token rides in the metadata.
		res, err := http.Post(url+"/v1/flagger/"+name, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var fr FlaggerResponse
		_ = json.Unmarshal(b, &fr)
		return res.StatusCode, fr.Message
	}
	g.confirmPromo, g.flaggerMessage = hook(HookConfirmPromotion)
	g.rollout, _ = hook(HookRollout)
	g.rollback, _ = hook(HookRollback)
	return g
}

// argoPhase is what the AnalysisTemplate in docs/gate.md makes of an
// answer: successCondition decision == "proceed", failureCondition
// decision == "halt", anything else Inconclusive.
func argoPhase(d ArgoData) string {
	switch d.Decision {
	case Proceed:
		return "Successful"
	case Halt:
		return "Failed"
	}
	return "Inconclusive"
}

func checkWaits(t *testing.T, g gateAnswers, when string) {
	t.Helper()
	if g.json.Decision != Wait || g.json.OK {
		t.Errorf("%s: JSON answer %s (ok %v), want wait; reasons %q", when, g.json.Decision, g.json.OK, g.json.Reasons)
	}
	if g.argo.OK || argoPhase(g.argo) != "Inconclusive" {
		t.Errorf("%s: Argo %s (ok %v), want Inconclusive", when, g.argo.Decision, g.argo.OK)
	}
	if g.confirmPromo != http.StatusConflict || g.rollout != http.StatusOK || g.rollback != http.StatusConflict {
		t.Errorf("%s: Flagger confirm-promotion %d, rollout %d, rollback %d; want 409 (keep waiting), 200 (no failed check), 409 (no rollback)",
			when, g.confirmPromo, g.rollout, g.rollback)
	}
}

func gateFor(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	srv := serve(t, f, bearer("tok"))
	if _, _, err := f.store.Create(context.Background(), releases.StartRequest{Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Authors: []string{"alice"}, Ring: "H2"}, t0); err != nil {
		t.Fatal(err)
	}
	return f, srv.URL
}

// The reproduction: a release started on H2, two old-cohort error_rate
// samples and nothing else. The gate waits after every verdict.
func TestGateNoEvidenceNeverProceeds(t *testing.T) {
	input := `{"type":"release","time":"2026-11-24T09:00:00Z","release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","event":"started"}
{"type":"metric","time":"2026-11-24T09:01:00Z","service":"shop","version":"4.1.0","ring":"H2","name":"error_rate","value":0.01}
{"type":"metric","time":"2026-11-24T09:02:00Z","service":"shop","version":"4.1.0","ring":"H2","name":"error_rate","value":0.011}
`
	f, url := gateFor(t)
	for _, v := range replayVerdicts(t, input) {
		if _, err := f.tracker.Record(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		checkWaits(t, ask(t, url, "shop-4.2.0", "H2"), "verdict at "+v.Time.Format(time.RFC3339))
	}
}

// Posts from two sources through the baseline and the first minutes of H2,
// then silence while the old cohort's metric goes on: the gate waits and
// its first reason names the silent sources, in every form.
func TestGateSilentSourcesFirst(t *testing.T) {
	var in strings.Builder
	start := t0.Add(2 * time.Hour)
	line := func(format string, args ...any) { fmt.Fprintf(&in, format+"\n", args...) }
	for m := range 185 {
		at := t0.Add(time.Duration(m) * time.Minute)
		if at.Equal(start) {
			line(`{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","event":"started"}`, at.Format(time.RFC3339))
		}
		if m < 130 {
			for i, src := range []string{"mastodon", "reddit"} {
				line(`{"type":"post","time":%q,"source":%q,"id":"%d-%d","service":"shop","text":"browsing shop for birthday gifts %d"}`,
					at.Add(time.Duration(10+20*i)*time.Second).Format(time.RFC3339), src, m, i, m)
			}
		}
		if m >= 100 {
			line(`{"type":"metric","time":%q,"service":"shop","ring":"H2","name":"error_rate","value":0.01}`, at.Add(50*time.Second).Format(time.RFC3339))
		}
	}
	f, url := gateFor(t)
	vs := replayVerdicts(t, in.String())
	var last gateAnswers
	for _, v := range vs {
		if _, err := f.tracker.Record(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		last = ask(t, url, "shop-4.2.0", "H2")
		checkWaits(t, last, "verdict at "+v.Time.Format(time.RFC3339))
	}
	if os.Getenv("GATE_PRINT") != "" {
		t.Logf("%s\nflagger confirm-promotion %d %s", strings.Join(last.raw, ""), last.confirmPromo, last.flaggerMessage)
	}
	const first = "not enough evidence: sources silent since 2026-11-24T11:09:30Z"
	if len(last.json.Reasons) == 0 || !strings.HasPrefix(last.json.Reasons[0], first) {
		t.Fatalf("JSON reasons %q, want the silent sources first (%q…)", last.json.Reasons, first)
	}
	for _, src := range []string{"mastodon (last post 2026-11-24T11:09:10Z)", "reddit (last post 2026-11-24T11:09:30Z)"} {
		if !strings.Contains(last.json.Reasons[0], src) {
			t.Errorf("first reason %q does not name %s", last.json.Reasons[0], src)
		}
	}
	if n := strings.Count(strings.Join(last.json.Reasons, "; "), "sources silent since"); n != 1 {
		t.Errorf("the silence is said %d times in %q, want once", n, last.json.Reasons)
	}
	if !strings.HasPrefix(last.argo.Reason, first) {
		t.Errorf("Argo reason %q, want it to start with %q", last.argo.Reason, first)
	}
	if want := "aftershock: shop-4.2.0 on H2: wait: " + first; !strings.HasPrefix(last.flaggerMessage, want) {
		t.Errorf("Flagger message %q, want it to start with %q", last.flaggerMessage, want)
	}
}

// A spent budget asks for review, but the silent sources stay the first
// reason: a broken crawler matters more than whose budget is spent.
func TestSilentSourcesBeforeBudget(t *testing.T) {
	f, _ := gateFor(t)
	ctx := context.Background()
	if _, _, err := f.store.Create(ctx, releases.StartRequest{Release: "r-broke-silent", Service: "shop", Version: "4.2.0", Team: "broke", Ring: "H2"}, t0); err != nil {
		t.Fatal(err)
	}
	v := verdict("r-broke-silent", "H2", signals.DecisionWait, signals.ActionNone, 100)
	v.Reasons = []string{"sources silent since 2026-11-24T08:10:00Z: no post from any source for 50m0s (usually one every 12s): x (last post 2026-11-24T08:10:00Z); waiting"}
	if _, err := f.tracker.Record(ctx, v); err != nil {
		t.Fatal(err)
	}
	a, err := f.gate.Answer(ctx, "r-broke-silent", "H2")
	if err != nil {
		t.Fatal(err)
	}
	if a.Decision != ReviewRequired || a.OK || len(a.Reasons) < 2 ||
		!strings.HasPrefix(a.Reasons[0], "not enough evidence: sources silent since 2026-11-24T08:10:00Z") ||
		!strings.Contains(a.Reasons[1], "team broke has used up its reliability budget") {
		t.Fatalf("answer %s %q; want review_required, the silent sources first, the budget second", a.Decision, a.Reasons)
	}
}

// The gate during a soak: the release is completed and its last ring is
// still watched; the soak's verdicts are answered like any other.
func TestDecideDuringSoak(t *testing.T) {
	completed := releases.Release{ID: "shop-4.2.0", Service: "shop", Ring: "H3", Status: releases.StatusCompleted}
	soaking := func(decision, action string) *signals.Verdict {
		v := verdict("shop-4.2.0", "H3", decision, action, 50)
		v.Reasons = append(v.Reasons, "soak: the release completed; still watched")
		return &v
	}
	for _, tt := range []struct {
		name     string
		v        *signals.Verdict
		decision string
	}{
		{"soak passing", soaking(signals.DecisionPass, signals.ActionNone), Proceed},
		{"soak halts", soaking(signals.DecisionFail, signals.ActionHalt), Halt},
		{"soak asks for review", soaking(signals.DecisionMarginal, signals.ActionReviewRequired), ReviewRequired},
		{"soak waits", soaking(signals.DecisionWait, signals.ActionNone), Wait},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := decide(completed, "H3", tt.v)
			if a.Decision != tt.decision || a.Status != releases.StatusCompleted {
				t.Fatalf("decide = %s (status %s), want %s", a.Decision, a.Status, tt.decision)
			}
			if !strings.Contains(strings.Join(a.Reasons, "; "), "soak: the release completed") {
				t.Errorf("the soak is not in the reasons: %q", a.Reasons)
			}
		})
	}
}

package integration

import (
	"strings"
	"testing"

	flaggerv1 "github.com/fluxcd/flagger/pkg/apis/flagger/v1beta1"
	"github.com/fluxcd/flagger/pkg/controller"
	"sigs.k8s.io/yaml"
)

// docCanary is docs/gate.md's Canary, pointed at the daemon.
func docCanary(t *testing.T, d *daemon) flaggerv1.Canary {
	t.Helper()
	blocks := docBlocks(t, "kind: Canary", d.addr)
	if len(blocks) != 1 {
		t.Fatalf("docs/gate.md has %d Canaries, want 1", len(blocks))
	}
	var c flaggerv1.Canary
	if err := yaml.UnmarshalStrict([]byte(blocks[0]), &c); err != nil {
		t.Fatalf("docs/gate.md Canary: %v", err)
	}
	return c
}

// outcome is what Flagger's scheduler does with a hook's result
// (pkg/controller/scheduler.go, scheduler_hooks.go of v1.36.1).
func outcome(hook flaggerv1.HookType, err error) string {
	ok := err == nil
	switch hook {
	case flaggerv1.PreRolloutHook, flaggerv1.RolloutHook:
		if ok {
			return "passes"
		}
		return "failed check"
	case flaggerv1.ConfirmTrafficIncreaseHook:
		if ok {
			return "weight raised"
		}
		return "held"
	case flaggerv1.ConfirmPromotionHook:
		if ok {
			return "promoted"
		}
		return "held"
	case flaggerv1.RollbackHook: // inverted
		if ok {
			return "rolled back"
		}
		return "no"
	}
	return "?"
}

// TestFlaggerWebhooks calls every webhook of the documented Canary with
// Flagger's own caller, for each answer, and checks what Flagger would do
// against the table in docs/gate.md.
func TestFlaggerWebhooks(t *testing.T) {
	d := start(t)
	canary := docCanary(t, d)
	if a := canary.Spec.Analysis; a == nil || a.MaxWeight != 1 || a.StepWeight != 1 {
		t.Fatalf("documented Canary must step once to 1 %% and hold there: %+v", a)
	}
	want := map[string]map[flaggerv1.HookType]string{
		relProceed: {flaggerv1.PreRolloutHook: "passes", flaggerv1.ConfirmTrafficIncreaseHook: "weight raised", flaggerv1.RolloutHook: "passes", flaggerv1.ConfirmPromotionHook: "promoted", flaggerv1.RollbackHook: "no"},
		relWait:    {flaggerv1.PreRolloutHook: "passes", flaggerv1.ConfirmTrafficIncreaseHook: "held", flaggerv1.RolloutHook: "passes", flaggerv1.ConfirmPromotionHook: "held", flaggerv1.RollbackHook: "no"},
		relReview:  {flaggerv1.PreRolloutHook: "failed check", flaggerv1.ConfirmTrafficIncreaseHook: "held", flaggerv1.RolloutHook: "failed check", flaggerv1.ConfirmPromotionHook: "held", flaggerv1.RollbackHook: "no"},
		relHalt:    {flaggerv1.PreRolloutHook: "failed check", flaggerv1.ConfirmTrafficIncreaseHook: "held", flaggerv1.RolloutHook: "failed check", flaggerv1.ConfirmPromotionHook: "held", flaggerv1.RollbackHook: "rolled back"},
		relUnknown: {flaggerv1.PreRolloutHook: "failed check", flaggerv1.ConfirmTrafficIncreaseHook: "held", flaggerv1.RolloutHook: "failed check", flaggerv1.ConfirmPromotionHook: "held", flaggerv1.RollbackHook: "no"},
	}
	wantDecision := map[string]string{relProceed: "proceed", relWait: "wait", relReview: "review_required", relHalt: "halt", relUnknown: "release not found"}
	for release, hooks := range want {
		t.Run(release, func(t *testing.T) {
			seen := map[flaggerv1.HookType]bool{}
			for _, w := range canary.GetAnalysis().Webhooks {
				md := map[string]string{}
				for k, v := range *w.Metadata {
					md[k] = v
				}
				md["release"] = release
				md["token"] = readToken
				w.Metadata = &md
				phase := flaggerv1.CanaryPhaseProgressing
				err := controller.CallWebhook(canary, phase, w)
				got := outcome(w.Type, err)
				seen[w.Type] = true
				if got != hooks[w.Type] {
					t.Errorf("%s (%s, ring %s): Flagger would %q (err %v), want %q", w.Name, w.Type, md["ring"], got, err, hooks[w.Type])
				}
				// Flagger's caller hands back the body as the error text:
				// it names the decision.
				if err != nil && !strings.Contains(err.Error(), wantDecision[release]) {
					t.Errorf("%s: error text %q does not name %q", w.Name, err, wantDecision[release])
				}
			}
			for hook := range hooks {
				if !seen[hook] {
					t.Errorf("documented Canary has no %s webhook", hook)
				}
			}
		})
	}
}

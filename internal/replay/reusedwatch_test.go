package replay

import (
	"fmt"
	"strings"
	"testing"
)

// A release id deployed again with another version while the old
// version soaks on the same ring (detector/reusedwatch.go), as `aftershock
// replay` shows it: the old version's soak ends with a final verdict that
// says it was replaced and acts on nothing, and the new version is watched
// on its own: its error-rate regression halts it. Before, the new
// version's start was dropped as a duplicate and nobody judged it.
func TestReusedReleaseIDIsWatched(t *testing.T) {
	var s recording
	s.chatter(0, 400, 3, "mastodon")
	s.release(120, "started", "H3")
	s.release(250, "completed", "H3")
	s.lines = append(s.lines, fmt.Sprintf(`{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.3.0","ring":"H3","event":"started"}`, ts(at(300))))
	s.metric(100, 400, "4.2.0", "H3", 0.01)
	s.metric(300, 400, "4.3.0", "H3", 0.05)
	r := run(t, s.input(), Options{})

	// The verdict lines name no version (TestVerdictLineShape): the
	// reasons say which is which.
	var replaced, opening map[string]any
	for _, v := range r.verdicts {
		switch {
		case strings.Contains(reasons(v), "replaced by version 4.3.0 under the same release id shop-4.2.0"):
			replaced = v
		case strings.Contains(reasons(v), "now names version 4.3.0 (before: 4.2.0)"):
			opening = v
		}
	}
	if replaced == nil || replaced["time"] != ts(at(300)) || replaced["action"] != "none" || strings.Contains(reasons(replaced), "moved on") {
		t.Fatalf("final verdict of 4.2.0 %v, want one at %s saying it was replaced, acting on nothing; verdicts %v", replaced, ts(at(300)), r.decisions())
	}
	if opening == nil || opening["time"] != ts(at(300)) || opening["decision"] != "wait" || opening["ring"] != "H3" {
		t.Fatalf("first verdict of 4.3.0 %v, want wait on H3 at %s", opening, ts(at(300)))
	}
	// 4.3.0 is the canary: its 5 % against the old version's 1 %.
	h := r.halts()
	if len(h) != 1 || h[0]["ring"] != "H3" || h[0]["time"].(string) <= ts(at(300)) || !strings.Contains(reasons(h[0]), "error_rate: new version median 0.05 vs baseline 0.01") {
		t.Fatalf("halts %v, want the new version's on H3 for its error rate; verdicts %v", h, r.decisions())
	}
}

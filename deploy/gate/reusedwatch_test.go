package gate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A release id deployed again with another version while the old version
// soaks on H3 (detector/reusedwatch.go), a start published straight to
// NATS that the registry refuses (the release completed). The gate keeps
// the latest verdict of (release, ring): from the reuse on it answers from
// the new version's watch — wait at its start, then its halt — never from
// the old version's pass. Before, the new version was never judged and the
// gate went on answering proceed from the old version's verdict.
func TestGateReusedReleaseIDAnswersForTheNewVersion(t *testing.T) {
	var in strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&in, format+"\n", args...) }
	start, done, reuse := t0.Add(2*time.Hour), t0.Add(4*time.Hour), t0.Add(5*time.Hour)
	for m := range 400 {
		at := t0.Add(time.Duration(m) * time.Minute)
		switch {
		case at.Equal(start):
			line(`{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H3","event":"started"}`, at.Format(time.RFC3339))
		case at.Equal(done):
			line(`{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H3","event":"completed"}`, at.Format(time.RFC3339))
		case at.Equal(reuse):
			line(`{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.3.0","ring":"H3","event":"started"}`, at.Format(time.RFC3339))
		}
		for i, src := range []string{"mastodon", "reddit"} {
			line(`{"type":"post","time":%q,"source":%q,"id":"%d-%d","service":"shop","text":"browsing shop for birthday gifts %d"}`,
				at.Add(time.Duration(10+20*i)*time.Second).Format(time.RFC3339), src, m, i, m)
		}
		if m >= 100 {
			line(`{"type":"metric","time":%q,"service":"shop","version":"4.2.0","ring":"H3","name":"error_rate","value":0.01}`, at.Add(50*time.Second).Format(time.RFC3339))
		}
		if !at.Before(reuse) {
			line(`{"type":"metric","time":%q,"service":"shop","version":"4.3.0","ring":"H3","name":"error_rate","value":0.05}`, at.Add(50*time.Second).Format(time.RFC3339))
		}
	}
	f, url := gateFor(t)
	var passedBefore, waitedAtReuse bool
	var last gateAnswers
	for _, v := range replayVerdicts(t, in.String()) {
		if _, err := f.tracker.Record(context.Background(), v); err != nil {
			t.Fatal(err)
		}
		last = ask(t, url, "shop-4.2.0", "H3")
		switch {
		case v.Time.Before(reuse):
			passedBefore = passedBefore || last.json.Decision == Proceed
		case v.Time.Equal(reuse) && strings.Contains(strings.Join(v.Reasons, " "), "now names version 4.3.0"):
			checkWaits(t, last, "the new version's start")
			waitedAtReuse = true
		}
	}
	if !passedBefore {
		t.Errorf("the calm old version never proceeded on H3")
	}
	if !waitedAtReuse {
		t.Errorf("no wait verdict of the new version at its start")
	}
	if last.json.Decision != Halt || argoPhase(last.argo) != "Failed" {
		t.Fatalf("after the new version's regression: %s (Argo %s) %q, want halt", last.json.Decision, argoPhase(last.argo), last.json.Reasons)
	}
}

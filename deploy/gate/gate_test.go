package gate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/budget"
	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func verdict(release, ring, decision, action string, score float64) signals.Verdict {
	return signals.Verdict{
		Type: signals.TypeVerdict, Time: t0, Release: release, Service: "shop", Ring: ring,
		Score: score, Decision: decision, Action: action, Reasons: []string{"signal reason"},
	}
}

func TestDecide(t *testing.T) {
	watching := releases.Release{ID: "shop-4.2.0", Service: "shop", Ring: "H2", Status: releases.StatusWatching}
	halted, rolledBack, pending := watching, watching, watching
	halted.Status = releases.StatusHalted
	rolledBack.Status = releases.StatusRolledBack
	pending.Status, pending.Ring = releases.StatusPending, ""
	v := func(decision, action string) *signals.Verdict {
		x := verdict("shop-4.2.0", "H2", decision, action, 50)
		return &x
	}
	flag := v(signals.DecisionFail, signals.ActionFlagOff)
	flag.Feature = "new-checkout"
	silent := v(signals.DecisionWait, signals.ActionNone)
	silent.Reasons = []string{"sources silent since 2025-03-04T10:49:41Z: no post from any source for 50m0s: mastodon (last post 2025-03-04T10:49:41Z); waiting", "signal reason"}

	tests := []struct {
		name     string
		rel      releases.Release
		ring     string
		v        *signals.Verdict
		decision string
		reason   string // the first reason
	}{
		{"no verdict yet", watching, "H2", nil, Wait, "no verdict yet for ring H2"},
		{"pending release", pending, "", nil, Wait, "release shop-4.2.0 has not started on a ring"},
		{"verdict wait", watching, "H2", v(signals.DecisionWait, signals.ActionNone), Wait, "not enough evidence yet"},
		{"sources silent", watching, "H2", silent, Wait, "not enough evidence: " + silent.Reasons[0]},
		{"pass", watching, "H2", v(signals.DecisionPass, signals.ActionNone), Proceed, "verdict pass (score 50.0)"},
		{"marginal", watching, "H2", v(signals.DecisionMarginal, signals.ActionNone), ReviewRequired, "verdict marginal (score 50.0): a person should look"},
		{"fail halt", watching, "H2", v(signals.DecisionFail, signals.ActionHalt), Halt, "verdict fail (score 50.0): halt"},
		{"fail flag off", watching, "H2", flag, Proceed, "feature new-checkout switched off; the rest of the release may continue"},
		{"flag off without feature", watching, "H2", v(signals.DecisionFail, signals.ActionFlagOff), Halt, "verdict asks to switch a feature off but names none: halt"},
		{"fail not confirmed", watching, "H2", v(signals.DecisionFail, signals.ActionNone), Wait, "verdict fail (score 50.0) not yet confirmed by consecutive evaluations"},
		{"review required action", watching, "H2", v(signals.DecisionMarginal, signals.ActionReviewRequired), ReviewRequired, "verdict marginal (score 50.0) asks for a review"},
		{"unknown decision", watching, "H2", v("maybe", ""), Wait, `unknown verdict decision "maybe"`},
		{"release halted beats pass", halted, "H2", v(signals.DecisionPass, signals.ActionNone), Halt, "release shop-4.2.0 is halted"},
		{"release rolled back", rolledBack, "H2", nil, Halt, "release shop-4.2.0 is rolled back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := decide(tt.rel, tt.ring, tt.v)
			if a.Decision != tt.decision || len(a.Reasons) == 0 || a.Reasons[0] != tt.reason {
				t.Fatalf("decide = %s %q; want %s %q", a.Decision, a.Reasons, tt.decision, tt.reason)
			}
			if tt.v != nil && (a.Score == nil || *a.Score != 50 || !a.Time.Equal(t0) || a.Reasons[len(a.Reasons)-1] != "signal reason") {
				t.Fatalf("verdict details missing: %+v", a)
			}
			if tt.v == nil && a.Score != nil {
				t.Fatal("score without a verdict")
			}
		})
	}
}

// fixture is a bus with a release registry, tracker, ledger and gate, and
// one release per gate rule.
type fixture struct {
	b       *bus.Bus
	store   *releases.Store
	tracker *Tracker
	ledger  *budget.Ledger
	gate    *Gate
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	f := &fixture{b: b}
	now := func() time.Time { return t0 }
	f.store = releases.NewStore(mustKV(t, b, bus.BucketReleases), quiet(), now)
	f.tracker = NewTracker(b.JS, mustKV(t, b, bus.BucketVerdicts), quiet())
	f.ledger, err = budget.NewLedger(mustKV(t, b, bus.BucketBudgets), budget.Config{Teams: map[string]int{"broke": 0}}, quiet(), now)
	if err != nil {
		t.Fatal(err)
	}
	f.gate = New(f.store, mustKV(t, b, bus.BucketVerdicts), f.ledger, quiet())

	type rel struct {
		id, team, decision, action, feature string
		halted                              bool
	}
	for _, r := range []rel{
		{id: "r-pass", decision: "pass", action: "none"},
		{id: "r-none"},
		{id: "r-wait", decision: "wait", action: "none"},
		{id: "r-halt", decision: "fail", action: "halt"},
		{id: "r-marginal", decision: "marginal", action: "none"},
		{id: "r-flag", decision: "fail", action: "flag_off", feature: "new-checkout"},
		{id: "r-unconfirmed", decision: "fail", action: "none"},
		{id: "r-halted", decision: "pass", action: "none", halted: true},
		{id: "r-broke", team: "broke", decision: "pass", action: "none"},
		{id: "r-broke-halt", team: "broke", decision: "fail", action: "halt"},
	} {
		_, _, err := f.store.Create(ctx, releases.StartRequest{Release: r.id, Service: "shop", Version: "4.2.0", Team: r.team, Authors: []string{"alice"}, Ring: "H2"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if r.halted {
			if _, _, _, err := f.store.Apply(ctx, signals.ReleaseEvent{Release: r.id, Event: signals.EventHalted, Time: t0.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		if r.decision != "" {
			v := verdict(r.id, "H2", r.decision, r.action, 42)
			v.Feature = r.feature
			if _, err := f.tracker.Record(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func mustKV(t *testing.T, b *bus.Bus, name string) jetstream.KeyValue {
	t.Helper()
	k, err := b.KV(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		release, ring string
		decision      string
		reason        string // a substring of the joined reasons
	}{
		{"r-pass", "H2", Proceed, "verdict pass (score 42.0)"},
		{"r-pass", "", Proceed, "verdict pass"}, // the release's current ring
		{"r-pass", "H3", Wait, "no verdict yet for ring H3"},
		{"r-none", "H2", Wait, "no verdict yet for ring H2"},
		{"r-wait", "H2", Wait, "not enough evidence yet"},
		{"r-halt", "H2", Halt, "halt"},
		{"r-marginal", "H2", ReviewRequired, "marginal"},
		{"r-flag", "H2", Proceed, "feature new-checkout switched off"},
		{"r-unconfirmed", "H2", Wait, "not yet confirmed"},
		{"r-halted", "H2", Halt, "release r-halted is halted"},
		{"r-broke", "H2", ReviewRequired, "team broke has used up its reliability budget (0 of 0 left)"},
		{"r-broke-halt", "H2", Halt, "verdict fail (score 42.0): halt"},
	}
	for _, tt := range tests {
		t.Run(tt.release+"/"+tt.ring, func(t *testing.T) {
			a, err := f.gate.Answer(ctx, tt.release, tt.ring)
			if err != nil {
				t.Fatal(err)
			}
			if a.Decision != tt.decision || !strings.Contains(strings.Join(a.Reasons, "; "), tt.reason) {
				t.Fatalf("Answer = %s %q; want %s with %q", a.Decision, a.Reasons, tt.decision, tt.reason)
			}
			if a.OK != (tt.decision == Proceed) || a.Ring == "" || a.Release != tt.release {
				t.Fatalf("answer %+v", a)
			}
		})
	}
	// Exhausted author karma also asks for a review.
	if _, err := f.ledger.Reset(ctx, budget.KindAuthor, "alice", 0, "test"); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.gate.Answer(ctx, "r-pass", "H2"); a.Decision != ReviewRequired || !strings.Contains(a.Reasons[0], "author alice has used up its karma") {
		t.Fatalf("with alice's karma gone: %+v", a)
	}
	if _, err := f.gate.Answer(ctx, "nope", "H2"); !errors.Is(err, releases.ErrNotFound) {
		t.Fatalf("unknown release: %v", err)
	}
	if _, err := f.gate.Answer(ctx, "r-pass", "H2.x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad ring: %v", err)
	}
}

func TestTrackerKeepsNewestVerdict(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := bus.Publisher{JS: f.b.JS}
	newer := verdict("shop-4.2.0", "H2", signals.DecisionFail, signals.ActionHalt, 20)
	newer.Time = t0.Add(10 * time.Minute)
	older := verdict("shop-4.2.0", "H2", signals.DecisionPass, signals.ActionNone, 95)
	other := verdict("shop-4.2.0", "H3", signals.DecisionPass, signals.ActionNone, 99)
	// newer, then an older one arriving late, then newer again (a redelivery
	// or re-judgement), then a message that is not a verdict and one
	// without a ring.
	for _, v := range []signals.Verdict{newer, older, newer, other} {
		if err := pub.Verdict(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, raw := range []string{`{"type":"verdict","release":`, `{"type":"verdict","time":"2026-11-24T09:00:00Z","release":"x","service":"shop","decision":"pass"}`} {
		if _, err := f.b.JS.Publish(ctx, bus.VerdictSubject("shop"), []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- f.tracker.Run(ctx) }()
	waitAcked(t, f, TrackerDurable, 6)

	kv := mustKV(t, f.b, bus.BucketVerdicts)
	e, err := kv.Get(ctx, delivery.HaltKey("shop-4.2.0", "H2"))
	if err != nil {
		t.Fatal(err)
	}
	var got signals.Verdict
	if err := json.Unmarshal(e.Value(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Score != 20 || !got.Time.Equal(newer.Time) || got.Action != signals.ActionHalt {
		t.Fatalf("stored %+v, want the newer verdict", got)
	}
	if _, err := kv.Get(ctx, delivery.HaltKey("shop-4.2.0", "H3")); err != nil {
		t.Fatalf("H3 verdict: %v", err)
	}

	// The consumer is deleted under the tracker: it recreates it and goes on.
	if err := f.b.JS.DeleteConsumer(ctx, bus.StreamVerdicts, TrackerDurable); err != nil {
		t.Fatal(err)
	}
	latest := newer
	latest.Time, latest.Decision, latest.Action, latest.Score = t0.Add(20*time.Minute), signals.DecisionPass, signals.ActionNone, 97
	if err := pub.Verdict(ctx, latest); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		e, err := kv.Get(ctx, delivery.HaltKey("shop-4.2.0", "H2"))
		return err == nil && strings.Contains(string(e.Value()), `"score":97`)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRecordDirect(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v := verdict("shop-4.2.0", "H2", signals.DecisionPass, signals.ActionNone, 90)
	tests := []struct {
		name   string
		at     time.Duration
		stored bool
	}{
		{"first", 0, true},
		{"same time again", 0, true},
		{"newer", time.Minute, true},
		{"older", -time.Minute, false},
	}
	for _, tt := range tests {
		v.Time = t0.Add(tt.at)
		stored, err := f.tracker.Record(ctx, v)
		if err != nil || stored != tt.stored {
			t.Fatalf("%s: stored %v, %v; want %v", tt.name, stored, err, tt.stored)
		}
	}
	v.Ring = ""
	if _, err := f.tracker.Record(ctx, v); !errors.Is(err, ErrInvalid) {
		t.Fatalf("verdict without ring: %v", err)
	}
}

func waitAcked(t *testing.T, f *fixture, durable string, seq uint64) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, func() bool {
		c, err := f.b.JS.Consumer(ctx, bus.StreamVerdicts, durable)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.AckFloor.Stream >= seq
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

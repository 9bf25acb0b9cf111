package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

func TestHaltQueuedOncePerReleaseAndRing(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	halts, _ := b.KV(ctx, bus.BucketHalts)
	now := func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }
	d := New(b.JS, halts, []Target{{"hook", []string{EventHalt}}, {"chat", []string{EventHalt}}}, "https://grafana/d/x?release={release}&ring={ring}", now, slog.New(slog.NewTextHandler(io.Discard, nil)))

	halt := signals.Verdict{Time: now(), Release: "shop-4.2.0", Service: "shop", Ring: "H3", Decision: "fail", Action: "halt", Score: 20}
	pass := halt
	pass.Decision, pass.Action = "pass", "none"
	otherRing := halt
	otherRing.Ring = "H2"
	for _, v := range []signals.Verdict{pass, halt, halt, otherRing, halt} {
		if err := d.Handle(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := b.JS.Stream(ctx, bus.StreamDeliveries)
	if err != nil {
		t.Fatal(err)
	}
	// Two rings halted once each, for two notifiers.
	if n := s.CachedInfo().State.Msgs; n != 4 {
		t.Fatalf("%d notices queued, want 4", n)
	}
	m, err := s.GetLastMsgForSubject(ctx, bus.DeliverySubject("hook"))
	if err != nil {
		t.Fatal(err)
	}
	var n deploy.Notice
	if err := json.Unmarshal(m.Data, &n); err != nil {
		t.Fatal(err)
	}
	if n.Key == "" || n.Verdict.Ring != "H2" || n.Dashboard != "https://grafana/d/x?release=shop-4.2.0&ring=H2" || !n.Created.Equal(now()) {
		t.Fatalf("notice %+v", n)
	}
}

func TestRunAcksVerdicts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	halts, _ := b.KV(ctx, bus.BucketHalts)
	d := New(b.JS, halts, []Target{{"hook", []string{EventHalt}}}, "", time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	pub := bus.Publisher{JS: b.JS}
	if _, err := b.JS.Publish(ctx, bus.VerdictSubject("shop"), []byte(`{"type":"verdict","time":"bad"}`)); err != nil {
		t.Fatal(err)
	}
	if err := pub.Verdict(ctx, signals.Verdict{Time: time.Now(), Release: "r", Service: "shop", Ring: "H2", Decision: "fail", Action: "halt"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := b.JS.Consumer(ctx, bus.StreamVerdicts, Durable)
		if err == nil {
			info, err := c.Info(ctx)
			if err == nil && info.AckFloor.Stream == 2 && info.NumAckPending == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("verdicts not acked (or the bad one not terminated)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, _ := b.JS.Stream(ctx, bus.StreamDeliveries)
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("%d notices, want 1", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestChatGetsEveryChangeOnceAndWebhookOnlyHalts(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	halts, _ := b.KV(ctx, bus.BucketHalts)
	d := New(b.JS, halts, []Target{{"hook", []string{EventHalt, EventFlagOff}}, {"chat", Events}}, "", time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	v := func(min int, decision, action string) signals.Verdict {
		return signals.Verdict{Time: at.Add(time.Duration(min) * time.Minute), Release: "r", Service: "shop", Ring: "H3", Decision: decision, Action: action}
	}
	seq := []signals.Verdict{v(1, "wait", "none"), v(2, "pass", "none"), v(2, "pass", "none"), v(5, "fail", "none"), v(6, "fail", "halt"), v(6, "fail", "halt")}
	for _, x := range seq {
		if err := d.Handle(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := b.JS.Stream(ctx, bus.StreamDeliveries)
	count := func(subject string) uint64 {
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Subjects[subject]
	}
	if got := count(bus.DeliverySubject("chat")); got != 4 {
		t.Errorf("chat got %d notices, want 4 (wait, pass, fail, halt; redeliveries dropped)", got)
	}
	if got := count(bus.DeliverySubject("hook")); got != 1 {
		t.Errorf("webhook got %d notices, want 1 halt", got)
	}
}

// TestNoticeKeysReadable: the webhook-id (and Idempotency-Key) of a halt is
// the readable, stable "halt:<release>:<ring>" the webhook README documents,
// not the escaped KV key.
func TestNoticeKeysReadable(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	halts, _ := b.KV(ctx, bus.BucketHalts)
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	d := New(b.JS, halts, []Target{{"hook", Events}}, "", func() time.Time { return at }, slog.New(slog.DiscardHandler))
	halt := signals.Verdict{Time: at, Release: "shop-4.2.0", Service: "shop", Ring: "H2", Decision: "fail", Action: "halt", Score: 20}
	flag := halt
	flag.Action, flag.Feature = "flag_off", "checkout"
	pass := halt
	pass.Decision, pass.Action = "pass", "none"
	want := map[string]signals.Verdict{
		"halt:shop-4.2.0:H2":                                halt,
		"flag_off:shop-4.2.0:H2:checkout":                   flag,
		fmt.Sprintf("pass:shop-4.2.0:H2:%d", at.UnixNano()): pass,
	}
	s, _ := b.JS.Stream(ctx, bus.StreamDeliveries)
	for key, v := range want {
		if err := d.Handle(ctx, v); err != nil {
			t.Fatal(err)
		}
		m, err := s.GetLastMsgForSubject(ctx, bus.DeliverySubject("hook"))
		if err != nil {
			t.Fatal(err)
		}
		var n deploy.Notice
		if err := json.Unmarshal(m.Data, &n); err != nil {
			t.Fatal(err)
		}
		if n.Key != key {
			t.Errorf("%s verdict: notice key %q, want %q", v.Action, n.Key, key)
		}
	}
	doc, err := os.ReadFile("../webhook/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Idempotency-Key: ", "webhook-id: ", `"idempotency_key":"`} {
		if !strings.Contains(string(doc), h+NoticeKey(EventHalt, "shop-4.2.0", "H2", "")) {
			t.Errorf("deploy/webhook/README.md: no %s%s", h, NoticeKey(EventHalt, "shop-4.2.0", "H2", ""))
		}
	}
}

// TestDeadLetterAnnounced: a halt given up on is posted to chat with the
// command that re-sends it, but not to the notifier that failed, and a
// failed announcement is not announced again.
func TestDeadLetterAnnounced(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	halts, _ := b.KV(ctx, bus.BucketHalts)
	d := New(b.JS, halts, []Target{{"hook", []string{EventHalt, EventFlagOff}}, {"chat", Events}, {"chat2", Events}}, "", time.Now, slog.New(slog.DiscardHandler))
	v := signals.Verdict{Time: time.Now(), Release: "shop-4.2.0", Service: "shop", Ring: "H2", Decision: "fail", Action: "halt", Score: 20, Reasons: []string{"errors up"}}
	dl := delivery.DeadLetter{ID: "hook:halt:shop-4.2.0:H2", Notifier: "hook", Reason: "rejected", Error: "posting webhook: 400 Bad Request",
		Notice: deploy.Notice{Key: "halt:shop-4.2.0:H2", Verdict: v, Created: time.Now()}}
	d.DeadLetter(ctx, dl)
	chatAgain := dl
	chatAgain.Notifier, chatAgain.ID = "chat2", "chat2:delivery_failed:hook:halt:shop-4.2.0:H2:0"
	chatAgain.Notice.Key = "delivery_failed:hook:halt:shop-4.2.0:H2:0"
	d.DeadLetter(ctx, chatAgain)

	s, _ := b.JS.Stream(ctx, bus.StreamDeliveries)
	if n := s.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("%d notices queued, want 2 (one per chat notifier, none for the hook, none for the failed announcement)", n)
	}
	m, err := s.GetLastMsgForSubject(ctx, bus.DeliverySubject("chat"))
	if err != nil {
		t.Fatal(err)
	}
	var n deploy.Notice
	if err := json.Unmarshal(m.Data, &n); err != nil {
		t.Fatal(err)
	}
	if len(n.Verdict.Reasons) != 2 || !strings.Contains(n.Verdict.Reasons[0], "aftershock deliveries resend hook:halt:shop-4.2.0:H2") || !strings.Contains(n.Verdict.Reasons[0], "400 Bad Request") {
		t.Errorf("chat notice reasons %q", n.Verdict.Reasons)
	}
}

// After a person resumed a halted ring (Rearm), a new halt of that ring
// is queued exactly once more, with a new key; repeats before the resume,
// and verdicts computed before it, are not.
func TestRearmAfterResume(t *testing.T) {
	ctx, b, halts, d, at := haltDispatcher(t, "store")
	halt := func(min int, ring string) signals.Verdict {
		return signals.Verdict{Time: at.Add(time.Duration(min) * time.Minute), Release: "shop-ios-4.2.0", Service: "shop-ios", Ring: ring, Decision: "fail", Action: "halt"}
	}
	keys := func() []string { t.Helper(); return noticeKeys(t, ctx, b) }
	handle := func(vs ...signals.Verdict) {
		t.Helper()
		for _, v := range vs {
			if err := d.Handle(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	handle(halt(1, "H3"), halt(2, "H3")) // the second is the same incident
	if got := keys(); fmt.Sprint(got) != "[halt:shop-ios-4.2.0:H3]" {
		t.Fatalf("before the resume: %v", got)
	}
	gen, err := Rearm(ctx, halts, "shop-ios-4.2.0", "H3", "oncall", at.Add(10*time.Minute))
	if err != nil || gen != 1 {
		t.Fatalf("Rearm = %d, %v; want 1", gen, err)
	}
	// A verdict of the old incident computed before the resume (a
	// redelivery) is not a new halt; one after it is, once.
	handle(halt(5, "H3"), halt(11, "H3"), halt(12, "H3"), halt(13, "H3"))
	want := "[halt:shop-ios-4.2.0:H3 halt:shop-ios-4.2.0:H3:resumed-1]"
	if got := keys(); fmt.Sprint(got) != want {
		t.Fatalf("after one resume: %v, want %v", got, want)
	}
	// Another ring was never resumed: its first halt goes out as before.
	handle(halt(14, "H2"))
	if gen, err := Rearm(ctx, halts, "shop-ios-4.2.0", "H3", "oncall", at.Add(20*time.Minute)); err != nil || gen != 2 {
		t.Fatalf("second Rearm = %d, %v; want 2", gen, err)
	}
	handle(halt(19, "H3"), halt(21, "H3"), halt(22, "H3"))
	want = "[halt:shop-ios-4.2.0:H3 halt:shop-ios-4.2.0:H3:resumed-1 halt:shop-ios-4.2.0:H2 halt:shop-ios-4.2.0:H3:resumed-2]"
	if got := keys(); fmt.Sprint(got) != want {
		t.Fatalf("after two resumes: %v, want %v", got, want)
	}
	r, _, err := generation(ctx, halts, "shop-ios-4.2.0", "H3")
	if err != nil || r.Generation != 2 || r.By != "oncall" || !r.Resumed.Equal(at.Add(20*time.Minute)) {
		t.Fatalf("re-arm record %+v, %v", r, err)
	}
}

// Concurrent re-arms each get their own generation.
func TestRearmConcurrent(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	halts, _ := b.KV(ctx, bus.BucketHalts)
	const n = 4
	gens := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			g, err := Rearm(ctx, halts, "r", "H2", "", time.Now())
			if err != nil {
				t.Error(err)
			}
			gens <- g
		}()
	}
	seen := map[int]bool{}
	for i := 0; i < n; i++ {
		seen[<-gens] = true
	}
	if len(seen) != n || !seen[1] || !seen[n] {
		t.Fatalf("generations %v, want 1..%d once each", seen, n)
	}
}

// A release id reused for another version (detector/reusedwatch.go): the
// new version's halt on a ring where the old version halted goes out once,
// with its own notice key, instead of being dropped as already sent; a
// verdict naming no version, or the old version again, is the old claim's.
// A claim made before claims kept their version counts as that version's.
func TestHaltOfAReusedReleaseIDGoesOut(t *testing.T) {
	ctx, b, halts, d, at := haltDispatcher(t, "hook")
	halt := func(min int, release, version, ring string) signals.Verdict {
		return signals.Verdict{Time: at.Add(time.Duration(min) * time.Minute), Release: release, Service: "shop", Version: version, Ring: ring, Decision: "fail", Action: "halt"}
	}
	keys := func() []string { t.Helper(); return noticeKeys(t, ctx, b) }
	// A claim from before claims kept their version.
	if _, err := halts.Create(ctx, delivery.HaltKey("shop-old", "H2"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	for _, v := range []signals.Verdict{
		halt(1, "shop-4.2.0", "4.2.0", "H2"),
		halt(2, "shop-4.2.0", "4.2.0", "H2"), // the same incident
		halt(3, "shop-4.2.0", "", "H2"),      // naming no version: the same claim
		halt(60, "shop-4.2.0", "4.3.0", "H2"),
		halt(61, "shop-4.2.0", "4.3.0", "H2"),
		halt(62, "shop-4.2.0", "4.2.0", "H2"),
		halt(63, "shop-old", "4.3.0", "H2"),
	} {
		if err := d.Handle(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	want := "[halt:shop-4.2.0:H2 halt:shop-4.2.0:H2:version-4.3.0]"
	if got := fmt.Sprint(keys()); got != want {
		t.Fatalf("notices %s, want %s", got, want)
	}
}

// noticeKeys are the keys of the notices queued on b's deliveries stream,
// in order.
func noticeKeys(t *testing.T, ctx context.Context, b *bus.Bus) []string {
	t.Helper()
	s, err := b.JS.Stream(ctx, bus.StreamDeliveries)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := uint64(1); seq <= s.CachedInfo().State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var n deploy.Notice
		if err := json.Unmarshal(m.Data, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n.Key)
	}
	return out
}

// haltDispatcher is a dispatcher on a fresh broker that sends halts to one
// target, with its clock fixed at the time it returns.
func haltDispatcher(t *testing.T, target string) (context.Context, *bus.Bus, jetstream.KeyValue, *Dispatcher, time.Time) {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	halts, err := b.KV(ctx, bus.BucketHalts)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	d := New(b.JS, halts, []Target{{target, []string{EventHalt}}}, "", func() time.Time { return at }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return ctx, b, halts, d, at
}

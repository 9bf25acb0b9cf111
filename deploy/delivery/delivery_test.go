package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/notifiertest"
	"github.com/aftershock/aftershock/deploy/webhook"
	"github.com/aftershock/aftershock/internal/bus"
)

const (
	kind   = "webhook"
	secret = "a-raw-secret-of-32-bytes-length!"
)

// fast keeps retries quick in tests.
var fast = Config{BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Deadline: time.Minute, AttemptTimeout: 2 * time.Second}

func openBus(t *testing.T, dir string) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: dir, Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Registered before any worker's cleanup, so it runs after it.
	t.Cleanup(b.Close)
	return b
}

// receiver is a halt webhook endpoint: it verifies each request, then answers
// with the next scripted status (200 once the script is used up).
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	script []int
	delay  time.Duration
	ids    []string // webhook-id of every request
	times  []time.Time
	ok     map[string]int // 2xx answers per webhook-id
	srv    *httptest.Server
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{t: t, script: script, ok: map[string]int{}}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := webhook.Verify([]byte(secret), req.Header, body, time.Now(), time.Minute); err != nil {
		r.t.Errorf("receiver: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get(webhook.HeaderID)
	r.ids = append(r.ids, id)
	r.times = append(r.times, time.Now())
	status := http.StatusOK
	if len(r.script) > 0 {
		status, r.script = r.script[0], r.script[1:]
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	if status < 300 {
		r.ok[id]++
	}
	w.WriteHeader(status)
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func (r *receiver) delivered(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok[id]
}

func notifierFor(t *testing.T, url string) deploy.Notifier {
	t.Helper()
	n, err := webhook.New(webhook.Config{URL: url, Secret: secret, Timeout: time.Second}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// syncBuffer collects log lines from the worker goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the decoded JSON log records with message msg.
func (b *syncBuffer) lines(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(b.buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

type running struct {
	reg  *prometheus.Registry
	logs *syncBuffer
	stop func()
}

// start runs a worker until the test ends (or stop is called).
func start(t *testing.T, b *bus.Bus, n deploy.Notifier, cfg Config, now func() time.Time, setup ...func(*Worker)) *running {
	t.Helper()
	r := &running{reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := New(b.JS, kind, n, cfg, log, r.reg, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return 10s after cancel")
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// metric reads one counter or gauge; labels are name=value pairs.
func (r *running) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func notice(created time.Time) deploy.Notice {
	n := notifiertest.Sample()
	n.Created = created
	return n
}

func enqueue(t *testing.T, b *bus.Bus, n deploy.Notice) {
	t.Helper()
	if err := Enqueue(context.Background(), b.JS, kind, n); err != nil {
		t.Fatal(err)
	}
}

func streamMsgs(t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	s, err := b.JS.Stream(context.Background(), bus.StreamDeliveries)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestEnqueue(t *testing.T) {
	b := openBus(t, t.TempDir())
	ctx := context.Background()
	n := notice(time.Now())
	for range 3 {
		if err := Enqueue(ctx, b.JS, kind, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := streamMsgs(t, b); got != 1 {
		t.Errorf("after enqueueing the same notice 3 times the stream holds %d messages, want 1", got)
	}
	// Another kind is another delivery.
	if err := Enqueue(ctx, b.JS, "slack", n); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, b); got != 2 {
		t.Errorf("stream holds %d messages, want 2", got)
	}

	bad := []struct {
		name string
		kind string
		mod  func(*deploy.Notice)
		want string
	}{
		{"kind with a dot", "web.hook", func(*deploy.Notice) {}, "not a valid name"},
		{"no key", kind, func(n *deploy.Notice) { n.Key = "" }, "key"},
		{"key with newline", kind, func(n *deploy.Notice) { n.Key = "a\nb" }, "key"},
		{"no created time", kind, func(n *deploy.Notice) { n.Created = time.Time{} }, "created"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			n := notice(time.Now())
			tc.mod(&n)
			err := Enqueue(ctx, b.JS, tc.kind, n)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Enqueue = %v, want an error about %s", err, tc.want)
			}
		})
	}
}

func TestHaltKey(t *testing.T) {
	b := openBus(t, t.TempDir())
	halts, err := b.KV(context.Background(), bus.BucketHalts)
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{
		{"shop-4.2.0", "H2"}, {"shop-4", "2.0.H2"}, {"shop-4.2.0.H2", ""}, {"shop 4.2.0", "H2"},
		{"shop_4.2.0", "H2"}, {"shop=2E4", "H2"}, {"Ünïcode/release*>", "H3"}, {"", ""},
	}
	seen := map[string][2]string{}
	for _, p := range pairs {
		key := HaltKey(p[0], p[1])
		if prev, dup := seen[key]; dup {
			t.Errorf("HaltKey(%q) = HaltKey(%q) = %q", p, prev, key)
		}
		seen[key] = p
		if _, err := halts.Put(context.Background(), key, []byte("1")); err != nil {
			t.Errorf("HaltKey(%q) = %q is not a valid KV key: %v", p, key, err)
		}
	}
	if got := HaltKey("shop-4.2.0", "H2"); got != "shop-4=2E2=2E0.H2" {
		t.Errorf("HaltKey = %q", got)
	}
}

func TestOnce(t *testing.T) {
	b := openBus(t, t.TempDir())
	ctx := context.Background()
	halts, err := b.KV(ctx, bus.BucketHalts)
	if err != nil {
		t.Fatal(err)
	}
	// Half the callers go through a second JetStream context, as a second
	// process would (the embedded server takes no outside connections).
	b2js, err := jetstream.New(b.NC)
	if err != nil {
		t.Fatal(err)
	}
	halts2, err := b2js.KeyValue(ctx, bus.BucketHalts)
	if err != nil {
		t.Fatal(err)
	}
	key := HaltKey("shop-4.2.0", "H2")
	var mu sync.Mutex
	firsts := 0
	var wg sync.WaitGroup
	for i := range 16 {
		kv := halts
		if i%2 == 1 {
			kv = halts2
		}
		wg.Go(func() {
			first, err := Once(ctx, kv, key)
			if err != nil {
				t.Error(err)
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d callers got first=true, want 1", firsts)
	}
	if first, _ := Once(ctx, halts, HaltKey("shop-4.2.0", "H3")); !first {
		t.Error("another ring is another halt")
	}
	if err := Forget(ctx, halts, key); err != nil {
		t.Fatal(err)
	}
	if first, err := Once(ctx, halts, key); !first || err != nil {
		t.Errorf("after Forget: Once = %v, %v; want true", first, err)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	b := openBus(t, t.TempDir())
	rcv := newReceiver(t, 503, 502, 500)
	n := notice(time.Now())
	enqueue(t, b, n)
	w := start(t, b, notifierFor(t, rcv.srv.URL), fast, time.Now)

	waitFor(t, "delivery", 10*time.Second, func() bool { return rcv.delivered(n.Key) == 1 })
	waitFor(t, "empty queue", 5*time.Second, func() bool { return streamMsgs(t, b) == 0 })
	time.Sleep(200 * time.Millisecond) // a stray redelivery would show up here
	w.stop()

	if got := rcv.requests(); got != 4 {
		t.Errorf("receiver got %d requests, want 4 (3 failures, 1 success)", got)
	}
	if got := rcv.delivered(n.Key); got != 1 {
		t.Errorf("delivered %d times, want 1", got)
	}
	for i, id := range rcv.ids {
		if id != n.Key {
			t.Errorf("attempt %d: webhook-id %q, want %q on every attempt", i+1, id, n.Key)
		}
	}
	for name, want := range map[string]float64{
		"aftershock_delivery_attempts_total": 4,
		"aftershock_delivery_success_total":  1,
		"aftershock_delivery_retries_total":  3,
		"aftershock_delivery_failed_total":   0,
		"aftershock_delivery_pending":        0,
	} {
		if got := w.metric(t, name, "kind", kind); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if recs := w.logs.lines("notice delivered"); len(recs) != 1 || recs[0]["attempt"] != 4.0 {
		t.Errorf("delivered log records: %v, want one with attempt 4", recs)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	b := openBus(t, t.TempDir())
	rcv := newReceiver(t, http.StatusTooManyRequests) // with Retry-After: 1
	n := notice(time.Now())
	enqueue(t, b, n)
	start(t, b, notifierFor(t, rcv.srv.URL), fast, time.Now)
	waitFor(t, "delivery", 10*time.Second, func() bool { return rcv.delivered(n.Key) == 1 })
	rcv.mu.Lock()
	gap := rcv.times[1].Sub(rcv.times[0])
	rcv.mu.Unlock()
	if gap < 900*time.Millisecond {
		t.Errorf("second attempt %s after a 429 with Retry-After: 1, want about 1s", gap)
	}
}

func TestReceiverDownThenUp(t *testing.T) {
	b := openBus(t, t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	n := notice(time.Now())
	enqueue(t, b, n)
	w := start(t, b, notifierFor(t, "http://"+addr+"/halt"), fast, time.Now)
	waitFor(t, "failed attempts", 5*time.Second, func() bool {
		return w.metric(t, "aftershock_delivery_retries_total", "kind", kind) >= 3
	})
	waitFor(t, "pending gauge", 5*time.Second, func() bool {
		return w.metric(t, "aftershock_delivery_pending", "kind", kind) == 1
	})

	rcv := &receiver{t: t, ok: map[string]int{}}
	srv := httptest.NewUnstartedServer(rcv)
	srv.Listener.Close()
	if srv.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Close()

	waitFor(t, "delivery", 10*time.Second, func() bool { return rcv.delivered(n.Key) == 1 })
	waitFor(t, "empty queue", 5*time.Second, func() bool { return streamMsgs(t, b) == 0 })
	if got := w.metric(t, "aftershock_delivery_success_total", "kind", kind); got != 1 {
		t.Errorf("successes = %v, want 1", got)
	}
}

// TestRestart stops worker and server while a notice waits for a retry, then
// starts both again on the same data directory.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	rcv := newReceiver(t, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503)
	n := notice(time.Now())
	cfg := fast
	cfg.BaseBackoff, cfg.MaxBackoff = 20*time.Millisecond, 100*time.Millisecond

	b := openBus(t, dir)
	enqueue(t, b, n)
	w := start(t, b, notifierFor(t, rcv.srv.URL), cfg, time.Now)
	waitFor(t, "a few failed attempts", 10*time.Second, func() bool { return rcv.requests() >= 3 })
	w.stop()
	b.Close()

	before := rcv.requests()
	rcv.mu.Lock()
	rcv.script = nil // the receiver recovers while we are down
	rcv.mu.Unlock()

	b = openBus(t, dir)
	w = start(t, b, notifierFor(t, rcv.srv.URL), cfg, time.Now)
	waitFor(t, "delivery after restart", 15*time.Second, func() bool { return rcv.delivered(n.Key) == 1 })
	waitFor(t, "empty queue", 5*time.Second, func() bool { return streamMsgs(t, b) == 0 })
	time.Sleep(300 * time.Millisecond)
	w.stop()

	if got := rcv.delivered(n.Key); got != 1 {
		t.Errorf("delivered %d times, want exactly 1", got)
	}
	recs := w.logs.lines("notice delivered")
	if len(recs) != 1 {
		t.Fatalf("delivered log records: %v", recs)
	}
	// The attempt count carries over the restart (NumDelivered), so backoff
	// doesn't start from scratch.
	if a, _ := recs[0]["attempt"].(float64); int(a) <= before {
		t.Errorf("attempt after restart = %v, want more than the %d before", recs[0]["attempt"], before)
	}
}

func TestPermanentFailure(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			b := openBus(t, t.TempDir())
			rcv := newReceiver(t, status)
			n := notice(time.Now())
			enqueue(t, b, n)
			w := start(t, b, notifierFor(t, rcv.srv.URL), fast, time.Now)
			waitFor(t, "failure", 5*time.Second, func() bool {
				return w.metric(t, "aftershock_delivery_failed_total", "kind", kind, "reason", "rejected") == 1
			})
			waitFor(t, "empty queue", 5*time.Second, func() bool { return streamMsgs(t, b) == 0 })
			time.Sleep(200 * time.Millisecond)
			if got := rcv.requests(); got != 1 {
				t.Errorf("receiver got %d requests, want 1 (no retry after %d)", got, status)
			}
			recs := w.logs.lines("delivery failed for good")
			if len(recs) != 1 || recs[0]["level"] != "ERROR" || !strings.Contains(recs[0]["err"].(string), http.StatusText(status)) {
				t.Errorf("error log: %v", recs)
			}
			if strings.Contains(w.logs.buf.String(), secret) {
				t.Error("logs contain the secret")
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	t.Run("passed before the first attempt", func(t *testing.T) {
		b := openBus(t, t.TempDir())
		rcv := newReceiver(t)
		enqueue(t, b, notice(time.Now().Add(-2*time.Hour)))
		w := start(t, b, notifierFor(t, rcv.srv.URL), Config{}, time.Now) // default deadline 1h
		waitFor(t, "failure", 5*time.Second, func() bool {
			return w.metric(t, "aftershock_delivery_failed_total", "kind", kind, "reason", "deadline") == 1
		})
		waitFor(t, "empty queue", 5*time.Second, func() bool { return streamMsgs(t, b) == 0 })
		if got := rcv.requests(); got != 0 {
			t.Errorf("receiver got %d requests for an expired notice", got)
		}
	})
	t.Run("passes while retrying", func(t *testing.T) {
		b := openBus(t, t.TempDir())
		script := make([]int, 1000)
		for i := range script {
			script[i] = http.StatusServiceUnavailable
		}
		rcv := newReceiver(t, script...)
		cfg := fast
		cfg.Deadline = 400 * time.Millisecond
		enqueue(t, b, notice(time.Now()))
		w := start(t, b, notifierFor(t, rcv.srv.URL), cfg, time.Now)
		waitFor(t, "failure", 5*time.Second, func() bool {
			return w.metric(t, "aftershock_delivery_failed_total", "kind", kind, "reason", "deadline") == 1
		})
		waitFor(t, "empty queue", 5*time.Second, func() bool { return streamMsgs(t, b) == 0 })
		n := rcv.requests()
		time.Sleep(200 * time.Millisecond)
		if n < 2 || rcv.requests() != n {
			t.Errorf("receiver got %d then %d requests; want several, then none after the deadline", n, rcv.requests())
		}
	})
}

func TestMalformedSkipped(t *testing.T) {
	b := openBus(t, t.TempDir())
	ctx := context.Background()
	// Many, because quickly settled messages once exposed a stall in the
	// client's Consume pull accounting.
	for range 50 {
		for _, junk := range []string{"{not json", `{"key":""}`, "\xff\xfe"} {
			if _, err := b.JS.Publish(ctx, bus.DeliverySubject(kind), []byte(junk)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rcv := newReceiver(t)
	n := notice(time.Now())
	enqueue(t, b, n)
	w := start(t, b, notifierFor(t, rcv.srv.URL), fast, time.Now)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", w.logs.buf.String())
		}
	})
	waitFor(t, "delivery", 10*time.Second, func() bool { return rcv.delivered(n.Key) == 1 })
	waitFor(t, "malformed counted", 5*time.Second, func() bool {
		return w.metric(t, "aftershock_delivery_failed_total", "kind", kind, "reason", "malformed") == 150
	})
	waitFor(t, "empty queue", 5*time.Second, func() bool { return streamMsgs(t, b) == 0 })
}

// TestConsumerRecreated deletes the durable consumer under a running worker
// (nats.go #1729: Consume stops for good on "consumer deleted").
func TestConsumerRecreated(t *testing.T) {
	b := openBus(t, t.TempDir())
	rcv := newReceiver(t)
	w := start(t, b, notifierFor(t, rcv.srv.URL), fast, time.Now)
	ctx := context.Background()
	waitFor(t, "consumer", 5*time.Second, func() bool {
		_, err := b.JS.Consumer(ctx, bus.StreamDeliveries, "deliveries_"+kind)
		return err == nil
	})
	if err := b.JS.DeleteConsumer(ctx, bus.StreamDeliveries, "deliveries_"+kind); err != nil {
		t.Fatal(err)
	}
	// The worker learns of the deletion from its pending pull (409) at
	// once; a pull sent in the moment of the deletion learns it only when
	// it expires (fetchWait), which a loaded machine makes possible.
	waitFor(t, "recreate", fetchWait+5*time.Second, func() bool {
		return len(w.logs.lines("delivery consumer stopped, recreating")) > 0
	})
	n := notice(time.Now())
	enqueue(t, b, n)
	waitFor(t, "delivery", 10*time.Second, func() bool { return rcv.delivered(n.Key) == 1 })
}

// TestGracefulDrain cancels the worker while a slow receiver is answering:
// Run returns only after that delivery finished and was acked.
func TestGracefulDrain(t *testing.T) {
	b := openBus(t, t.TempDir())
	rcv := newReceiver(t)
	rcv.delay = 500 * time.Millisecond
	n := notice(time.Now())
	enqueue(t, b, n)
	w := start(t, b, notifierFor(t, rcv.srv.URL), fast, time.Now)
	waitFor(t, "attempt", 5*time.Second, func() bool {
		return w.metric(t, "aftershock_delivery_attempts_total", "kind", kind) == 1
	})
	w.stop()
	if got := rcv.delivered(n.Key); got != 1 {
		t.Errorf("after Run returned: delivered %d times, want the in-flight delivery finished", got)
	}
	if got := streamMsgs(t, b); got != 0 {
		t.Errorf("after Run returned the queue holds %d messages, want the delivery acked", got)
	}
}

func TestConfig(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c != (Config{BaseBackoff: time.Second, MaxBackoff: 5 * time.Minute, Deadline: time.Hour, AttemptTimeout: 30 * time.Second}) {
		t.Errorf("defaults: %+v", c)
	}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{BaseBackoff: time.Minute, MaxBackoff: time.Second}, "delivery.max_backoff: 1s is below base_backoff 1m0s"},
		{Config{Deadline: -time.Second}, "delivery.deadline: -1s"},
		{Config{BaseBackoff: time.Microsecond}, "delivery.base_backoff: 1µs, want at least 1ms"},
		{Config{AttemptTimeout: time.Hour}, "delivery.attempt_timeout: 1h0m0s"},
	}
	for _, tc := range bad {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	w := &Worker{cfg: Config{BaseBackoff: time.Second, MaxBackoff: 5 * time.Minute}}
	for attempt := 1; attempt <= 40; attempt++ {
		ceil := min(time.Second<<min(attempt-1, 30), 5*time.Minute)
		distinct := map[time.Duration]bool{}
		for range 50 {
			d := w.backoff(attempt)
			if d <= 0 || d > ceil {
				t.Fatalf("backoff(%d) = %s, want in (0, %s]", attempt, d, ceil)
			}
			distinct[d] = true
		}
		if len(distinct) < 40 {
			t.Errorf("backoff(%d): only %d distinct waits in 50, want jitter", attempt, len(distinct))
		}
	}
}

func TestNewRejectsBadKind(t *testing.T) {
	b := openBus(t, t.TempDir())
	_, err := New(b.JS, "a.b", nil, Config{}, slog.New(slog.DiscardHandler), nil, time.Now)
	if err == nil {
		t.Error("New accepted kind a.b")
	}
	// Two kinds share one registry.
	reg := prometheus.NewRegistry()
	for _, k := range []string{"webhook", "slack"} {
		if _, err := New(b.JS, k, nil, Config{}, slog.New(slog.DiscardHandler), reg, time.Now); err != nil {
			t.Errorf("New(%s) on a shared registry: %v", k, err)
		}
	}
}

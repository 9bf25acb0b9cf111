package natsmetrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/natsmetrics"
	"github.com/aftershock/aftershock/crawlers/push"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// run runs an ingestor until the test ends.
func run(t *testing.T, nc *nats.Conn, pub natsmetrics.Publisher) *natsmetrics.Ingestor {
	t.Helper()
	g := natsmetrics.New(nc, pub, nil, clock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// Run has subscribed once a request goes through.
	waitSubscribed(t, nc)
	return g
}

func waitSubscribed(t *testing.T, nc *nats.Conn) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := nc.Request(natsmetrics.PushSubject("probe"), []byte(`[]`), 200*time.Millisecond); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("ingestor not subscribed within 5s")
		}
	}
}

func request(t *testing.T, nc *nats.Conn, service, body string) natsmetrics.Reply {
	t.Helper()
	msg, err := nc.Request(natsmetrics.PushSubject(service), []byte(body), 5*time.Second)
	if err != nil {
		t.Fatalf("request to %s: %v", natsmetrics.PushSubject(service), err)
	}
	var r natsmetrics.Reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("reply %s: %v", msg.Data, err)
	}
	return r
}

// TestIngest pushes valid and invalid samples over core NATS and reads
// back what reached the METRICS stream.
func TestIngest(t *testing.T) {
	b := crawlertest.StartBus(t)
	g := run(t, b.NC, bus.Publisher{JS: b.JS})

	tests := []struct {
		name         string
		service      string
		body         string
		wantAccepted int
		wantRejected []int  // indexes
		wantError    string // Reply.Error
		rejectText   string // in the first rejection
	}{
		{name: "minimal sample: type, service and time filled in", service: "shop",
			body: `{"name":"error_rate","version":"4.2.0","ring":"h2","value":0.012}`, wantAccepted: 1},
		{name: "full wire shape", service: "shop",
			body: `{"type":"metric","time":"2026-11-24T09:59:00Z","service":"shop","name":"error_rate","value":0.003}`, wantAccepted: 1},
		{name: "array with a bad element", service: "shop",
			body: `[{"name":"latency_p99","value":0.25,"ring":"h3"},{"name":"latency_p99"}]`, wantAccepted: 1, wantRejected: []int{1}, rejectText: `missing "value"`},
		{name: "JSON lines with a malformed line", service: "shop",
			body: "{\"name\":\"http_5xx\",\"value\":3}\n{\"name\":\n", wantAccepted: 1, wantRejected: []int{1}, rejectText: "malformed JSON"},
		{name: "another service in the body", service: "shop",
			body: `{"service":"billing","name":"error_rate","value":1}`, wantRejected: []int{0}, rejectText: `service "billing", but published on push.metrics.shop`},
		{name: "another type", service: "shop",
			body: `{"type":"post","name":"error_rate","value":1}`, wantRejected: []int{0}, rejectText: `type "post"`},
		{name: "no name", service: "shop", body: `{"value":1}`, wantRejected: []int{0}, rejectText: `missing "name"`},
		{name: "value is a string", service: "shop", body: `{"name":"x","value":"0.1"}`, wantRejected: []int{0}, rejectText: "malformed JSON"},
		{name: "not JSON", service: "shop", body: `error_rate 0.1`, wantError: "malformed JSON"},
		{name: "empty", service: "shop", body: ``, wantError: "empty message"},
		{name: "invalid UTF-8", service: "shop", body: "{\"name\":\"x\xff\",\"value\":1}", wantRejected: []int{0}, rejectText: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(t, b.NC, tt.service, tt.body)
			var idx []int
			for _, rj := range r.Rejected {
				idx = append(idx, rj.Index)
			}
			if r.Accepted != tt.wantAccepted || len(idx) != len(tt.wantRejected) || !strings.Contains(r.Error, tt.wantError) || (tt.wantError == "") != (r.Error == "") {
				t.Fatalf("reply %+v, want %d accepted, rejected %v, error %q", r, tt.wantAccepted, tt.wantRejected, tt.wantError)
			}
			for i := range idx {
				if idx[i] != tt.wantRejected[i] {
					t.Errorf("rejected %v, want %v", idx, tt.wantRejected)
				}
			}
			if tt.rejectText != "" && !strings.Contains(r.Rejected[0].Error, tt.rejectText) {
				t.Errorf("rejection %q does not say %q", r.Rejected[0].Error, tt.rejectText)
			}
		})
	}

	// A fire-and-forget publish (no reply subject) is ingested too.
	if err := b.NC.Publish(natsmetrics.PushSubject("billing"), []byte(`{"name":"error_rate","value":0.5}`)); err != nil {
		t.Fatal(err)
	}

	got := crawlertest.CollectMetrics(t, b.JS, 5, 5*time.Second)
	want := []signals.MetricSample{
		{Type: "metric", Time: now, Service: "shop", Version: "4.2.0", Ring: "h2", Name: "error_rate", Value: 0.012},
		{Type: "metric", Time: now.Add(-time.Minute), Service: "shop", Name: "error_rate", Value: 0.003},
		{Type: "metric", Time: now, Service: "shop", Ring: "h3", Name: "latency_p99", Value: 0.25},
		{Type: "metric", Time: now, Service: "shop", Name: "http_5xx", Value: 3},
		{Type: "metric", Time: now, Service: "billing", Name: "error_rate", Value: 0.5},
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("sample %d time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("sample %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != 5 {
		t.Errorf("METRICS holds %d messages, want 5", n)
	}
	s := g.Stats()
	// The probe of waitSubscribed is one message refused as empty array.
	if s.Accepted != 5 || s.Rejected != 1+7+2 || s.PublishErrors != 0 {
		t.Errorf("stats %+v, want 5 accepted, 10 rejected", s)
	}
}

// TestQueueGroup: two Aftershock instances share the subject; each sample
// is republished once.
func TestQueueGroup(t *testing.T) {
	b := crawlertest.StartBus(t)
	g1 := run(t, b.NC, bus.Publisher{JS: b.JS})
	g2 := run(t, b.NC, bus.Publisher{JS: b.JS})
	for i := 0; i < 20; i++ {
		if r := request(t, b.NC, "shop", `{"name":"error_rate","value":0.1}`); r.Accepted != 1 {
			t.Fatalf("reply %+v", r)
		}
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != 20 {
		t.Errorf("METRICS holds %d messages, want 20", n)
	}
	if a1, a2 := g1.Stats().Accepted, g2.Stats().Accepted; a1+a2 != 20 {
		t.Errorf("accepted %d + %d, want 20 in all", a1, a2)
	}
}

// brokenPublisher fails like a broker that is down.
type brokenPublisher struct{}

func (brokenPublisher) MetricWithID(context.Context, signals.MetricSample, string) error {
	return errors.New("publishing to metrics.shop: nats: timeout")
}

// TestPublishFailure: the pusher is told to retry, the loss is counted.
func TestPublishFailure(t *testing.T) {
	b := crawlertest.StartBus(t)
	g := run(t, b.NC, brokenPublisher{})
	r := request(t, b.NC, "shop", `[{"name":"a","value":1},{"name":"b","value":2}]`)
	if r.Accepted != 0 || r.Error != "publishing failed; retry later" {
		t.Errorf("reply %+v, want a retry-later error", r)
	}
	if s := g.Stats(); s.PublishErrors != 2 {
		t.Errorf("stats %+v, want 2 publish errors", s)
	}
}

// TestIdempotencyKey: a message sent again with the same Idempotency-Key
// header is stored once; another key or none stores it again; a bad key is
// refused whole.
func TestIdempotencyKey(t *testing.T) {
	b := crawlertest.StartBus(t)
	run(t, b.NC, bus.Publisher{JS: b.JS})
	body := `[{"name":"error_rate","value":0.1,"time":"2026-11-24T09:00:00Z"},{"name":"http_5xx","value":3,"time":"2026-11-24T09:00:00Z"}]`
	send := func(key string) natsmetrics.Reply {
		t.Helper()
		m := nats.NewMsg(natsmetrics.PushSubject("shop"))
		m.Data = []byte(body)
		if key != "" {
			m.Header.Set(push.IdempotencyHeader, key)
		}
		resp, err := b.NC.RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var r natsmetrics.Reply
		if err := json.Unmarshal(resp.Data, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i, step := range []struct {
		key      string
		accepted int
		stored   int
	}{
		{"batch-1", 2, 2},
		{"batch-1", 2, 2}, // the retry
		{"batch-2", 2, 4},
		{"", 2, 6},
		{"", 2, 8},
		{"has space", 0, 8},
	} {
		if r := send(step.key); r.Accepted != step.accepted {
			t.Fatalf("step %d (key %q): reply %+v, want %d accepted", i, step.key, r, step.accepted)
		}
		if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != step.stored {
			t.Fatalf("step %d (key %q): METRICS holds %d, want %d", i, step.key, n, step.stored)
		}
	}
}

// TestIngestCounts: the count form of the push (crawlers/push) is two
// samples here too, "requests" and "errors"; half a pair is refused by its
// index.
func TestIngestCounts(t *testing.T) {
	b := crawlertest.StartBus(t)
	g := run(t, b.NC, bus.Publisher{JS: b.JS})
	// The count form may name the release instead of the version
	// (INTERFACES.md §8); the release is carried to the detector, which
	// resolves it. A release id with a control character is refused.
	r := request(t, b.NC, "shop", `[{"version":"4.2.0","ring":"h2","requests":1200,"errors":17}, {"requests":5},
		{"release":"r123","ring":"h2","requests":900,"errors":4}, {"release":"r\u0007","requests":1,"errors":0}]`)
	if r.Accepted != 4 || len(r.Rejected) != 2 || r.Rejected[0].Index != 1 || !strings.Contains(r.Rejected[0].Error, `missing "errors"`) ||
		r.Rejected[1].Index != 3 || !strings.Contains(r.Rejected[1].Error, "control characters") {
		t.Fatalf("reply %+v, want 4 samples accepted and elements 1 and 3 refused", r)
	}
	got := crawlertest.CollectMetrics(t, b.JS, 4, 5*time.Second)
	want := []signals.MetricSample{
		{Type: "metric", Time: now, Service: "shop", Version: "4.2.0", Ring: "h2", Name: "requests", Value: 1200},
		{Type: "metric", Time: now, Service: "shop", Version: "4.2.0", Ring: "h2", Name: "errors", Value: 17},
		{Type: "metric", Time: now, Service: "shop", Release: "r123", Ring: "h2", Name: "requests", Value: 900},
		{Type: "metric", Time: now, Service: "shop", Release: "r123", Ring: "h2", Name: "errors", Value: 4},
	}
	for i := range got {
		got[i].Time = got[i].Time.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("published\n%+v\nwant\n%+v", got, want)
	}
	if s := g.Stats(); s.Accepted != 4 {
		t.Errorf("stats %+v, want 4 accepted", s)
	}
}

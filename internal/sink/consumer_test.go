package sink_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/influxtest"
	"github.com/aftershock/aftershock/internal/sink"
	"github.com/aftershock/aftershock/internal/sink/influx"
	"github.com/aftershock/aftershock/signals"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	cfg := bus.Config{DataDir: t.TempDir()}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func influxSink(t *testing.T, url, bucket string) *influx.Sink {
	t.Helper()
	cfg := influx.Config{URL: url, Bucket: bucket, Timeout: 2 * time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := influx.New(cfg, quiet)
	t.Cleanup(s.Close)
	return s
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// recorder passes batches to the real sink and counts what was stored.
type recorder struct {
	next sink.Sink

	mu      sync.Mutex
	stored  map[string]int // key of each stored message → times stored
	batches int
}

func (r *recorder) Write(ctx context.Context, batch []any) error {
	if err := r.next.Write(ctx, batch); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stored == nil {
		r.stored = map[string]int{}
	}
	r.batches++
	for _, v := range batch {
		r.stored[key(v)]++
	}
	return nil
}

func (r *recorder) counts() (distinct, total, batches int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.stored {
		distinct++
		total += n
	}
	return distinct, total, r.batches
}

func key(v any) string {
	switch m := v.(type) {
	case *signals.Verdict:
		return "verdict:" + m.Release + m.Time.String()
	case *signals.Anomaly:
		return "anomaly:" + m.Kind + m.Time.String()
	case *signals.Rollup:
		return "rollup:" + m.Source + m.Time.String()
	case *signals.ReleaseEvent:
		return "release:" + m.Release + m.Event + m.Time.String()
	case *signals.MetricSample:
		return "metric:" + m.Name + m.Time.String()
	}
	return fmt.Sprintf("%T", v)
}

// fixture is how many messages publish sends per measurement.
var fixture = map[string]int{
	influx.MeasurementVerdict: 20,
	influx.MeasurementAnomaly: 10,
	influx.MeasurementRollup:  5,
	influx.MeasurementRelease: 3,
	influx.MeasurementMetric:  4,
}

func fixtureTotal() int {
	n := 0
	for _, c := range fixture {
		n += c
	}
	return n
}

func publish(t *testing.T, b *bus.Bus) {
	t.Helper()
	ctx := context.Background()
	pub := bus.Publisher{JS: b.JS}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for i := 0; i < fixture[influx.MeasurementVerdict]; i++ {
		must(t, pub.Verdict(ctx, signals.Verdict{Time: at(i), Service: "checkout", Release: "rel-1", Ring: "H2",
			Score: float64(i) / 20, Decision: signals.DecisionPass, Action: signals.ActionNone, Reasons: []string{"ok"}}))
	}
	for i := 0; i < fixture[influx.MeasurementAnomaly]; i++ {
		must(t, pub.Anomaly(ctx, signals.Anomaly{Time: at(i), Service: "checkout", Release: "rel-1", Ring: "H2",
			Kind: signals.KindComplaintSpike, Signal: "complaints", Observed: float64(10 + i), Expected: 3, Strength: 0.9}))
	}
	for i := 0; i < fixture[influx.MeasurementRollup]; i++ {
		must(t, pub.Rollup(ctx, signals.Rollup{Time: at(60 * i), Service: "checkout", Source: "mastodon",
			Posts: 10, Negative: i, SentimentSum: -float64(i) / 10}))
	}
	events := []string{signals.EventStarted, signals.EventPromoted, signals.EventCompleted}
	for i := 0; i < fixture[influx.MeasurementRelease]; i++ {
		must(t, pub.Release(ctx, signals.ReleaseEvent{Time: at(i), Service: "checkout", Release: "rel-1",
			Version: "4.2.1", Ring: "H" + fmt.Sprint(i+1), Event: events[i]}, ""))
	}
	for i := 0; i < fixture[influx.MeasurementMetric]; i++ {
		must(t, pub.Metric(ctx, signals.MetricSample{Time: at(i), Service: "checkout", Name: "error_rate", Value: 0.01 * float64(i)}))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// count returns how many points of a measurement InfluxDB holds.
func count(t *testing.T, srv *influxtest.Server, measurement string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	field := map[string]string{
		influx.MeasurementVerdict: influx.FieldScore, influx.MeasurementAnomaly: influx.FieldObserved,
		influx.MeasurementRollup: influx.FieldPosts, influx.MeasurementRelease: influx.FieldText,
		influx.MeasurementMetric: influx.FieldValue,
	}[measurement]
	rows, err := srv.Query(ctx, `from(bucket: "`+srv.Bucket+`") |> range(start: 2020-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "`+measurement+`" and r._field == "`+field+`")
  |> group() |> count()`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return 0
	}
	return int(rows[0]["_value"].(int64))
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fastConfig() sink.ConsumerConfig {
	return sink.ConsumerConfig{BatchSize: 100, FlushInterval: 100 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, AckWait: 30 * time.Second}
}

// start runs a consumer until the returned stop is called (or the test ends).
func start(t *testing.T, b *bus.Bus, s sink.Sink, cfg sink.ConsumerConfig, reg prometheus.Registerer) (*sink.Consumer, func()) {
	t.Helper()
	c, err := sink.NewConsumer(b.JS, s, cfg, reg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return 10s after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

type consumerState struct {
	ackFloor, delivered uint64
	ackPending, pending int
}

func state(t *testing.T, b *bus.Bus, c *sink.Consumer, stream string) consumerState {
	t.Helper()
	ctx := context.Background()
	// Run declares its consumers in the background: give it a moment.
	cons, err := b.JS.Consumer(ctx, stream, c.Durable(stream))
	for deadline := time.Now().Add(5 * time.Second); errors.Is(err, jetstream.ErrConsumerNotFound) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		cons, err = b.JS.Consumer(ctx, stream, c.Durable(stream))
	}
	if err != nil {
		t.Fatalf("consumer %s: %v", c.Durable(stream), err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return consumerState{info.AckFloor.Stream, info.Delivered.Stream, info.NumAckPending, int(info.NumPending)}
}

func lastSeq(t *testing.T, b *bus.Bus, stream string) uint64 {
	t.Helper()
	s, err := b.JS.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// allAcked waits until every durable consumer acked its whole stream.
func allAcked(t *testing.T, b *bus.Bus, c *sink.Consumer) {
	t.Helper()
	for _, stream := range sink.DefaultStreams {
		want := lastSeq(t, b, stream)
		waitFor(t, stream+" acked", 10*time.Second, func() bool {
			st := state(t, b, c, stream)
			return st.ackFloor == want && st.ackPending == 0 && st.pending == 0
		})
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func TestConsumerEndToEnd(t *testing.T) {
	srv := influxtest.Start(t)
	b := openBus(t)
	reg := prometheus.NewRegistry()
	rec := &recorder{next: influxSink(t, srv.URL, srv.Bucket)}
	c, _ := start(t, b, rec, fastConfig(), reg)

	publish(t, b)
	for m, want := range fixture {
		waitFor(t, m+" points in influxdb", 15*time.Second, func() bool { return count(t, srv, m) == want })
	}
	allAcked(t, b, c)
	if distinct, total, _ := rec.counts(); distinct != fixtureTotal() || total != fixtureTotal() {
		t.Errorf("stored %d messages (%d distinct), want %d once each", total, distinct, fixtureTotal())
	}
	if got := metric(t, reg, "aftershock_sink_written_total", nil); got != float64(fixtureTotal()) {
		t.Errorf("written_total = %v, want %d", got, fixtureTotal())
	}
	if got := metric(t, reg, "aftershock_sink_written_total", map[string]string{"stream": bus.StreamVerdicts}); got != 20 {
		t.Errorf("written_total{stream=VERDICTS} = %v, want 20", got)
	}
	if got := metric(t, reg, "aftershock_sink_batch_duration_seconds", nil); got < 5 {
		t.Errorf("batch_duration_seconds count = %v, want a batch per stream at least", got)
	}
	if got := metric(t, reg, "aftershock_sink_write_errors_total", nil); got != 0 {
		t.Errorf("write_errors_total = %v, want 0", got)
	}
}

func TestConsumerDeadInfluxLosesNothing(t *testing.T) {
	srv := influxtest.Start(t)
	b := openBus(t)
	publish(t, b)

	// First the database is unreachable: everything is tried, nothing acked.
	reg := prometheus.NewRegistry()
	dead := &recorder{next: influxSink(t, closedPort(t), srv.Bucket)}
	c, stop := start(t, b, dead, fastConfig(), reg)
	waitFor(t, "failed writes on every stream", 10*time.Second, func() bool {
		for _, stream := range sink.DefaultStreams {
			if metric(t, reg, "aftershock_sink_write_errors_total", map[string]string{"stream": stream}) < 2 {
				return false
			}
		}
		return true
	})
	stop()
	for _, stream := range sink.DefaultStreams {
		st := state(t, b, c, stream)
		if st.ackFloor != 0 || st.delivered == 0 {
			t.Errorf("%s with a dead database: ack floor %d, delivered %d; want nothing acked, something tried",
				stream, st.ackFloor, st.delivered)
		}
	}
	if _, total, _ := dead.counts(); total != 0 {
		t.Fatalf("dead sink stored %d messages", total)
	}
	if got := metric(t, reg, "aftershock_sink_written_total", nil); got != 0 {
		t.Errorf("written_total with a dead database = %v", got)
	}

	// Then a working sink on the same durable consumers gets everything, once.
	live := &recorder{next: influxSink(t, srv.URL, srv.Bucket)}
	c2, _ := start(t, b, live, fastConfig(), prometheus.NewRegistry())
	if c2.Durable(bus.StreamVerdicts) != c.Durable(bus.StreamVerdicts) {
		t.Fatal("second consumer uses another durable name")
	}
	for m, want := range fixture {
		waitFor(t, m+" points in influxdb", 15*time.Second, func() bool { return count(t, srv, m) == want })
	}
	allAcked(t, b, c2)
	if distinct, total, _ := live.counts(); distinct != fixtureTotal() || total != fixtureTotal() {
		t.Errorf("stored %d messages (%d distinct), want %d once each", total, distinct, fixtureTotal())
	}
}

func TestConsumerTerminatesBadMessages(t *testing.T) {
	srv := influxtest.Start(t)
	b := openBus(t)
	ctx := context.Background()
	pub := bus.Publisher{JS: b.JS}

	good := func(i int) signals.Verdict {
		return signals.Verdict{Time: t0.Add(time.Duration(i) * time.Second), Service: "checkout", Release: "rel-1",
			Ring: "H1", Decision: signals.DecisionPass, Action: signals.ActionNone}
	}
	raw := func(subject, body string) {
		if _, err := b.JS.Publish(ctx, subject, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, pub.Verdict(ctx, good(0)))
	raw(bus.VerdictSubject("checkout"), `{"type":"verdict","time":`)                                                                            // truncated JSON
	raw(bus.VerdictSubject("checkout"), `{"type":"verdict","time":"2026-03-01T12:00:00Z"}`)                                                     // missing fields
	raw(bus.VerdictSubject("checkout"), "{\"type\":\"verdict\",\"release\":\"\xff\xfe\"}")                                                      // invalid UTF-8
	raw(bus.VerdictSubject("checkout"), `{"type":"post","time":"2026-03-01T12:00:00Z","source":"x","id":"1","service":"checkout","text":"hi"}`) // not sink data
	must(t, pub.Verdict(ctx, good(1)))
	must(t, pub.Verdict(ctx, good(2)))

	reg := prometheus.NewRegistry()
	rec := &recorder{next: influxSink(t, srv.URL, srv.Bucket)}
	cfg := fastConfig()
	cfg.Streams = []string{bus.StreamVerdicts}
	cfg.FlushInterval = 300 * time.Millisecond // one batch holds all seven messages
	c, _ := start(t, b, rec, cfg, reg)

	waitFor(t, "3 verdicts in influxdb", 15*time.Second, func() bool { return count(t, srv, influx.MeasurementVerdict) == 3 })
	want := lastSeq(t, b, bus.StreamVerdicts)
	waitFor(t, "VERDICTS settled", 10*time.Second, func() bool {
		st := state(t, b, c, bus.StreamVerdicts)
		return st.ackFloor == want && st.ackPending == 0
	})
	if got := metric(t, reg, "aftershock_sink_terminated_total", map[string]string{"reason": "decode"}); got != 3 {
		t.Errorf("terminated{reason=decode} = %v, want 3", got)
	}
	if got := metric(t, reg, "aftershock_sink_terminated_total", map[string]string{"reason": "unsupported"}); got != 1 {
		t.Errorf("terminated{reason=unsupported} = %v, want 1", got)
	}
	if got := metric(t, reg, "aftershock_sink_write_errors_total", nil); got != 0 {
		t.Errorf("write_errors_total = %v, want 0 (bad messages must not fail the batch)", got)
	}
	if _, total, batches := rec.counts(); total != 3 || batches != 1 {
		t.Errorf("stored %d messages in %d batches, want 3 in 1", total, batches)
	}
}

// picky refuses, like a field type conflict would, any batch holding an
// anomaly of kind "poison".
type picky struct {
	mu     sync.Mutex
	stored []string
}

func (p *picky) Write(_ context.Context, batch []any) error {
	for _, v := range batch {
		if a, ok := v.(*signals.Anomaly); ok && a.Kind == "poison" {
			return fmt.Errorf("422 field type conflict: %w", sink.ErrRejected)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range batch {
		p.stored = append(p.stored, v.(*signals.Anomaly).Kind)
	}
	return nil
}

func TestConsumerIsolatesRejectedMessage(t *testing.T) {
	b := openBus(t)
	ctx := context.Background()
	pub := bus.Publisher{JS: b.JS}
	for i, kind := range []string{"a", "b", "poison", "c"} {
		must(t, pub.Anomaly(ctx, signals.Anomaly{Time: t0.Add(time.Duration(i) * time.Second), Service: "s", Kind: kind}))
	}
	p := &picky{}
	reg := prometheus.NewRegistry()
	cfg := fastConfig()
	cfg.Streams = []string{bus.StreamAnomalies}
	cfg.FlushInterval = 300 * time.Millisecond
	c, _ := start(t, b, p, cfg, reg)
	want := lastSeq(t, b, bus.StreamAnomalies)
	waitFor(t, "ANOMALIES settled", 10*time.Second, func() bool {
		st := state(t, b, c, bus.StreamAnomalies)
		return st.ackFloor == want && st.ackPending == 0
	})
	p.mu.Lock()
	got := fmt.Sprint(p.stored)
	p.mu.Unlock()
	if got != "[a b c]" {
		t.Errorf("stored %s, want [a b c]", got)
	}
	if n := metric(t, reg, "aftershock_sink_terminated_total", map[string]string{"reason": "rejected"}); n != 1 {
		t.Errorf("terminated{reason=rejected} = %v, want 1", n)
	}
}

// blocked never succeeds; it proves Run returns promptly on cancel even
// while writes fail, and that a second consumer shares the registry.
type blocked struct{}

func (blocked) Write(context.Context, []any) error { return errors.New("database down") }

func TestConsumerStopsOnCancel(t *testing.T) {
	b := openBus(t)
	publish(t, b)
	reg := prometheus.NewRegistry()
	cfg := fastConfig()
	cfg.MinBackoff, cfg.MaxBackoff = time.Minute, time.Hour // cancel must cut the backoff sleep
	_, stop := start(t, b, blocked{}, cfg, reg)
	_, stop2 := start(t, b, blocked{}, sink.ConsumerConfig{Name: "other", FlushInterval: 50 * time.Millisecond}, reg)
	waitFor(t, "a failed write", 10*time.Second, func() bool {
		return metric(t, reg, "aftershock_sink_write_errors_total", nil) >= 2
	})
	began := time.Now()
	stop()
	stop2()
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("Run took %s to return after cancel", d)
	}
}

func TestConsumerConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sink.ConsumerConfig
		wantErr bool
	}{
		{"defaults", sink.ConsumerConfig{}, false},
		{"bad name", sink.ConsumerConfig{Name: "sink influx"}, true},
		{"negative batch", sink.ConsumerConfig{BatchSize: -1}, true},
		{"backoff inverted", sink.ConsumerConfig{MinBackoff: time.Minute, MaxBackoff: time.Second}, true},
		{"ack wait too short", sink.ConsumerConfig{FlushInterval: time.Minute, AckWait: time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (tt.cfg.BatchSize != 500 || tt.cfg.FlushInterval != time.Second || len(tt.cfg.Streams) != 5 || tt.cfg.Name != "sink-influx") {
				t.Errorf("defaults not applied: %+v", tt.cfg)
			}
		})
	}
}

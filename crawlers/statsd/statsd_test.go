package statsd_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/statsd"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// start listens on a free loopback port and runs the listener until the
// test ends; it returns the listener and a function that stops it and
// returns Run's error.
func start(t *testing.T, cfg statsd.Config, pub statsd.Publisher) (*statsd.Listener, func() error) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	l, err := statsd.Listen(cfg, pub, nil, clock)
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	done := make(chan struct{})
	go func() { runErr = l.Run(ctx); close(done) }()
	stop := func() error {
		cancel()
		select {
		case <-done:
			return runErr
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of cancel")
			return nil
		}
	}
	t.Cleanup(func() { cancel(); <-done })
	return l, stop
}

func send(t *testing.T, addr net.Addr, datagram string) {
	t.Helper()
	conn, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(datagram)); err != nil {
		t.Fatalf("sending datagram: %v", err)
	}
}

// waitStats waits until the listener's counts satisfy ok.
func waitStats(t *testing.T, l *statsd.Listener, ok func(statsd.Stats) bool) statsd.Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := l.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v did not reach the expected counts within 5s", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestListener sends real datagrams to a real UDP socket and reads the
// samples back from the embedded bus's METRICS stream.
func TestListener(t *testing.T) {
	b := crawlertest.StartBus(t)
	l, _ := start(t, statsd.Config{
		FlushInterval: 200 * time.Millisecond,
		Ratios:        []statsd.Ratio{{Name: "error_rate", Numerator: "http.errors", Denominator: "http.requests"}},
	}, bus.Publisher{JS: b.JS})

	// An oversized datagram is dropped whole.
	send(t, l.Addr(), "big:1|c|#service:shop\n"+strings.Repeat("x", statsd.DefaultMaxDatagram))
	waitStats(t, l, func(s statsd.Stats) bool { return s.Oversized == 1 })

	send(t, l.Addr(), strings.Join([]string{
		"checkout.latency:120:80|ms|#service:shop,version:4.2.0,ring:h2",
		"checkout.queue:7|g|#service:shop,version:4.2.0,ring:h2",
		"checkout.queue:+3|g|#service:shop,version:4.2.0,ring:h2",
		"http.requests:10|c|@0.5|#service:shop,version:4.2.0,ring:h2,host:a",
		"http.requests:5|c|#service:shop,version:4.2.0,ring:h2,host:b",
		"http.errors:2|c|#service:shop,version:4.2.0,ring:h2",
		"http.requests:100|c|#service:shop,version:4.1.9,ring:h3\r",
		"",
		"orphan:1|c|#version:4.2.0",
		"orphan:1|c|#service:bad.name",
		"garbage line",
		"users.unique:42|s|#service:shop",
		"bad.value:abc|c|#service:shop",
		"_e{5,4}:title|text|#service:shop",
	}, "\n"))

	// 4 at once (2 timer values, 2 gauges); then per flush 3 counter rates
	// and 2 ratios; then 3 zero rates for the counters that went quiet.
	got := crawlertest.CollectMetrics(t, b.JS, 12, 10*time.Second)
	type row struct {
		name, version, ring string
		value               float64
	}
	var rows []row
	for _, m := range got {
		if m.Service != "shop" || !m.Time.Equal(now) || m.Type != signals.TypeMetric {
			t.Errorf("sample %+v: want service shop, type metric, time %v", m, now)
		}
		rows = append(rows, row{m.Name, m.Version, m.Ring, m.Value})
	}
	want := []row{
		{"checkout.latency", "4.2.0", "h2", 120},
		{"checkout.latency", "4.2.0", "h2", 80},
		{"checkout.queue", "4.2.0", "h2", 7},
		{"checkout.queue", "4.2.0", "h2", 10},
		{"http.errors", "4.2.0", "h2", -1}, // rates: checked below
		{"http.requests", "4.1.9", "h3", -1},
		{"http.requests", "4.2.0", "h2", -1},
		{"error_rate", "4.1.9", "h3", 0},
		{"error_rate", "4.2.0", "h2", 2.0 / 25},
		{"http.errors", "4.2.0", "h2", 0},
		{"http.requests", "4.1.9", "h3", 0},
		{"http.requests", "4.2.0", "h2", 0},
	}
	for i, w := range want {
		g := rows[i]
		if g.name != w.name || g.version != w.version || g.ring != w.ring {
			t.Errorf("sample %d: %+v, want %+v", i, g, w)
			continue
		}
		if w.value >= 0 && g.value != w.value {
			t.Errorf("sample %d: %+v, want value %v", i, g, w.value)
		}
	}
	// Counter rates are per second over a ~200 ms interval: 25 requests
	// (10 at a 1-in-2 sample rate, and 5) are about 125/s.
	for i, sum := range map[int]float64{4: 2, 5: 100, 6: 25} {
		if perSec := rows[i].value; perSec < sum/1.0 || perSec > sum/0.19 {
			t.Errorf("%s rate %.1f/s, want about %.0f/s (%v in ~0.2s)", rows[i].name, perSec, sum*5, sum)
		}
	}

	s := l.Stats()
	if s.Datagrams != 2 || s.Oversized != 1 || s.Lines != 13 || s.BadLines != 2 || s.NoService != 2 || s.Unsupported != 2 || s.PublishErrors != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestCounts: a configured count publishes the counter's sum over the
// interval (increments divided by their sample rate), not a per-second
// rate, for each cohort; then 0 while the counter is quiet.
func TestCounts(t *testing.T) {
	b := crawlertest.StartBus(t)
	l, _ := start(t, statsd.Config{
		FlushInterval: 200 * time.Millisecond,
		Counts:        []statsd.Count{{Name: "errors", Counter: "http.errors"}, {Name: "requests", Counter: "http.requests"}},
	}, bus.Publisher{JS: b.JS})
	send(t, l.Addr(), strings.Join([]string{
		"http.requests:10|c|@0.5|#service:shop,version:4.2.0,ring:h2,host:a",
		"http.requests:5|c|#service:shop,version:4.2.0,ring:h2,host:b",
		"http.errors:3|c|#service:shop,version:4.2.0,ring:h2",
		"http.requests:400|c|#service:shop",
	}, "\n"))
	// First flush: 3 rates, then the counts (errors of 4.2.0; requests of
	// the old cohort and of 4.2.0); second flush: the same at 0.
	got := crawlertest.CollectMetrics(t, b.JS, 12, 10*time.Second)
	type row struct {
		name, version string
		value         float64
	}
	var counts []row
	for _, m := range got {
		if m.Name == "errors" || m.Name == "requests" {
			counts = append(counts, row{m.Name, m.Version, m.Value})
		}
	}
	want := []row{
		{"errors", "4.2.0", 3}, {"requests", "", 400}, {"requests", "4.2.0", 25},
		{"errors", "4.2.0", 0}, {"requests", "", 0}, {"requests", "4.2.0", 0},
	}
	if len(counts) != len(want) {
		t.Fatalf("count samples %+v, want %+v", counts, want)
	}
	for i := range want {
		if counts[i] != want[i] {
			t.Errorf("count sample %d: %+v, want %+v", i, counts[i], want[i])
		}
	}
}

// TestReleaseTag: with release_tag set, a line's release id names its
// cohort, and counts of two releases stay apart.
func TestReleaseTag(t *testing.T) {
	b := crawlertest.StartBus(t)
	l, _ := start(t, statsd.Config{
		FlushInterval: 200 * time.Millisecond,
		ReleaseTag:    "rollout",
		Counts:        []statsd.Count{{Name: "errors", Counter: "http.errors"}},
	}, bus.Publisher{JS: b.JS})
	send(t, l.Addr(), strings.Join([]string{
		"http.errors:3|c|#service:shop,rollout:r123,ring:h2",
		"http.errors:2|c|#service:shop,rollout:r123,ring:h2",
		"http.errors:7|c|#service:shop,rollout:r122,ring:h3",
	}, "\n"))
	// The first flush: the two releases' rates, then their counts.
	got := crawlertest.CollectMetrics(t, b.JS, 4, 10*time.Second)
	sum := map[string]float64{}
	for _, m := range got {
		if m.Version != "" || m.Release == "" {
			t.Fatalf("sample %+v, want a release and no version", m)
		}
		if m.Name == "errors" {
			sum[m.Release] += m.Value
		}
	}
	if sum["r123"] != 5 || sum["r122"] != 7 || len(sum) != 2 {
		t.Errorf("errors per release %v, want r123 5 and r122 7", sum)
	}
}

// TestLastInterval: counters of the last, partial interval are published
// when the listener stops, and Run returns nil.
func TestLastInterval(t *testing.T) {
	b := crawlertest.StartBus(t)
	l, stop := start(t, statsd.Config{FlushInterval: time.Hour}, bus.Publisher{JS: b.JS})
	send(t, l.Addr(), "jobs.failed:4|c|#service:shop")
	waitStats(t, l, func(s statsd.Stats) bool { return s.Lines == 1 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := crawlertest.CollectMetrics(t, b.JS, 1, 5*time.Second)
	if got[0].Name != "jobs.failed" || got[0].Value <= 0 {
		t.Errorf("sample %+v, want a positive jobs.failed rate", got[0])
	}
}

// failingPublisher refuses every sample.
type failingPublisher struct{}

func (failingPublisher) Metric(context.Context, signals.MetricSample) error {
	return fmt.Errorf("publishing to metrics.shop: nats: connection closed")
}

// TestPublishFailure: a broker failure loses samples, counted, and the
// listener keeps serving.
func TestPublishFailure(t *testing.T) {
	l, stop := start(t, statsd.Config{}, failingPublisher{})
	send(t, l.Addr(), "lat:1|ms|#service:shop\nlat:2|ms|#service:shop")
	waitStats(t, l, func(s statsd.Stats) bool { return s.PublishErrors == 2 })
	send(t, l.Addr(), "lat:3|ms|#service:shop")
	waitStats(t, l, func(s statsd.Stats) bool { return s.PublishErrors == 3 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestConfig checks defaults and field paths in messages.
func TestConfig(t *testing.T) {
	var c statsd.Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8125" || c.ServiceTag != "service" || c.VersionTag != "version" || c.RingTag != "ring" ||
		c.FlushInterval != 10*time.Second || c.MaxDatagram != 8192 || c.CounterTTL != 5*time.Minute || c.MaxKeys != 10000 {
		t.Errorf("defaults not applied: %+v", c)
	}
	tests := []struct {
		cfg  statsd.Config
		want string
	}{
		{statsd.Config{Listen: "8125"}, `statsd.listen: "8125" is not host:port`},
		{statsd.Config{Listen: "127.0.0.1:99999"}, `statsd.listen: "127.0.0.1:99999" has no valid port`},
		{statsd.Config{VersionTag: "service"}, "statsd.service_tag: the service, version and ring tags must differ"},
		{statsd.Config{RingTag: "ring:x"}, "statsd.ring_tag"},
		{statsd.Config{ReleaseTag: "version"}, "statsd.release_tag"},
		{statsd.Config{ReleaseTag: "rollout id"}, "statsd.release_tag"},
		{statsd.Config{FlushInterval: time.Millisecond}, "statsd.flush_interval: 1ms is shorter than 100ms"},
		{statsd.Config{MaxDatagram: 70000}, "statsd.max_datagram: 70000, want 512 to 65507"},
		{statsd.Config{Ratios: []statsd.Ratio{{Name: "error_rate", Numerator: "errors"}}}, "statsd.ratios[0].denominator: required"},
		{statsd.Config{Counts: []statsd.Count{{Name: "errors"}}}, "statsd.counts[0].counter: required"},
		{statsd.Config{Counts: []statsd.Count{{Counter: "http.errors"}}}, "statsd.counts[0].name: required"},
		{statsd.Config{Counts: []statsd.Count{{Name: "http.errors", Counter: "http.errors"}}}, `statsd.counts[0].name: "http.errors" is the counter's own name`},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
	// A taken port is an error naming the address.
	l, err := statsd.Listen(statsd.Config{Listen: "127.0.0.1:0"}, failingPublisher{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := statsd.Listen(statsd.Config{Listen: l.Addr().String()}, failingPublisher{}, nil, nil); err == nil || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("second listener on %s: error %v, want one naming the address", l.Addr(), err)
	}
}

package influx

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/influxtest"
	"github.com/aftershock/aftershock/internal/sink"
	"github.com/aftershock/aftershock/signals"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestConfigValidate(t *testing.T) {
	t.Setenv("AFTERSHOCK_TEST_INFLUX_TOKEN", "user:secret")
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" = valid
		check   func(t *testing.T, c Config)
	}{
		{
			name: "defaults",
			cfg:  Config{URL: "http://localhost:8086", Bucket: "aftershock/autogen"},
			check: func(t *testing.T, c Config) {
				if c.BatchSize != 500 || c.FlushInterval != time.Second || c.Timeout != 10*time.Second {
					t.Errorf("defaults = %d %s %s", c.BatchSize, c.FlushInterval, c.Timeout)
				}
			},
		},
		{
			name: "token from env",
			cfg:  Config{URL: "https://influx.example", Bucket: "b", Token: "${AFTERSHOCK_TEST_INFLUX_TOKEN}"},
			check: func(t *testing.T, c Config) {
				if c.Token != "user:secret" {
					t.Errorf("token = %q", c.Token)
				}
			},
		},
		{
			name: "literal token kept",
			cfg:  Config{URL: "http://x:8086", Bucket: "b", Token: "a$b"},
			check: func(t *testing.T, c Config) {
				if c.Token != "a$b" {
					t.Errorf("token = %q", c.Token)
				}
			},
		},
		{name: "missing env", cfg: Config{URL: "http://x", Bucket: "b", Token: "${AFTERSHOCK_NOPE_NOT_SET}"}, wantErr: "influx.token: environment variable AFTERSHOCK_NOPE_NOT_SET is not set"},
		{name: "missing url", cfg: Config{Bucket: "b"}, wantErr: "influx.url: required"},
		{name: "bad scheme", cfg: Config{URL: "udp://x:8089", Bucket: "b"}, wantErr: "influx.url: \"udp://x:8089\" is not an http(s) URL"},
		{name: "missing bucket", cfg: Config{URL: "http://x"}, wantErr: "influx.bucket: required"},
		{name: "batch too big", cfg: Config{URL: "http://x", Bucket: "b", BatchSize: 20000}, wantErr: "influx.batch_size: 20000"},
		{name: "negative batch", cfg: Config{URL: "http://x", Bucket: "b", BatchSize: -1}, wantErr: "influx.batch_size: -1"},
		{name: "flush too short", cfg: Config{URL: "http://x", Bucket: "b", FlushInterval: time.Millisecond}, wantErr: "influx.flush_interval: 1ms"},
		{name: "timeout too short", cfg: Config{URL: "http://x", Bucket: "b", Timeout: time.Millisecond}, wantErr: "influx.timeout: 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				tt.check(t, tt.cfg)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestReleaseText(t *testing.T) {
	tests := []struct {
		ev   signals.ReleaseEvent
		want string
	}{
		{signals.ReleaseEvent{Service: "checkout", Version: "4.2.1", Release: "rel-42", Event: "promoted", Ring: "H2"}, "checkout 4.2.1 (rel-42): promoted to H2"},
		{signals.ReleaseEvent{Service: "checkout", Release: "rel-42", Event: "started", Ring: "H1", Team: "payments"}, "checkout (rel-42): started in H1 by payments"},
		{signals.ReleaseEvent{Service: "app", Version: "2.0", Release: "r", Event: "halted", Ring: "H2"}, "app 2.0 (r): halted in H2"},
		{signals.ReleaseEvent{Service: "app", Release: "r", Event: "rolled_back"}, "app (r): rolled back"},
		{signals.ReleaseEvent{Service: "app", Version: "2.0", Release: "r", Event: "exposure", Ring: "H3", Exposure: 0.05}, "app 2.0 (r): H3 reaches 5% of users"},
	}
	for _, tt := range tests {
		if got := ReleaseText(&tt.ev); got != tt.want {
			t.Errorf("ReleaseText(%+v) = %q, want %q", tt.ev, got, tt.want)
		}
	}
}

func TestPointsEdgeCases(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pts, err := Points(&signals.Anomaly{Time: t0, Service: "s", Kind: "k", Observed: math.Inf(1), Expected: math.NaN(), Strength: 0.5})
	if err != nil || len(pts) != 1 {
		t.Fatalf("Points = %v, %v", pts, err)
	}
	for _, f := range pts[0].FieldList() {
		if f.Key == FieldObserved || f.Key == FieldExpected {
			t.Errorf("non-finite field %s written", f.Key)
		}
	}
	if pts, _ := Points(&signals.MetricSample{Time: t0, Service: "s", Name: "n", Value: math.Inf(-1)}); len(pts) != 0 {
		t.Errorf("metric with only an infinite value gave %d points", len(pts))
	}
	if _, err := Points(&signals.Post{}); err == nil {
		t.Error("Points(*Post) succeeded")
	}
	// Empty tags are left out rather than written as "".
	pts, _ = Points(&signals.MetricSample{Time: t0, Service: "s", Name: "n", Value: 1})
	for _, tg := range pts[0].TagList() {
		if tg.Key == TagRing {
			t.Errorf("empty ring tag written")
		}
		if tg.Key == TagVersion && tg.Value != BaselineVersion {
			t.Errorf("version tag = %q, want %q", tg.Value, BaselineVersion)
		}
	}
	// A sample naming its cohort by release only is tagged with the
	// release and is not written as the baseline.
	pts, _ = Points(&signals.MetricSample{Time: t0, Service: "s", Release: "r123", Name: "n", Value: 1})
	tags := map[string]string{}
	for _, tg := range pts[0].TagList() {
		tags[tg.Key] = tg.Value
	}
	if v, ok := tags[TagVersion]; ok {
		t.Errorf("release-only sample has version tag %q, want none", v)
	}
	if tags[TagRelease] != "r123" {
		t.Errorf("release tag = %q, want r123", tags[TagRelease])
	}
}

func newSink(t *testing.T, url, bucket string) *Sink {
	t.Helper()
	cfg := Config{URL: url, Bucket: bucket, Timeout: 2 * time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := New(cfg, quiet)
	t.Cleanup(s.Close)
	return s
}

// pivoted reads one measurement back, one row per point with fields as columns.
func pivoted(t *testing.T, srv *influxtest.Server, measurement string) []influxtest.Row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := srv.Query(ctx, `from(bucket: "`+srv.Bucket+`")
  |> range(start: 2020-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "`+measurement+`")
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time"])`)
	if err != nil {
		t.Fatalf("querying %s: %v", measurement, err)
	}
	return rows
}

func TestWriteReadBack(t *testing.T) {
	srv := influxtest.Start(t)
	s := newSink(t, srv.URL, srv.Bucket)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	batch := []any{
		&signals.Rollup{Time: t0, Service: "checkout", Source: "mastodon", Posts: 8, Negative: 2, SentimentSum: -1.6,
			Categories: map[string]int{"login": 2, "crash": 1}},
		&signals.Rollup{Time: t0.Add(time.Minute), Service: "checkout", Source: "mastodon"}, // zero posts
		&signals.MetricSample{Time: t0, Service: "checkout", Name: "error_rate", Value: 0.25},
		&signals.MetricSample{Time: t0.Add(time.Second), Service: "checkout", Version: "4.2.1", Ring: "H2", Name: "error_rate", Value: 3},
		&signals.Anomaly{Time: t0, Service: "checkout", Release: "rel-42", Ring: "H2", Kind: signals.KindComplaintSpike,
			Signal: "complaints", Observed: 12, Expected: 3, Strength: 0.99, Keywords: []string{"login", "crash"},
			Examples: []signals.Example{{ID: "1", Text: "free text stays out of tags"}}},
		&signals.Verdict{Time: t0, Service: "checkout", Release: "rel-42", Ring: "H2", Score: 0.2,
			Decision: signals.DecisionFail, Action: signals.ActionHalt, Reasons: []string{"complaints 4x", "errors 12x"},
			Signals: []signals.SignalResult{{Name: "a", Outcome: "fail"}, {Name: "b", Outcome: "pass"}, {Name: "c", Outcome: "fail"}}},
		&signals.ReleaseEvent{Time: t0, Service: "checkout", Release: "rel-42", Version: "4.2.1", Ring: "H2", Event: signals.EventPromoted},
	}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatalf("Write: %v", err)
	}

	t.Run("rollup", func(t *testing.T) {
		rows := pivoted(t, srv, MeasurementRollup)
		if len(rows) != 2 {
			t.Fatalf("%d rows: %v", len(rows), rows)
		}
		want := influxtest.Row{"service": "checkout", "source": "mastodon",
			FieldPosts: int64(8), FieldNegative: int64(2), FieldNegativeShare: 0.25, FieldSentimentMean: -0.2}
		checkRow(t, rows[0], t0, want)
		checkRow(t, rows[1], t0.Add(time.Minute), influxtest.Row{FieldPosts: int64(0), FieldNegativeShare: 0.0, FieldSentimentMean: 0.0})
	})
	t.Run("rollup_category", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rows, err := srv.Query(ctx, `from(bucket: "`+srv.Bucket+`") |> range(start: 2020-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "rollup_category") |> group() |> sort(columns: ["category"])`)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("%d rows: %v", len(rows), rows)
		}
		checkRow(t, rows[0], t0, influxtest.Row{"category": "crash", "_field": FieldCount, "_value": int64(1), "source": "mastodon"})
		checkRow(t, rows[1], t0, influxtest.Row{"category": "login", "_field": FieldCount, "_value": int64(2)})
	})
	t.Run("metric", func(t *testing.T) {
		rows := pivoted(t, srv, MeasurementMetric)
		if len(rows) != 2 {
			t.Fatalf("%d rows: %v", len(rows), rows)
		}
		checkRow(t, rows[0], t0, influxtest.Row{"version": "baseline", "name": "error_rate", FieldValue: 0.25})
		if _, ok := rows[0]["ring"]; ok && rows[0]["ring"] != nil && rows[0]["ring"] != "" {
			t.Errorf("baseline ring = %v, want absent", rows[0]["ring"])
		}
		checkRow(t, rows[1], t0.Add(time.Second), influxtest.Row{"version": "4.2.1", "ring": "H2", FieldValue: 3.0})
	})
	t.Run("anomaly", func(t *testing.T) {
		rows := pivoted(t, srv, MeasurementAnomaly)
		if len(rows) != 1 {
			t.Fatalf("%d rows: %v", len(rows), rows)
		}
		checkRow(t, rows[0], t0, influxtest.Row{"service": "checkout", "release": "rel-42", "ring": "H2",
			"kind": "complaint_spike", "signal": "complaints",
			FieldObserved: 12.0, FieldExpected: 3.0, FieldStrength: 0.99, FieldKeywords: "login,crash"})
		for k, v := range rows[0] {
			if s, ok := v.(string); ok && strings.Contains(s, "free text") {
				t.Errorf("example text stored in column %s", k)
			}
		}
	})
	t.Run("verdict", func(t *testing.T) {
		rows := pivoted(t, srv, MeasurementVerdict)
		if len(rows) != 1 {
			t.Fatalf("%d rows: %v", len(rows), rows)
		}
		checkRow(t, rows[0], t0, influxtest.Row{"decision": "fail", "action": "halt", "ring": "H2", "release": "rel-42",
			FieldScore: 0.2, FieldReasons: "complaints 4x; errors 12x", FieldFailed: int64(2)})
	})
	t.Run("release", func(t *testing.T) {
		rows := pivoted(t, srv, MeasurementRelease)
		if len(rows) != 1 {
			t.Fatalf("%d rows: %v", len(rows), rows)
		}
		checkRow(t, rows[0], t0, influxtest.Row{"event": "promoted", "ring": "H2", "release": "rel-42",
			FieldVersion: "4.2.1", FieldText: "checkout 4.2.1 (rel-42): promoted to H2"})
	})
}

// checkRow compares values with their Go types: int64 for int fields,
// float64 for floats, string for strings and tags.
func checkRow(t *testing.T, row influxtest.Row, at time.Time, want influxtest.Row) {
	t.Helper()
	if got, _ := row["_time"].(time.Time); !got.Equal(at) {
		t.Errorf("_time = %v, want %s", row["_time"], at)
	}
	for k, w := range want {
		g := row[k]
		if gf, ok := g.(float64); ok {
			if wf, ok := w.(float64); ok && math.Abs(gf-wf) < 1e-9 {
				continue
			}
		}
		if g != w {
			t.Errorf("%s = %#v (%T), want %#v (%T)", k, g, g, w, w)
		}
	}
}

func TestWriteRejectedOnTypeConflict(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	// Someone wrote metric.value as a string before: our float now conflicts (422).
	u := srv.URL + "/api/v2/write?precision=s&bucket=" + url.QueryEscape(srv.Bucket)
	resp, err := http.Post(u, "text/plain", strings.NewReader(`metric,service=s,name=n,version=baseline value="x" 1700000000`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seed write: %s", resp.Status)
	}

	s := newSink(t, srv.URL, srv.Bucket)
	err = s.Write(ctx, []any{&signals.MetricSample{Time: time.Unix(1700000001, 0), Service: "s", Name: "n", Value: 1}})
	if !errors.Is(err, sink.ErrRejected) {
		t.Fatalf("Write = %v, want ErrRejected", err)
	}
	if err := s.Write(ctx, []any{&signals.Post{}}); !errors.Is(err, sink.ErrRejected) {
		t.Fatalf("Write(post) = %v, want ErrRejected", err)
	}
}

func TestWriteDeadServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()

	s := newSink(t, dead, "aftershock/autogen")
	ctx := context.Background()
	err = s.Write(ctx, []any{&signals.MetricSample{Time: time.Now(), Service: "s", Name: "n", Value: 1}})
	if err == nil {
		t.Fatal("Write to a closed port succeeded")
	}
	if errors.Is(err, sink.ErrRejected) {
		t.Errorf("unreachable database reported as ErrRejected: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping of a closed port succeeded")
	}
	// An empty batch needs no database.
	if err := s.Write(ctx, nil); err != nil {
		t.Errorf("Write(nil) = %v", err)
	}
}

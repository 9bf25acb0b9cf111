package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/signals"
)

// TestSinkDownDegraded: while every InfluxDB write fails, /readyz says
// "degraded" with the sink's error and aftershock_degraded{part="sink"} is
// 1, yet the daemon keeps running and taking work.
func TestSinkDownDegraded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there: every write fails
	a := startWith(t, rolesConfig(t.TempDir())+`
influx: {url: "http://`+dead+`", token: "influx-token", org: o, bucket: b, flush_interval: 50ms, timeout: 1s}
`)
	base := "http://" + a.Addr()
	body := waitReady(t, base)
	var r Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Status != "ready" || !r.Parts["sink"].OK {
		t.Fatalf("readyz before any write: %s", body)
	}
	var code int
	if code, body := do(t, "POST", base+"/v1/metrics", token, `{"service":"shop","name":"error_rate","value":0.01}`); code != 202 {
		t.Fatalf("metric push: %d %s", code, body)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body = do(t, "GET", base+"/readyz", "", "")
		r = Readiness{}
		_ = json.Unmarshal([]byte(body), &r)
		if r.Status == "degraded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never degraded: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 200 || r.Parts["sink"].OK || !strings.Contains(r.Parts["sink"].Detail, dead) || !r.Parts["nats"].OK {
		t.Errorf("readyz: %d %s, want 200 degraded naming the sink's failure", code, body)
	}
	_, metrics := do(t, "GET", base+"/metrics", "", "")
	if !strings.Contains(metrics, `aftershock_degraded{part="sink"} 1`) {
		t.Errorf("metrics lack aftershock_degraded{part=\"sink\"} 1")
	}
	// The judge goes on: no part stopped, the API takes releases.
	select {
	case err := <-a.Err():
		t.Fatalf("a part stopped: %v", err)
	default:
	}
	if code, body := do(t, "POST", base+"/v1/releases", token, `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`); code != 201 {
		t.Errorf("release while degraded: %d %s", code, body)
	}
}

// TestSecondDaemonRefused: a second daemon on the same nats.data_dir does
// not start, and its error names the holder.
func TestSecondDaemonRefused(t *testing.T) {
	dir := t.TempDir()
	startWith(t, rolesConfig(dir))
	cfg, err := config.Parse([]byte(rolesConfig(dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Start(context.Background())
	if err == nil {
		b.Stop()
		t.Fatal("a second daemon started on the same data_dir")
	}
	if !strings.Contains(err.Error(), "in use by pid") || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the data dir and its holder", err)
	}
}

// waitReady polls /readyz until it answers 200 (the detector's start-up
// rebuild has caught up) and returns its body.
func waitReady(t *testing.T, base string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := do(t, "GET", base+"/readyz", "", "")
		if code == 200 {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never ready: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadinessWaitsForParts: a part the process waits for (the
// detector) makes /readyz 503 with its reason until it is done; a rebuild
// makes it wait again, and a part rebuilt again before it was ready keeps
// the time it stopped being ready.
func TestReadinessWaitsForParts(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	h := newHealth(prometheus.NewRegistry(), func() time.Time { return at })
	var ready atomic.Bool
	check := func(wantCode int, wantStatus, wantReason string, wantSince time.Time) {
		t.Helper()
		r, code := h.readiness(nil)
		if code != wantCode || r.Status != wantStatus || r.Reason != wantReason {
			t.Fatalf("readiness %d %+v, want %d %s %q", code, r, wantCode, wantStatus, wantReason)
		}
		d := r.Parts["detector"]
		if d.OK != (wantReason == "") || !d.Since.Equal(wantSince) {
			t.Fatalf("detector part %+v, want ok=%v since %s", d, wantReason == "", wantSince)
		}
	}
	const why = "detector rebuilding: replaying the streams"
	h.waitFor("detector", detectorRebuilding, notYet)
	check(503, "not_ready", why, at)
	at = at.Add(time.Minute)
	h.waitFor("detector", detectorRebuilding, ready.Load) // built: still replaying
	check(503, "not_ready", why, at.Add(-time.Minute))
	ready.Store(true)
	check(200, "ready", "", time.Time{})
	h.report("sink", errors.New("influx down")) // degraded is still ready
	check(200, "degraded", "", time.Time{})
	at = at.Add(time.Minute)
	h.waitFor("detector", detectorRebuilding, notYet) // a service gained: rebuilt
	check(503, "not_ready", why, at)
	if r, code := h.readiness(errors.New("nats: not connected")); code != 503 || r.Reason != "nats: not connected; "+why {
		t.Fatalf("without NATS: %d %+v", code, r)
	}
}

// TestReadyOnlyOnceRebuilt restarts the daemon on streams holding many
// posts: /readyz answers 503 "detector rebuilding: replaying the streams"
// (liveness stays 200) until the detector has replayed them, then 200.
func TestReadyOnlyOnceRebuilt(t *testing.T) {
	dir := t.TempDir()
	a := startWith(t, rolesConfig(dir))
	waitReady(t, "http://"+a.Addr())
	const n = 20000
	now := time.Now().UTC()
	js := a.Bus().JS
	for i := range n {
		p := signals.Post{Type: signals.TypePost, Time: now.Add(-time.Duration(n-i) * 100 * time.Millisecond), Source: "social", ID: fmt.Sprint(i), Service: "shop", Text: "browsing the shop app", Enrichment: &signals.Enrichment{Lang: "en", Sentiment: 0.3}}
		data, _ := json.Marshal(p)
		if _, err := js.PublishAsync(bus.PostSubject(p.Source), data); err != nil {
			t.Fatal(err)
		}
		if i%2000 == 1999 || i == n-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(30 * time.Second):
				t.Fatal("posts not acknowledged")
			}
		}
	}
	a.Stop()

	began := time.Now()
	a = startWith(t, rolesConfig(dir))
	base := "http://" + a.Addr()
	code, body := do(t, "GET", base+"/readyz", "", "")
	var r Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 503 || r.Status != "not_ready" ||
		r.Reason != "detector rebuilding: replaying the streams" || r.Parts["detector"].OK || !r.Parts["nats"].OK {
		t.Fatalf("readyz while %d posts replay: %d %s, want 503 not_ready naming the rebuild", n, code, body)
	}
	if code, body := do(t, "GET", base+"/healthz", "", ""); code != 200 {
		t.Fatalf("healthz while rebuilding: %d %s", code, body)
	}
	body = waitReady(t, base)
	took := time.Since(began)
	r = Readiness{}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.Status != "ready" || r.Reason != "" || !r.Parts["detector"].OK {
		t.Fatalf("readyz once rebuilt: %s", body)
	}
	_, metrics := do(t, "GET", base+"/metrics", "", "")
	read := metricValue(metrics, `aftershock_detector_messages_total{type="post"}`)
	if read < n || metricValue(metrics, "aftershock_detector_rebuild_seconds") <= 0 {
		t.Fatalf("ready after %d of %d posts replayed:\n%s", int(read), n, metrics)
	}
	t.Logf("ready %.1fs after the restart, %d posts replayed", took.Seconds(), int(read))
}

// metricValue is one sample's value in a text exposition (0 if absent).
func metricValue(exposition, name string) float64 {
	for line := range strings.Lines(exposition) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

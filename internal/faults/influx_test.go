package faults

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/influxtest"
)

// influxProbes reads the probe samples InfluxDB holds: id → 1 (a point
// written twice with the same series and time is one point).
func influxProbes(t *testing.T, s *influxtest.Server) map[int64]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := s.Query(ctx, `from(bucket: "`+s.Bucket+`") |> range(start: -1h, stop: 1h)
  |> filter(fn: (r) => r._measurement == "metric" and r.name == "fault_probe" and r._field == "value")
  |> keep(columns: ["_value"])`)
	if err != nil {
		t.Fatalf("querying influx: %v", err)
	}
	got := map[int64]int{}
	for _, r := range rows {
		if v, ok := r["_value"].(float64); ok {
			got[int64(v)] = 1
		}
	}
	return got
}

// TestFaultInfluxDownThenBack stops InfluxDB for a while (minutes in
// production, four seconds here) while pushers send, then starts it again:
// the daemon keeps acknowledging, stays up, says "degraded" on /readyz
// meanwhile, and every acknowledged sample reaches InfluxDB once it is back.
func TestFaultInfluxDownThenBack(t *testing.T) {
	t.Parallel()
	db := influxtest.Start(t)
	data := filepath.Join(t.TempDir(), "data")
	d := newDaemon(t, embeddedConfig(data, `
influx: {url: "`+db.URL+`", token: "", org: "", bucket: "`+db.Bucket+`", batch_size: 500, flush_interval: 200ms, timeout: 2s}
`))
	l := newLedger()
	readiness := func() string {
		_, body, _ := d.api("GET", "/readyz", "")
		return body
	}
	degraded := false
	pushDuring(t, d, l, 50*time.Millisecond,
		sleep(1500*time.Millisecond), db.Stop,
		func() {
			// Down for at least 4s; meanwhile /readyz must say degraded.
			start := time.Now()
			for time.Since(start) < 15*time.Second && (!degraded || time.Since(start) < 4*time.Second) {
				degraded = degraded || strings.Contains(readiness(), `"degraded"`)
				time.Sleep(200 * time.Millisecond)
			}
		},
		func() {
			if err := db.Restart(); err != nil {
				t.Fatalf("restarting influxd: %v", err)
			}
		},
		sleep(1500*time.Millisecond),
	)
	if !d.running() {
		t.Fatalf("the daemon exited while InfluxDB was down (%v)", d.exitErr())
	}
	l.mu.Lock()
	acked := len(l.acked)
	l.mu.Unlock()
	var stored map[int64]int
	deadline := time.Now().Add(45 * time.Second)
	for {
		stored = influxProbes(t, db)
		if r := count("", l, stored); r.lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if !degraded {
		t.Errorf("/readyz never said degraded while InfluxDB was down: %s", readiness())
	}
	waitFor(t, "/readyz to be ready again with InfluxDB back", 30*time.Second, func() bool {
		return !strings.Contains(readiness(), `"degraded"`)
	})
	d.stop()
	r := count("InfluxDB down 4s, then back", l, stored)
	r.halts = "readyz degraded while down, ready after"
	r.duplicated = 0 // InfluxDB keeps one point per series and time
	record(t, r)
	if acked == 0 {
		t.Fatal("nothing acknowledged")
	}
	checkIngest(t, r, l, stored)
}

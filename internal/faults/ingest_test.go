package faults

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func embeddedConfig(dataDir, extra string) string {
	return `
log: {level: info, format: json}
http:
  listen: {{HTTP}}
  tokens: [{name: faults, token: "` + token + `", role: sre-admin}]
nats: {data_dir: "` + dataDir + `"}
services: [{name: shop}]
` + extra
}

func checkIngest(t *testing.T, r row, l *ledger, stored map[int64]int) {
	t.Helper()
	if r.acked == 0 {
		t.Fatalf("%s: nothing was acknowledged", r.scenario)
	}
	if r.lost > 0 {
		t.Fatalf("%s: %d acknowledged samples lost, e.g. %v", r.scenario, r.lost, lostIDs(l, stored))
	}
}

// TestFaultSIGKILLMidIngest kills the daemon twice with SIGKILL while four
// pushers send metric batches, restarting it each time.
func TestFaultSIGKILLMidIngest(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	d := newDaemon(t, embeddedConfig(data, ""))
	l := newLedger()
	pushDuring(t, d, l, time.Millisecond, // a flood: kills land mid-request
		sleep(1500*time.Millisecond), d.kill, d.start,
		sleep(1500*time.Millisecond), d.kill, d.start,
		sleep(1500*time.Millisecond),
	)
	d.stop()
	stored := storedProbes(t, openData(t, data).JS)
	r := count("SIGKILL mid-ingest (2 kills)", l, stored)
	record(t, r)
	checkIngest(t, r, l, stored)
}

// TestFaultEmbeddedBrokerRestart restarts the daemon, and with it the
// embedded broker, cleanly twice while pushers send; a release registered
// before the restarts is still there after them.
func TestFaultEmbeddedBrokerRestart(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	d := newDaemon(t, embeddedConfig(data, ""))
	if code, body, err := d.api("POST", "/v1/releases", `{"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H1"}`); err != nil || code != 201 {
		t.Fatalf("registering a release: %d %s %v", code, body, err)
	}
	l := newLedger()
	restart := func() { d.signal(sigterm); d.start() }
	pushDuring(t, d, l, time.Millisecond, // a flood: kills land mid-request
		sleep(1500*time.Millisecond), restart,
		sleep(1500*time.Millisecond), restart,
		sleep(1500*time.Millisecond),
	)
	if code, body, err := d.api("GET", "/v1/releases/shop-4.2.0", ""); err != nil || code != 200 || !strings.Contains(body, `"watching"`) {
		t.Fatalf("release after restarts: %d %s %v", code, body, err)
	}
	d.stop()
	stored := storedProbes(t, openData(t, data).JS)
	r := count("embedded broker restart (2)", l, stored)
	record(t, r)
	checkIngest(t, r, l, stored)
}

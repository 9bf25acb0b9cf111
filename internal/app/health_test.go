package app

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
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
	code, body := do(t, "GET", base+"/readyz", "", "")
	var r Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 200 || r.Status != "ready" || !r.Parts["sink"].OK {
		t.Fatalf("readyz before any write: %d %s", code, body)
	}
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

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/config"
)

// TestLiveGateNoEvidence is issue 11's reproduction against the running
// daemon: a release started on H2 through the API, two old-cohort
// error_rate samples pushed, nothing else. Asked over and over while the
// ring's hour of minimum watch runs by (simulated, 720× real time), the
// gate never says proceed — not as JSON, not to Argo (Inconclusive), not
// to Flagger (confirm-promotion keeps waiting) — and the detector's
// verdicts do reach it.
func TestLiveGateNoEvidence(t *testing.T) {
	const speed = 720
	t0 := time.Now().UTC().Truncate(time.Minute)
	wall0 := time.Now()
	clock := func() time.Time { return t0.Add(time.Since(wall0) * speed) }
	cfg, err := config.Parse([]byte(`
http:
  listen: 127.0.0.1:0
  tokens: [{name: t, token: "`+token+`", role: deploy-system}]
nats: {data_dir: "`+t.TempDir()+`"}
services: [{name: shop}]
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: clock, Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	base := "http://" + a.Addr()
	waitReady(t, base)

	start := clock().Truncate(time.Second)
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	if code, body := do(t, "POST", base+"/v1/releases", token,
		fmt.Sprintf(`{"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","time":%q}`, ts(start))); code != 201 {
		t.Fatalf("starting the release: %d %s", code, body)
	}
	if code, body := do(t, "POST", base+"/v1/metrics", token, fmt.Sprintf(
		`[{"time":%q,"service":"shop","ring":"H2","name":"error_rate","value":0.01},{"time":%q,"service":"shop","ring":"H2","name":"error_rate","value":0.011}]`,
		ts(start.Add(time.Minute)), ts(start.Add(2*time.Minute)))); code != 202 || !strings.Contains(body, `"accepted":2`) {
		t.Fatalf("pushing the samples: %d %s", code, body)
	}

	flagger := `{"name":"shop","namespace":"prod","phase":"Progressing","metadata":{"release":"shop-4.2.0","ring":"H2","token":"` + token + `"}}`
	var sawVerdict, sawCheckpoint bool
	asked := 0
	for end := start.Add(75 * time.Minute); clock().Before(end); time.Sleep(25 * time.Millisecond) {
		asked++
		code, body := do(t, "GET", base+"/v1/releases/shop-4.2.0/gate?ring=H2", token, "")
		var ans struct {
			Decision string   `json:"decision"`
			OK       bool     `json:"ok"`
			Reasons  []string `json:"reasons"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &ans) != nil {
			t.Fatalf("gate: %d %s", code, body)
		}
		if ans.Decision != "wait" || ans.OK {
			t.Fatalf("at %s the gate answered %s: %s", clock().Sub(start).Round(time.Minute), ans.Decision, body)
		}
		joined := strings.Join(ans.Reasons, "; ")
		if !strings.Contains(joined, "no verdict yet") {
			sawVerdict = true
		}
		if strings.Contains(joined, "minimum watch window of 1h0m0s over") {
			sawCheckpoint = true
		}
		code, body = do(t, "GET", base+"/v1/releases/shop-4.2.0/gate?ring=H2&format=argo", token, "")
		if code != 200 || !strings.Contains(body, `"ok":false,"decision":"wait"`) {
			t.Fatalf("argo gate: %d %s, want ok false, decision wait (Inconclusive)", code, body)
		}
		if code, body = do(t, "POST", base+"/v1/flagger/confirm-promotion", "", flagger); code != 409 || !strings.Contains(body, "shop-4.2.0 on H2: wait") {
			t.Fatalf("flagger confirm-promotion: %d %s, want 409 wait", code, body)
		}
	}
	if !sawVerdict || !sawCheckpoint {
		t.Fatalf("asked %d times: a verdict reached the gate %v, the minimum-watch checkpoint %v", asked, sawVerdict, sawCheckpoint)
	}
}

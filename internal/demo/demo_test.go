package demo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// TestDemoHaltsTheRing runs the whole demo scenario: the real daemon must
// crawl the stand-in network, pass H1 and H2, fail H3 once complaints start
// and deliver exactly one signed halt.
func TestDemoHaltsTheRing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if !res.Halted {
		t.Fatal("no halt delivered")
	}
	h := res.Halt
	if h.Release != "shop-4.2.0" || h.Ring != "H3" || h.Decision != signals.DecisionFail || h.Action != signals.ActionHalt {
		t.Errorf("halt payload %+v, want shop-4.2.0 H3 fail/halt", h)
	}
	if res.Attempts < 2 {
		t.Errorf("%d attempts: the receiver's first 503 should have been retried", res.Attempts)
	}
	if res.DetectedIn <= 0 || res.DetectedIn > 10*time.Minute {
		t.Errorf("detected %s after the incident began, want within 10 simulated minutes", res.DetectedIn)
	}
	for _, want := range []string{"started on ring H1", "ring H1: score 100.0 → PASS", "promoted on ring H3", "login", "HALT delivered"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if (strings.Contains(line, "ring H1:") || strings.Contains(line, "ring H2:")) && strings.Contains(line, "FAIL") {
			t.Errorf("a ring failed before the incident: %s", line)
		}
	}
}

package prometheus_test

import (
	"context"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/prometheus"
	"github.com/aftershock/aftershock/internal/bus"
)

// TestThroughRunner runs the source in the real runner against the embedded
// bus: its samples land on metrics.shop and its cursor is stored.
func TestThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	srv := crawlertest.ServeSteps(t, "vector/01.http")
	spec := crawlertest.Spec(t, `
name: shop-errors
type: prometheus
service: shop
options:
`+oneQuery(srv.URL, ""))
	reg := crawlers.NewRegistry().Add(prometheus.Type, prometheus.Constructor)
	// Stop after the first poll.
	crawlertest.RunThrough(t, b, crawlertest.Build(t, reg, spec, crawlers.Deps{Now: clock}), clock,
		func(_ int, _ time.Duration, cancel func()) { cancel() })
	got := crawlertest.CollectMetrics(t, b.JS, 3, 5*time.Second)
	compareSamples(t, got, readWant(t, "vector/want.jsonl"))
	if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != 3 {
		t.Errorf("METRICS holds %d samples, want 3", n)
	}
	e, err := kv.Get(context.Background(), "shop-errors")
	if err != nil {
		t.Fatalf("cursor not stored: %v", err)
	}
	if want := `{"time":"2026-11-24T10:00:00Z"}`; string(e.Value()) != want {
		t.Errorf("cursor %s, want %s", e.Value(), want)
	}
}

package crawlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/inbound"
	"github.com/aftershock/aftershock/signals"
)

// TestMetricCheck: a crawled metric sample the configuration rules out (an
// unknown ring, a negative value) is skipped and counted, the rest published.
func TestMetricCheck(t *testing.T) {
	e := newEnv(t)
	rules := &inbound.Rules{Services: []string{"shop"}, Rings: []string{"H1", "H2", "H3"}, Now: func() time.Time { return now }}
	s := &script{steps: []step{{page: crawlers.Page{
		Metrics: []signals.MetricSample{
			{Time: now, Name: "error_rate", Ring: "H2", Value: 0.5},
			{Time: now, Name: "error_rate", Ring: "../..", Value: 0.5},
			{Time: now, Name: "error_rate", Value: -1},
		},
		Cursor: "c",
	}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s.done = cancel
	r := crawlers.NewRunner(e.bus.JS, e.kv, nil, e.metrics, crawlers.WithClock(func() time.Time { return now }),
		crawlers.WithSleep(e.waits.sleep), crawlers.WithMetricCheck(rules.Metric))
	if err := r.Run(ctx, &crawlers.Instance{Spec: spec("src"), Poller: s}); err != nil {
		t.Fatal(err)
	}
	samples := crawlertest.CollectMetrics(t, e.bus.JS, 1, 5*time.Second)
	if len(samples) != 1 || samples[0].Ring != "H2" {
		t.Errorf("published %+v, want only the H2 sample", samples)
	}
	if got := value(t, e.metrics.Samples.WithLabelValues("src", crawlers.ResultSkipped, crawlers.SkipInvalid)); got != 2 {
		t.Errorf("skipped samples %v, want 2", got)
	}
}

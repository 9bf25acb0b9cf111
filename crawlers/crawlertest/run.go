package crawlertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/internal/bus"
)

// runFor bounds one RunThrough.
const runFor = 20 * time.Second

// Build builds the one source of spec from reg with deps.
func Build(t testing.TB, reg *crawlers.Registry, spec crawlers.Spec, deps crawlers.Deps) *crawlers.Instance {
	t.Helper()
	insts, err := reg.Build([]crawlers.Spec{spec}, deps)
	if err != nil {
		t.Fatal(err)
	}
	return insts[0]
}

// Runner is a real crawlers.Runner on a test bus, keeping cursors in the
// bus's bucket, with the test's clock and no jitter. Its sleep records
// each wait, calls the onWait it was built with, and returns at once.
type Runner struct {
	*crawlers.Runner
	Metrics  *crawlers.Metrics
	Registry *prometheus.Registry // where Metrics are registered

	mu    sync.Mutex
	waits []time.Duration
}

// NewRunner builds a Runner on b with clock now; onWait (may be nil) sees
// the n-th wait (from 1) d.
func NewRunner(t testing.TB, b *bus.Bus, now func() time.Time, onWait func(n int, d time.Duration)) *Runner {
	t.Helper()
	r := &Runner{Registry: prometheus.NewRegistry()}
	r.Metrics = crawlers.NewMetrics(r.Registry)
	sleep := func(ctx context.Context, d time.Duration) error {
		r.mu.Lock()
		r.waits = append(r.waits, d)
		n := len(r.waits)
		r.mu.Unlock()
		if onWait != nil {
			onWait(n, d)
		}
		return ctx.Err()
	}
	r.Runner = crawlers.NewRunner(b.JS, Cursors(t, b), nil, r.Metrics,
		crawlers.WithClock(now), crawlers.WithSleep(sleep),
		crawlers.WithJitter(func(d time.Duration) time.Duration { return d }))
	return r
}

// Waits returns the waits so far.
func (r *Runner) Waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// RunThrough runs inst in a new Runner (see NewRunner) on b until script,
// called on the n-th wait d, ends the run with cancel. It fails the test if
// the run fails or does not end within 20 s, and returns the Runner for its
// waits and metrics.
func RunThrough(t testing.TB, b *bus.Bus, inst *crawlers.Instance, now func() time.Time, script func(n int, d time.Duration, cancel func())) *Runner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	r := NewRunner(t, b, now, func(n int, d time.Duration) { script(n, d, cancel) })
	if err := r.Run(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("run did not end within %s", runFor)
	}
	return r
}

// PostCounts reads the runner's aftershock_crawler_posts_total by result.
func (r *Runner) PostCounts(t testing.TB) map[string]float64 {
	t.Helper()
	mfs, err := r.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := make(map[string]float64)
	for _, mf := range mfs {
		if mf.GetName() != "aftershock_crawler_posts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					counts[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return counts
}

package detector

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

func keyedOf(xs []sample) []keyedSample {
	out := make([]keyedSample, len(xs))
	for i, x := range xs {
		out[i] = keyedSample{key: sampleKey(x), value: x.value}
	}
	return out
}

func sortedItems(b bottomK) []keyedSample {
	xs := slices.Clone(b.items)
	sort.Slice(xs, func(i, j int) bool { return xs[i].before(xs[j]) })
	return xs
}

func randomSamples(rng *rand.Rand, n int) []sample {
	xs := make([]sample, n)
	for i := range xs {
		xs[i] = sample{t: t0.Add(time.Duration(i) * 7 * time.Second), version: "4.2.0", value: math.Round(1000*rng.ExpFloat64()) / 1000}
	}
	return xs
}

// Up to the cap the summary is every sample; beyond it, the k samples
// with the smallest keys whatever the order and batches they came in —
// and a summary given more samples is the summary of the union.
func TestBottomK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	few := keyedOf(randomSamples(rng, maxWatchSamples))
	var b bottomK
	for _, x := range few {
		b.offer(x, maxWatchSamples)
	}
	want := slices.Clone(few)
	sort.Slice(want, func(i, j int) bool { return want[i].before(want[j]) })
	if got := sortedItems(b); !reflect.DeepEqual(got, want) || b.n != int64(len(few)) {
		t.Fatalf("below the cap the summary is not every sample (%d of %d)", len(got), len(few))
	}

	many := keyedOf(randomSamples(rng, 5000))
	var inOrder, shuffled, merged bottomK
	for _, x := range many {
		inOrder.offer(x, maxWatchSamples)
	}
	perm := rng.Perm(len(many))
	for _, i := range perm {
		shuffled.offer(many[i], maxWatchSamples)
	}
	for _, x := range many[:3000] {
		merged.offer(x, maxWatchSamples)
	}
	merged = merged.clone()
	for _, x := range many[3000:] {
		merged.offer(x, maxWatchSamples)
	}
	all := slices.Clone(many)
	sort.Slice(all, func(i, j int) bool { return all[i].before(all[j]) })
	want = all[:maxWatchSamples]
	for name, b := range map[string]bottomK{"in order": inOrder, "shuffled": shuffled, "in two batches": merged} {
		if got := sortedItems(b); !reflect.DeepEqual(got, want) || b.n != int64(len(many)) {
			t.Errorf("%s: not the %d smallest keys of the %d samples (n=%d)", name, maxWatchSamples, len(many), b.n)
		}
	}
	// Shrunk on the way (a watch that got more metrics): the bottom-k of
	// every sample for the smaller k.
	var shrunk bottomK
	for _, x := range many[:3000] {
		shrunk.offer(x, maxWatchSamples)
	}
	shrunk.shrink(256)
	for _, x := range many[3000:] {
		shrunk.offer(x, 256)
	}
	if got := sortedItems(shrunk); !reflect.DeepEqual(got, all[:256]) {
		t.Errorf("shrunk to 256: not the 256 smallest keys")
	}
}

// A watch of many metrics keeps fewer samples of each: at most
// watchSampleBudget in all (down to minWatchSamples a cohort).
func TestWatchSampleBudget(t *testing.T) {
	for _, metrics := range []int{1, 2, 4, 8, 12} {
		w := &watch{ev: signals.ReleaseEvent{Version: "4.2.0"}}
		rng := rand.New(rand.NewPCG(1, uint64(metrics)))
		for i := 0; i < 3000; i++ {
			for m := 0; m < metrics; m++ {
				w.addSample(fmt.Sprint("metric", m), sample{t: t0.Add(time.Duration(i) * time.Second), version: []string{"", "4.2.0"}[i%2], value: rng.Float64()})
			}
		}
		held := 0
		for _, c := range w.samples.by {
			held += len(c.canary.items) + len(c.other.items)
			if want := sampleCap(metrics); len(c.canary.items) != want || len(c.other.items) != want {
				t.Errorf("%d metrics: a cohort holds %d and %d samples, want %d", metrics, len(c.canary.items), len(c.other.items), want)
			}
		}
		if held > watchSampleBudget {
			t.Errorf("%d metrics: %d samples held, more than %d", metrics, held, watchSampleBudget)
		}
	}
}

// The whole-watch comparison on the summary gives the judge's answer on
// every sample, except near its thresholds (a median up by half,
// P(new > old) at 0.75), where the summary's estimates can tip it either
// way. 4,000 samples a cohort, so the summary holds about a quarter.
func TestWatchSampleFaithful(t *testing.T) {
	cfg := defaultConfig(t)
	var worst float64
	near, nearDiffer := 0, 0
	for _, mult := range []float64{1, 1.2, 1.4, 1.5, 1.6, 1.9, 2.5} {
		for seed := uint64(1); seed <= 8; seed++ {
			rng := rand.New(rand.NewPCG(seed, uint64(mult*100)))
			d := New(cfg, nil)
			start := t0
			d.Release(signals.ReleaseEvent{Time: start, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted})
			for i := 0; i < 4000; i++ {
				at := start.Add(time.Second + time.Duration(i)*15*time.Second)
				d.Metric(signals.MetricSample{Time: at, Service: "shop", Name: "latency_p99", Value: 300 * math.Exp(0.3*rng.NormFloat64())})
				d.Metric(signals.MetricSample{Time: at, Service: "shop", Name: "latency_p99", Version: "4.2.0", Value: 300 * mult * math.Exp(0.3*rng.NormFloat64())})
			}
			until := start.Add(4000*15*time.Second + time.Hour)
			w, s := d.watches[watchKey{"shop-4.2.0", "H3"}], d.services["shop"]
			sampled, _ := d.metricResult(w, s, "latency_p99", w.start, until)
			exact, _ := d.metricResult(w, s, "latency_p99", w.start.Add(time.Nanosecond), until) // every sample
			if c := w.samples.by["latency_p99"]; c == nil || len(c.canary.items) != maxWatchSamples || c.canary.n != 4000 {
				t.Fatalf("the summary holds %+v", c)
			}
			ca, ba, _, _ := d.metricSamples(w, s, "latency_p99", w.start, until)
			_, effS := mannWhitneyGreater(ca, ba)
			ce, be, _, _ := d.metricSamples(w, s, "latency_p99", w.start.Add(time.Nanosecond), until)
			_, effE := mannWhitneyGreater(ce, be)
			worst = max(worst, math.Abs(effS-effE))
			if mult == 1.5 {
				near++
				if sampled.Outcome != exact.Outcome {
					nearDiffer++
				}
				continue
			}
			if sampled.Outcome != exact.Outcome {
				t.Errorf("×%.1f seed %d: on the summary %s (%s), on every sample %s (%s)", mult, seed, sampled.Outcome, sampled.Detail, exact.Outcome, exact.Detail)
			}
		}
	}
	t.Logf("largest difference of P(new>old), summary vs every sample: %.4f; at ×1.5 (the median threshold) %d of %d outcomes differ", worst, nearDiffer, near)
	if worst > 0.05 {
		t.Errorf("P(new>old) on the summary off by %.3f (more than 4 standard errors)", worst)
	}
}

// A sample that comes in after the watch folded its time, and one the
// service drops before the watch folded it, are each counted once.
func TestWatchSamplesLateAndEvicted(t *testing.T) {
	cfg := defaultConfig(t)
	d := New(cfg, nil)
	d.Release(signals.ReleaseEvent{Time: t0, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted})
	w, key := d.watches[watchKey{"shop-4.2.0", "H3"}], "error_rate"
	n := func() int64 {
		c := w.samples.by[key]
		if c == nil {
			return 0
		}
		return c.canary.n + c.other.n
	}
	// More samples than the service keeps, before the watch folds any.
	total := maxSamplesPerMetric + 500
	for i := 0; i < total; i++ {
		d.Metric(signals.MetricSample{Time: t0.Add(time.Duration(i) * time.Second), Service: "shop", Name: key, Value: 0.01})
	}
	if got := n(); got != 500 {
		t.Fatalf("%d dropped samples in the summary, want 500", got)
	}
	until := t0.Add(time.Duration(total)*time.Second + time.Hour)
	d.metricSamples(w, d.services["shop"], key, w.start, until)
	if got := n(); got != int64(total) {
		t.Fatalf("after folding %d samples in the summary, want %d", got, total)
	}
	d.Metric(signals.MetricSample{Time: t0.Add(10 * time.Minute), Service: "shop", Name: key, Value: 0.02})
	d.metricSamples(w, d.services["shop"], key, w.start, until.Add(time.Minute))
	if got := n(); got != int64(total)+1 {
		t.Fatalf("after a late sample %d in the summary, want %d", got, total+1)
	}
}

// The summary comes back whole from a snapshot; a damaged one is refused;
// a watch saved by the release before (no samples) is restored, folds the
// replayed samples from its start and says which samples are missing.
func TestSnapshotKeepsWatchSamples(t *testing.T) {
	cfg := defaultConfig(t)
	h3 := t0.Add(8 * time.Hour)
	restart := h3.Add(10 * time.Hour)
	rng := rand.New(rand.NewPCG(5, 6))
	tl := &timeline{}
	tl.genPosts(rng, t0, restart, 6, 0.1, 0, "")
	ring := func(time.Time) string { return "H3" }
	tl.genMetrics(rng, t0, restart, h3, "error_rate", 0.01, ring, func(time.Time) float64 { return 1 })
	tl.genMetrics(rng, t0, restart, h3, "latency_p99", 300, ring, func(time.Time) float64 { return 1 })
	tl.event(h3, "H3", signals.EventStarted)
	d := New(cfg, nil)
	tl.run(d, t0, restart, &Output{})
	data, err := d.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	r := New(cfg, nil)
	if err := r.RestoreService("shop", data); err != nil {
		t.Fatal(err)
	}
	key := watchKey{"shop-4.2.0", "H3"}
	if got, want := sortedSamples(r.watches[key]), sortedSamples(d.watches[key]); !reflect.DeepEqual(got, want) || len(got) != 2 {
		t.Fatalf("samples after restore differ (%d metrics, want 2)", len(got))
	}
	if !r.watches[key].samples.next.Equal(d.watches[key].samples.next) {
		t.Fatalf("folded to %s after restore, want %s", r.watches[key].samples.next, d.watches[key].samples.next)
	}

	var snap serviceSnapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	recode := func(change func(*watchSnapshot)) []byte {
		s := snap
		s.Watches = slices.Clone(snap.Watches)
		change(&s.Watches[0])
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(s); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	damaged := recode(func(w *watchSnapshot) {
		w.Samples = slices.Clone(w.Samples)
		w.Samples[0].Canary.Samples = w.Samples[0].Canary.Samples[:13]
	})
	if err := New(cfg, nil).RestoreService("shop", damaged); err == nil {
		t.Fatal("damaged samples restored")
	}

	previous := recode(func(w *watchSnapshot) { w.Samples, w.SamplesNext = nil, time.Time{} })
	replayFrom := restart.Add(-8 * time.Hour)
	p, _, notes := tl.restart(t, cfg, previous, replayFrom, restart)
	if len(notes) != 1 || !strings.Contains(notes[0], "metric samples before "+replayFrom.Format(time.RFC3339)+" are not available") {
		t.Fatalf("notes %q, want the missing samples named", notes)
	}
	pw := p.watches[key]
	p.metricSamples(pw, p.services["shop"], "error_rate", pw.start, restart)
	replayed := 0
	for _, m := range tl.metrics {
		if m.Name == "error_rate" && !m.Time.Before(replayFrom) && m.Time.Before(restart.Add(-cfg.Lateness)) {
			replayed++
		}
	}
	if c := pw.samples.by["error_rate"]; c == nil || c.canary.n+c.other.n != int64(replayed) {
		t.Fatalf("a watch saved without samples folded %+v, want the %d replayed", c, replayed)
	}
}

// BenchmarkEvaluateMetrics is one evaluation of an H3 watch 16 hours in,
// with two metrics of both cohorts from two instances every 30 s (7,680
// samples a metric): the whole-watch comparison reads the watch's bounded
// sample and the samples after it instead of every sample.
func BenchmarkEvaluateMetrics(b *testing.B) {
	cfg := defaultConfig(b)
	d := New(cfg, nil)
	d.Release(signals.ReleaseEvent{Time: t0, Release: "r", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted})
	rng := rand.New(rand.NewPCG(1, 2))
	end := t0.Add(16 * time.Hour)
	w := d.watches[watchKey{"r", "H3"}]
	for at := t0; at.Before(end); at = at.Add(30 * time.Second) {
		for _, name := range []string{"error_rate", "latency_p99"} {
			for inst := 0; inst < 2; inst++ {
				for _, v := range []string{"", "4.2.0"} {
					d.Metric(signals.MetricSample{Time: at.Add(time.Duration(inst) * time.Second), Service: "shop", Version: v, Name: name, Value: math.Exp(0.2 * rng.NormFloat64())})
				}
			}
		}
		if at.Second() == 0 && at.Minute() == 0 {
			d.evaluate(w, at) // hourly, as a long-running watch would have
			d.pending = Output{}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.decision, w.closed = "", false
		d.evaluate(w, end)
		d.pending = Output{}
	}
}

// TestSampledComparisonSaysSo: a whole-watch metric failure judged on the
// bounded summary says it was a sample, and of how many samples; one judged
// on every sample says nothing of the kind.
func TestSampledComparisonSaysSo(t *testing.T) {
	cfg := defaultConfig(t)
	for _, c := range []struct {
		n       int
		sampled bool
	}{{200, false}, {3000, true}} {
		rng := rand.New(rand.NewPCG(7, uint64(c.n)))
		d := New(cfg, nil)
		d.Release(signals.ReleaseEvent{Time: t0, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted})
		for i := 0; i < c.n; i++ {
			at := t0.Add(time.Second + time.Duration(i)*15*time.Second)
			d.Metric(signals.MetricSample{Time: at, Service: "shop", Name: "latency_p99", Value: 300 * math.Exp(0.3*rng.NormFloat64())})
			d.Metric(signals.MetricSample{Time: at, Service: "shop", Name: "latency_p99", Version: "4.2.0", Value: 900 * math.Exp(0.3*rng.NormFloat64())})
		}
		until := t0.Add(time.Duration(c.n)*15*time.Second + time.Minute)
		w, s := d.watches[watchKey{"shop-4.2.0", "H3"}], d.services["shop"]
		r, ok := d.metricResult(w, s, "latency_p99", w.start, until)
		if !ok || r.Outcome != signals.OutcomeFail {
			t.Fatalf("%d samples a cohort: %+v, want a failure", c.n, r)
		}
		want := fmt.Sprintf("on a uniform sample of %d of %d new-version and %d of %d baseline samples", maxWatchSamples, c.n, maxWatchSamples, c.n)
		if got := strings.Contains(r.Detail, want); got != c.sampled {
			t.Errorf("%d samples a cohort: detail %q; want it to say %q: %v", c.n, r.Detail, want, c.sampled)
		}
		if !c.sampled && strings.Contains(r.Detail, "sample of") {
			t.Errorf("%d samples a cohort, every one judged: detail %q", c.n, r.Detail)
		}
	}
}

package detector

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

func benchDetector(b *testing.B) *Detector {
	cfg := defaultConfig(b)
	return New(cfg, nil)
}

// BenchmarkPost is the detector's cost per (already enriched) post, with one
// open watch window on the service.
func BenchmarkPost(b *testing.B) {
	d := benchDetector(b)
	d.Release(signals.ReleaseEvent{Time: t0, Release: "r", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted})
	en := []signals.Enrichment{
		{Lang: "en", Sentiment: 0.5, Tokens: []string{"love", "the", "new", "dark", "mode"}},
		{Lang: "en", Sentiment: -0.6, Categories: []string{"login"}, Versions: []string{"4.2"}, MentionsUpdate: true, Tokens: []string{"cant", "login", "since", "update"}},
	}
	posts := make([]signals.Post, 1000)
	for i := range posts {
		e := en[i%2]
		posts[i] = signals.Post{Time: t0.Add(time.Duration(i) * 100 * time.Millisecond), Source: "x", ID: fmt.Sprint(i), Service: "shop", Text: fmt.Sprint("t", i), Enrichment: &e}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := posts[i%len(posts)]
		p.Time = p.Time.Add(time.Duration(i/len(posts)) * 100 * time.Second)
		d.Post(p)
	}
}

// BenchmarkMetric is the cost per metric sample.
func BenchmarkMetric(b *testing.B) {
	d := benchDetector(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.Metric(signals.MetricSample{Time: t0.Add(time.Duration(i) * time.Second), Service: "shop", Version: "4.2.0", Name: "error_rate", Value: 0.01})
	}
}

// BenchmarkMetricCounts is the cost per count sample (the push's count
// form: requests and errors of each cohort once a minute) with an open H2
// watch whose error-count chart folds and is judged every minute (Advance
// once a simulated minute, its cost spread over the minute's four
// samples), over the first 12 hours of the watch.
func BenchmarkMetricCounts(b *testing.B) {
	start := t0.Add(6 * time.Hour)
	sample := func(i int) signals.MetricSample {
		m := i / 4 // four samples a minute: requests and errors of two cohorts
		v, name, value := "", "requests", 2000.0
		if i%2 == 1 {
			name, value = "errors", 20
		}
		if i%4 >= 2 {
			v, value = "4.2.0", value/50
		}
		return signals.MetricSample{Time: t0.Add(time.Duration(m)*time.Minute + 30*time.Second), Service: "shop", Version: v, Ring: "H2", Name: name, Value: value}
	}
	const first, last = 6 * 60 * 4, 18 * 60 * 4
	var d *Detector
	i := last
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if i == last {
			b.StopTimer()
			d = benchDetector(b)
			for i = 0; i < first; i++ { // the baseline hours: the old cohort
				if i%4 < 2 {
					d.Metric(sample(i))
				}
			}
			d.Release(signals.ReleaseEvent{Time: start, Release: "r", Service: "shop", Version: "4.2.0", Ring: "H2", Event: signals.EventStarted})
			b.StartTimer()
		}
		x := sample(i)
		d.Metric(x)
		if i%4 == 3 {
			d.Advance(x.Time.Truncate(time.Minute).Add(time.Minute))
		}
		i++
	}
}

// BenchmarkEvaluate is one evaluation of an H3 watch over a busy baseline.
func BenchmarkEvaluate(b *testing.B) {
	d := benchDetector(b)
	e := signals.Enrichment{Lang: "en", Sentiment: -0.6, Categories: []string{"login"}, Tokens: []string{"cant", "login", "since", "update"}}
	for i := 0; i < 8*60*20; i++ { // 8 h at 20 posts/min
		d.Post(signals.Post{Time: t0.Add(time.Duration(i) * 3 * time.Second), Source: "x", ID: fmt.Sprint(i), Service: "shop", Enrichment: &e})
	}
	start := t0.Add(7 * time.Hour)
	d.Release(signals.ReleaseEvent{Time: start, Release: "r", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted})
	w := d.watches[watchKey{"r", "H3"}]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.decision, w.closed = "", false
		d.evaluate(w, start.Add(30*time.Minute))
		d.pending = Output{}
	}
}

// BenchmarkMemory1000Services fills 1,000 services with a week of hourly
// history and a full minute-bucket baseline, and reports the heap they hold.
func BenchmarkMemory1000Services(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := benchDetector(b)
		e := signals.Enrichment{Lang: "en", Sentiment: -0.2, Categories: []string{"slow"}, Tokens: []string{"checkout", "slow", "today"}}
		for s := 0; s < 1000; s++ {
			name := fmt.Sprintf("svc-%d", s)
			// One post every 10 minutes for a week, then one a minute for 8
			// hours; every text different (the repeat memory fills up).
			for m := 0; m < 7*24*60; m += 10 {
				d.Post(signals.Post{Time: t0.Add(time.Duration(m) * time.Minute), Source: "x", ID: "i", Service: name, Text: fmt.Sprint("post ", m), Enrichment: &e})
			}
			for m := 0; m < 8*60; m++ {
				d.Post(signals.Post{Time: t0.Add(7*24*time.Hour + time.Duration(m)*time.Minute), Source: "x", ID: "i", Service: name, Text: fmt.Sprint("post ", m), Enrichment: &e})
			}
		}
		d.Advance(t0.Add(8 * 24 * time.Hour)) // flush rollups
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1000/1024, "KiB/service")
		runtime.KeepAlive(d)
	}
}

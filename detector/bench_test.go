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

package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
	"github.com/aftershock/aftershock/signals/enrich"
)

// BenchmarkRebuild measures a start-up rebuild: the snapshot of a service
// with an open H3 watch restored, then 8 hours of posts of that service at
// 100 a minute (48,000 posts, what the default replay span holds for a
// busy service) replayed from the embedded JetStream, merged with the
// release events, until the detector is caught up. One op is one rebuild.
// "enriched": the posts carry their enrichment; "raw": the detector
// enriches them as it does crawled posts (signals/enrich defaults);
// "metrics": enriched posts plus two metrics of both cohorts from two
// instances every 30 s (16 samples a minute, 7,680 over the 8 hours).
func BenchmarkRebuild(b *testing.B) {
	b.Run("enriched", func(b *testing.B) { benchmarkRebuild(b, false, false) })
	b.Run("raw", func(b *testing.B) { benchmarkRebuild(b, true, false) })
	b.Run("metrics", func(b *testing.B) { benchmarkRebuild(b, false, true) })
}

func benchmarkRebuild(b *testing.B, raw, metrics bool) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bs, err := bus.Open(ctx, bus.Config{DataDir: b.TempDir(), Retention: 30 * 24 * time.Hour, Replicas: 1}, log)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	kv, _ := bs.KV(ctx, bus.BucketBaselines)
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	const perMinute, minutes = 100, 8 * 60
	texts := []string{"love the new shop app, checkout was quick", "my order arrived today, well packed",
		"can't log in since the update, keeps crashing", "browsing the sale, nice shoes", "앱이 계속 꺼져요 업데이트 이후로"}
	for m := 0; m < minutes; m++ {
		for i := 0; i < perMinute; i++ {
			e := signals.Enrichment{Lang: "en", Sentiment: 0.4, Tokens: []string{"shop", "order", "fast"}}
			if i%10 == 0 {
				e.Sentiment = -0.6
			}
			p := signals.Post{Type: signals.TypePost, Time: t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second/2), Source: "test",
				ID: fmt.Sprint(m*perMinute + i), Service: "shop", Text: fmt.Sprintf("post %d", m*perMinute+i), Enrichment: &e}
			if raw {
				p.Enrichment = nil
				p.Text = fmt.Sprintf("%s post %d", texts[i%len(texts)], m*perMinute+i)
			}
			data, _ := json.Marshal(p)
			if _, err := bs.JS.PublishAsync(bus.PostSubject("test"), data, jetstream.WithMsgID(p.MsgID())); err != nil {
				b.Fatal(err)
			}
		}
		if metrics {
			for half := 0; half < 2; half++ {
				at := t0.Add(time.Duration(m)*time.Minute + time.Duration(half)*30*time.Second)
				for i, name := range []string{"error_rate", "latency_p99"} {
					for inst := 0; inst < 2; inst++ {
						for _, version := range []string{"", "4.2.0"} {
							v := []float64{0.01, 300}[i] * (1 + 0.1*float64((m*7+inst*3+half)%11)/11)
							s := signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: "shop", Version: version, Name: name, Value: v,
								Series: fmt.Sprintf(`{instance="10.0.0.%d:8080"}`, inst)}
							data, _ := json.Marshal(s)
							if _, err := bs.JS.PublishAsync(bus.MetricSubject("shop"), data); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
			}
		}
		<-bs.JS.PublishAsyncComplete()
	}
	ev := signals.ReleaseEvent{Time: t0.Add(6 * time.Hour), Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted}
	if err := (bus.Publisher{JS: bs.JS}).Release(ctx, ev, ""); err != nil {
		b.Fatal(err)
	}
	var enricher func(string) detector.Enricher
	if raw {
		an, err := enrich.New(enrich.Config{})
		if err != nil {
			b.Fatal(err)
		}
		enricher = func(string) detector.Enricher { return an }
	}
	end := t0.Add(minutes * time.Minute)
	run := func() (time.Duration, int) {
		reg := prometheus.NewRegistry()
		p := New(bs.JS, detector.New(cfg, enricher), func() time.Time { return end }, time.Hour, log, reg).WithSnapshots(kv, time.Hour)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(rctx, time.Time{}) }()
		pr := &process{reg: reg}
		for pr.gauge("aftershock_detector_rebuild_seconds") == 0 {
			time.Sleep(time.Millisecond)
		}
		d := time.Duration(pr.gauge("aftershock_detector_rebuild_seconds") * float64(time.Second))
		n := int(pr.gauge("aftershock_detector_messages_total"))
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		return d, n
	}
	run() // the first process: builds the watch and saves the snapshot
	b.ResetTimer()
	var total time.Duration
	var n int
	for i := 0; i < b.N; i++ {
		d, k := run()
		total, n = total+d, k
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/rebuild")
	b.ReportMetric(float64(n)/(total.Seconds()/float64(b.N)), "msgs/s")
}

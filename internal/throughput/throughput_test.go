package throughput

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/pipeline"
	"github.com/aftershock/aftershock/internal/replay"
	"github.com/aftershock/aftershock/signals"
	"github.com/aftershock/aftershock/signals/enrich"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var texts = []string{
	"can't log in to the shop app since the 4.2 update, login is broken",
	"Love how fast checkout is on the shop app",
	"the shop app search is a bit slow today",
	"로그인이 안 돼요 업데이트 이후로 계속 오류가 나요",
	"got my order from shop today, great packaging!",
}

func post(i int, t time.Time) signals.Post {
	return signals.Post{Type: signals.TypePost, Time: t, Source: "bench", ID: strconv.Itoa(i), Service: "shop", Text: texts[i%len(texts)], Author: "u" + strconv.Itoa(i%101)}
}

func open(tb testing.TB) *bus.Bus {
	tb.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: tb.TempDir(), Retention: 24 * time.Hour, Replicas: 1}, quiet)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	return b
}

// bare publishes n messages with msg ids (async, bounded in flight) to a
// file-storage stream and consumes them with explicit acks; it returns the
// time from the first publish to the last ack.
func bare(tb testing.TB, n int) time.Duration {
	tb.Helper()
	ctx := context.Background()
	b := open(tb)
	if _, err := b.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "BARE", Subjects: []string{"bare.>"}, Storage: jetstream.FileStorage, Duplicates: time.Hour}); err != nil {
		tb.Fatal(err)
	}
	c, err := b.JS.CreateOrUpdateConsumer(ctx, "BARE", jetstream.ConsumerConfig{Durable: "bare", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		tb.Fatal(err)
	}
	payloads := make([][]byte, len(texts))
	for i := range texts {
		payloads[i], _ = json.Marshal(post(i, time.Now()))
	}
	done := make(chan struct{})
	got := 0
	cc, err := c.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		got++
		if got == n {
			close(done)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer cc.Stop()
	start := time.Now()
	for i := range n {
		if _, err := b.JS.PublishAsync("bare.x", payloads[i%len(payloads)], jetstream.WithMsgID("bench:"+strconv.Itoa(i)), jetstream.WithStallWait(time.Minute)); err != nil {
			tb.Fatal(err)
		}
	}
	<-b.JS.PublishAsyncComplete()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		tb.Fatalf("bare: %d of %d consumed", got, n)
	}
	return time.Since(start)
}

// counter reads the pipeline's post counter.
func counter(tb testing.TB, reg *prometheus.Registry) int {
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "aftershock_detector_messages_total" {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetValue() == "post" {
						return int(m.GetCounter().GetValue())
					}
				}
			}
		}
	}
	return 0
}

func lag(reg *prometheus.Registry) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "aftershock_detector_event_lag_seconds" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// feed is a source serving posts 0..n-1 in pages (the cursor is how many
// were served), each page again from overlap posts back, as overlapping
// polls do. With rate > 0 it serves only the posts due by then, each made
// (timestamped) when served, so their time is the moment they are handed
// to the runner for publishing.
type feed struct {
	n, page, overlap int
	rate             float64
	start            time.Time
	done             func()
}

func (f *feed) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	i, _ := strconv.Atoi(cursor)
	if i >= f.n {
		f.done()
		<-ctx.Done()
		return crawlers.Page{}, ctx.Err()
	}
	end := min(f.n, i+f.page)
	if f.rate > 0 {
		// Wait until the next post is due, then serve all that are.
		due := func() int { return int(time.Since(f.start).Seconds() * f.rate) }
		if d := time.Until(f.start.Add(time.Duration(float64(i+1) / f.rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
		end = min(end, max(i+1, due()))
	}
	from := max(0, i-f.overlap)
	posts := make([]signals.Post, 0, end-from)
	now := time.Now()
	for j := from; j < end; j++ {
		p := post(j, now)
		p.Source, p.Service = "", "" // the runner fills them from the spec
		posts = append(posts, p)
	}
	return crawlers.Page{Posts: posts, Cursor: strconv.Itoa(end), More: true}, nil
}

// ingest runs the real path: a crawler runner polls a source (feed) and
// publishes every post asynchronously with its Nats-Msg-Id, storing the
// cursor once a page is acknowledged; the pipeline consumes, decodes,
// enriches and folds them into the detector. rate > 0 paces the source and
// samples publish-to-detector latency. It returns the time until the
// detector has counted every post, and checks it counted each once.
func ingest(tb testing.TB, n int, rate float64) (time.Duration, []time.Duration) {
	return ingestFeed(tb, &feed{n: n, page: 1000, rate: rate})
}

func ingestFeed(tb testing.TB, f *feed) (time.Duration, []time.Duration) {
	tb.Helper()
	n, rate := f.n, f.rate
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := open(tb)
	an, err := enrich.New(enrich.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	var cfg detector.Config
	if err := cfg.Validate("detector"); err != nil {
		tb.Fatal(err)
	}
	det := detector.New(cfg, func(string) detector.Enricher { return an })
	reg := prometheus.NewRegistry()
	p := pipeline.New(b.JS, det, time.Now, time.Second, quiet, reg)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, time.Time{}) }()
	cursors, err := b.KV(ctx, bus.BucketCursors)
	if err != nil {
		tb.Fatal(err)
	}
	runner := crawlers.NewRunner(b.JS, cursors, quiet, nil)
	spec := crawlers.Spec{Name: "bench", Type: "bench", Service: "shop", Interval: time.Minute}
	if err := spec.Validate(); err != nil {
		tb.Fatal(err)
	}
	rctx, stopRunner := context.WithCancel(ctx)
	defer stopRunner()
	finished := make(chan struct{})
	var once sync.Once
	var publishedIn time.Duration // set before finished is closed
	f.done = func() {
		once.Do(func() {
			publishedIn = time.Since(f.start)
			close(finished)
		})
	}
	var lats []time.Duration
	stopSample := make(chan struct{})
	sampled := make(chan struct{})
	if rate > 0 {
		go func() {
			defer close(sampled)
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopSample:
					return
				case <-t.C:
					if v := lag(reg); v > 0 {
						lats = append(lats, time.Duration(v*float64(time.Second)))
					}
				}
			}
		}()
	} else {
		close(sampled)
	}
	ran := make(chan error, 1)
	start := time.Now()
	f.start = start
	go func() { ran <- runner.Run(rctx, &crawlers.Instance{Spec: spec, Poller: f}) }()
	deadline := time.Now().Add(5 * time.Minute)
	for counter(tb, reg) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("ingest: detector counted %d of %d posts", counter(tb, reg), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	close(stopSample)
	<-sampled
	// The last page is stored once acknowledged; the source is then asked
	// past the end, and nothing more may reach the detector.
	select {
	case <-finished:
	case <-time.After(time.Until(deadline)):
		tb.Fatal("ingest: the source was never asked past its last post")
	}
	stopRunner()
	if err := <-ran; err != nil {
		tb.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if os.Getenv("THROUGHPUT_VERBOSE") != "" {
		fmt.Printf("ingest n=%d: runner had every post acked after %s, detector counted all after %s\n", n, publishedIn.Round(time.Millisecond), took.Round(time.Millisecond))
	}
	if got := counter(tb, reg); got != n {
		tb.Fatalf("ingest: detector counted %d posts, want %d (each once)", got, n)
	}
	if e, err := cursors.Get(ctx, "bench"); err != nil || string(e.Value()) != strconv.Itoa(n) {
		tb.Fatalf("ingest: stored cursor %v (%v), want %d", e, err, n)
	}
	cancel()
	<-done
	return took, lats
}

// TestIngestCountsEveryPost is the CI-sized check that the measured path
// is complete: every post of a source whose pages overlap (so half of what
// is published is dropped as duplicates) reaches the detector exactly once,
// and the source's cursor ends at the last post.
func TestIngestCountsEveryPost(t *testing.T) {
	took, _ := ingestFeed(t, &feed{n: 3000, page: 200, overlap: 100})
	t.Logf("3000 posts through runner → enrich → detector in %s", took)
}

// TestIngestAtRate checks the paced path the latency figure uses.
func TestIngestAtRate(t *testing.T) {
	_, lats := ingest(t, 500, 5000)
	if len(lats) == 0 {
		t.Fatal("no publish-to-detector latency sampled")
	}
}

// figures collects what the benchmarks measured, printed together at the end.
var figures struct {
	bare, ingest, replay float64
	ratio, replayRatio   float64
	p50, p99             time.Duration
	bareCPU, ingestCPU   time.Duration
	mibPerService        float64
}

// BenchmarkIngestVsJetStream prints bare JetStream and the ingest path over
// the same count, their ratio, aftershock replay beside them, and the
// publish-to-detector latency at 10,000 posts/s. THROUGHPUT_N sets the
// count (20,000), THROUGHPUT_ROUNDS the rounds (3).
func BenchmarkIngestVsJetStream(b *testing.B) {
	n := 20000
	if s := os.Getenv("THROUGHPUT_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	rounds := 3
	if s := os.Getenv("THROUGHPUT_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	rounds = max(rounds, 1)
	for range b.N {
		// Rounds of bare, ingest and replay in turn, so a change in the
		// machine's load hits all three alike; each figure is the median
		// over the rounds, the ratios the median of each round's ratio.
		var bareR, ingR, repR, ingQ, repQ []float64
		var bareCPU, ingCPU time.Duration
		for r := range rounds {
			c0 := cpuTime()
			bareT := bare(b, n)
			c1 := cpuTime()
			ingT, _ := ingest(b, n, 0)
			c2 := cpuTime()
			repT := replayRun(b, n)
			bareCPU, ingCPU = bareCPU+c1-c0, ingCPU+c2-c1
			bareR, ingR, repR = append(bareR, float64(n)/bareT.Seconds()), append(ingR, float64(n)/ingT.Seconds()), append(repR, float64(n)/repT.Seconds())
			ingQ, repQ = append(ingQ, ingR[r]/bareR[r]), append(repQ, repR[r]/bareR[r])
			fmt.Printf("round %d: bare %.0f msg/s  ingest %.0f posts/s (%.2f)  replay %.0f posts/s (%.2f)\n", r+1, bareR[r], ingR[r], ingR[r]/bareR[r], repR[r], repR[r]/bareR[r])
		}
		bareRate, ingRate, repRate, ingRatio, repRatio := median(bareR), median(ingR), median(repR), median(ingQ), median(repQ)
		bareCPU, ingCPU = bareCPU/time.Duration(rounds*n), ingCPU/time.Duration(rounds*n)
		paced := min(n, 30000)
		pacedT, lats := ingest(b, paced, 10000)
		slices.Sort(lats)
		p50, p99 := pct(lats, 0.50), pct(lats, 0.99)
		fmt.Printf("n=%d  bare JetStream %.0f msg/s  ingest %.0f posts/s  ratio %.2f  aftershock replay %.0f posts/s (%.2f of bare)  latency at 10k/s p50 %s p99 %s (%d samples, %.0f posts/s reached)  GOMAXPROCS=%d\n",
			n, bareRate, ingRate, ingRatio, repRate, repRatio, p50, p99, len(lats), float64(paced)/pacedT.Seconds(), runtime.GOMAXPROCS(0))
		fmt.Printf("CPU per message (whole process, broker included): bare %s, ingest %s (%.2f×)\n", bareCPU, ingCPU, float64(ingCPU)/float64(max(bareCPU, 1)))
		figures.bare, figures.ingest, figures.replay, figures.p50, figures.p99 = bareRate, ingRate, repRate, p50, p99
		figures.ratio, figures.replayRatio = ingRatio, repRatio
		figures.bareCPU, figures.ingestCPU = bareCPU, ingCPU
		b.ReportMetric(bareRate, "bare-msg/s")
		b.ReportMetric(ingRate, "ingest-posts/s")
		b.ReportMetric(ingRatio, "ratio")
		b.ReportMetric(repRate, "replay-posts/s")
		b.ReportMetric(repRatio, "replay-ratio")
		b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
		b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	}
}

// TestMain prints every figure of the benchmarks on one line at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	if figures.bare > 0 || figures.mibPerService > 0 {
		load, _ := os.ReadFile("/proc/loadavg")
		fmt.Printf("figures: bare %.0f msg/s | ingest %.0f posts/s | ratio %.2f | replay %.0f posts/s | replay/bare %.2f | latency at 10k/s p50 %s p99 %s | CPU/msg bare %s ingest %s | %.3f MiB/service | load %s\n",
			figures.bare, figures.ingest, figures.ratio, figures.replay, figures.replayRatio,
			figures.p50, figures.p99, figures.bareCPU, figures.ingestCPU, figures.mibPerService, bytes.TrimSpace(load))
	}
	os.Exit(code)
}

// replayRun times `aftershock replay` (replay.Run: its own broker, load,
// read back, enrich, detect) over n posts of one NDJSON input.
func replayRun(tb testing.TB, n int) time.Duration {
	tb.Helper()
	var in bytes.Buffer
	t0 := time.Now().Add(-time.Duration(n) * 100 * time.Millisecond)
	enc := json.NewEncoder(&in)
	for i := range n {
		_ = enc.Encode(post(i, t0.Add(time.Duration(i)*100*time.Millisecond)))
	}
	start := time.Now()
	sum, err := replay.Run(context.Background(), &in, io.Discard, io.Discard, replay.Options{Log: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	if sum.Posts != n {
		tb.Fatalf("replay read %d posts of %d", sum.Posts, n)
	}
	return time.Since(start)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func pct(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// BenchmarkMemoryPerService folds a day of posts into 10,000 services and
// reports the detector's heap per service.
func BenchmarkMemoryPerService(b *testing.B) {
	const services = 10000
	an, err := enrich.New(enrich.Config{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := detector.Config{MaxServices: services}
	if err := cfg.Validate("detector"); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		det := detector.New(cfg, func(string) detector.Enricher { return an })
		t0 := time.Now().Add(-24 * time.Hour)
		for h := range 24 {
			for s := range services {
				p := post(s+h, t0.Add(time.Duration(h)*time.Hour+time.Duration(s)*time.Millisecond))
				p.Service = "svc-" + strconv.Itoa(s)
				det.Post(p)
			}
		}
		det.Advance(time.Now())
		runtime.GC()
		runtime.ReadMemStats(&after)
		mib := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		fmt.Printf("memory: %d services, %.0f MiB heap, %.3f MiB per service (%d services held)\n", services, mib, mib/services, len(det.ServiceNames()))
		b.ReportMetric(mib/services, "MiB/service")
		figures.mibPerService = mib / services
		runtime.KeepAlive(det)
	}
}

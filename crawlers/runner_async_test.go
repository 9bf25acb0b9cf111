package crawlers_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

func manyPosts(n int) []signals.Post {
	ps := make([]signals.Post, n)
	for i := range ps {
		ps[i] = post(strconv.Itoa(i+1), time.Minute)
	}
	return ps
}

func wantIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	return ids
}

// TestFailedAckKeepsCursor: the stream refuses posts part-way through a
// page (full, discard new); the acks of the refused posts fail, so the page's
// cursor is not stored and the page is polled again. The retry stores the
// rest; the first ones come back as duplicates. Nothing lost, nothing twice.
// The refusal comes while still publishing (40) or only among the last acks
// awaited before the cursor is stored (96 of 100, 8 in flight).
func TestFailedAckKeepsCursor(t *testing.T) {
	const n = 100
	for _, stored := range []int{40, 96} {
		t.Run(strconv.Itoa(stored), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			full := jetstream.StreamConfig{Name: bus.StreamPosts, Subjects: []string{"posts.>"}, Duplicates: time.Hour, Storage: jetstream.FileStorage, MaxMsgs: int64(stored), Discard: jetstream.DiscardNew}
			if _, err := e.bus.JS.UpdateStream(ctx, full); err != nil {
				t.Fatal(err)
			}
			page := crawlers.Page{Posts: manyPosts(n), Cursor: "c1"}
			s := &script{steps: []step{
				{page: page},
				{page: page, before: func() {
					if c, ok := e.cursor(t); ok {
						t.Errorf("cursor %q stored although acks failed", c)
					}
					if got := crawlertest.Stored(t, e.bus.JS, bus.StreamPosts); got != stored {
						t.Errorf("stream holds %d posts after the refused page, want %d", got, stored)
					}
					open := full
					open.MaxMsgs = -1
					if _, err := e.bus.JS.UpdateStream(ctx, open); err != nil {
						t.Error(err)
					}
				}},
			}}
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			s.done = cancel
			r := crawlers.NewRunner(e.bus.JS, e.kv, nil, e.metrics, crawlers.WithClock(func() time.Time { return now }),
				crawlers.WithSleep(e.waits.sleep), crawlers.WithInFlight(8))
			if err := r.Run(ctx, &crawlers.Instance{Spec: spec("src"), Poller: s}); err != nil {
				t.Fatal(err)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatal("run did not finish its script within 20s")
			}

			if got := s.seen(); !slices.Equal(got, []string{"", "", "c1"}) {
				t.Errorf("cursors given to the poller %q, want the page fetched again", got)
			}
			if c, _ := e.cursor(t); c != "c1" {
				t.Errorf("stored cursor %q, want c1", c)
			}
			if got := crawlertest.IDs(crawlertest.CollectPosts(t, e.bus.JS, n, 5*time.Second)); !slices.Equal(got, wantIDs(n)) {
				t.Errorf("stream holds ids %v, want 1..%d once each in order", got, n)
			}
			if got := crawlertest.Stored(t, e.bus.JS, bus.StreamPosts); got != n {
				t.Errorf("stream holds %d posts, want %d", got, n)
			}
			for _, c := range []struct {
				result string
				want   float64
			}{{crawlers.ResultPublished, n}, {crawlers.ResultDuplicate, float64(stored)}} {
				if got := value(t, e.metrics.Posts.WithLabelValues("src", c.result, "")); got != c.want {
					t.Errorf("posts %s = %v, want %v", c.result, got, c.want)
				}
			}
			if got := value(t, e.metrics.Errors.WithLabelValues("src", crawlers.ErrKindPublish)); got != 1 {
				t.Errorf("publish errors %v, want 1", got)
			}
		})
	}
}

// restartable is a nats-server on a fixed loopback port that can be
// stopped and started again on the same store.
type restartable struct {
	t    *testing.T
	opts server.Options
	mu   sync.Mutex
	srv  *server.Server
}

func startRestartable(t *testing.T) *restartable {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &restartable{t: t, opts: server.Options{ServerName: "restart", Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start() {
	opts := r.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		r.t.Error(err)
		return
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		r.t.Error("nats-server not ready after 10s")
	}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

func (r *restartable) stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

func (r *restartable) url() string {
	return "nats://" + net.JoinHostPort(r.opts.Host, strconv.Itoa(r.opts.Port))
}

// onePage answers one big page for the empty cursor (as often as asked)
// and ends the run when asked past it.
type onePage struct {
	mu      sync.Mutex
	page    crawlers.Page
	cursors []string
	done    func()
}

func (o *onePage) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	o.mu.Lock()
	o.cursors = append(o.cursors, cursor)
	o.mu.Unlock()
	if cursor == "" {
		return o.page, nil
	}
	o.done()
	<-ctx.Done()
	return crawlers.Page{}, ctx.Err()
}

// TestBrokerRestartMidPoll: the broker stops and starts again while a big
// page is being published. The acks in flight fail, the page is polled and
// published again; in the end the stream holds every post exactly once and
// the cursor is stored.
func TestBrokerRestartMidPoll(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a nats-server; skipped with -short")
	}
	ns := startRestartable(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{URL: ns.url(), Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	kv := crawlertest.Cursors(t, b)

	// Restart the broker as soon as the first post of the page arrives.
	watch, err := nats.Connect(ns.url(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	var once sync.Once
	restarted := make(chan struct{})
	if _, err := watch.Subscribe("posts.>", func(*nats.Msg) {
		once.Do(func() {
			go func() {
				defer close(restarted)
				ns.stop()
				ns.start()
			}()
		})
	}); err != nil {
		t.Fatal(err)
	}
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}

	const n = 20000
	p := &onePage{page: crawlers.Page{Posts: manyPosts(n), Cursor: "c1"}, done: cancel}
	metrics := crawlers.NewMetrics(prometheus.NewRegistry())
	w := &waits{}
	r := crawlers.NewRunner(b.JS, kv, nil, metrics, crawlers.WithClock(func() time.Time { return now }), crawlers.WithSleep(w.sleep))
	if err := r.Run(ctx, &crawlers.Instance{Spec: spec("src"), Poller: p}); err != nil {
		t.Fatal(err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("run did not end within 60s; cursors polled %q", p.cursors)
	}
	<-restarted

	p.mu.Lock()
	polls := slices.Clone(p.cursors)
	p.mu.Unlock()
	if len(polls) < 3 || polls[0] != "" || polls[1] != "" || polls[len(polls)-1] != "c1" {
		t.Errorf("cursors polled %q, want the page polled again after the restart, then c1", polls)
	}
	if got := value(t, metrics.Errors.WithLabelValues("src", crawlers.ErrKindPublish)); got < 1 {
		t.Errorf("publish errors %v, want at least 1 (the restart was not mid-poll)", got)
	}
	e, err := kv.Get(context.Background(), "src")
	if err != nil || string(e.Value()) != "c1" {
		t.Errorf("stored cursor: %v %v, want c1", e, err)
	}
	if got := crawlertest.Stored(t, b.JS, bus.StreamPosts); got != n {
		t.Errorf("stream holds %d posts, want %d", got, n)
	}
	// Order is not kept across a restart: what sat in the client's
	// reconnect buffer lands before the retry fills the gap.
	got, want := crawlertest.IDs(crawlertest.CollectPosts(t, b.JS, n, 20*time.Second)), wantIDs(n)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("stream does not hold ids 1..%d once each (%d ids)", n, len(got))
	}
	pub := value(t, metrics.Posts.WithLabelValues("src", crawlers.ResultPublished, ""))
	dup := value(t, metrics.Posts.WithLabelValues("src", crawlers.ResultDuplicate, ""))
	if pub > n || pub+dup < n {
		t.Errorf("counted %v published and %v duplicates, want at most %d published and at least %d in all", pub, dup, n, n)
	}
	t.Logf("polls %d, published %v, duplicates %v", len(polls), pub, dup)
}

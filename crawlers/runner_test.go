package crawlers_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// waits records the runner's waits and returns at once (after a token
// pause, so a runaway loop cannot spin hot).
type waits struct {
	mu sync.Mutex
	ds []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.ds = append(w.ds, d)
	w.mu.Unlock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Millisecond):
		return nil
	}
}

func (w *waits) list() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ds)
}

// step is one scripted answer of a poller.
type step struct {
	page   crawlers.Page
	err    error
	before func() // runs when the step is reached, before it answers
}

// script is a Poller answering steps in order; when they run out it calls
// done (which cancels the run).
type script struct {
	mu      sync.Mutex
	steps   []step
	cursors []string
	done    func()
}

func (s *script) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	s.mu.Lock()
	s.cursors = append(s.cursors, cursor)
	i := len(s.cursors) - 1
	s.mu.Unlock()
	if i >= len(s.steps) {
		s.done()
		<-ctx.Done()
		return crawlers.Page{}, ctx.Err()
	}
	st := s.steps[i]
	if st.before != nil {
		st.before()
	}
	return st.page, st.err
}

func (s *script) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cursors)
}

type env struct {
	bus     *bus.Bus
	kv      jetstream.KeyValue
	metrics *crawlers.Metrics
	waits   *waits
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := crawlertest.StartBus(t)
	return &env{bus: b, kv: crawlertest.Cursors(t, b), metrics: crawlers.NewMetrics(prometheus.NewRegistry()), waits: &waits{}}
}

func (e *env) runner(kv jetstream.KeyValue) *crawlers.Runner {
	if kv == nil {
		kv = e.kv
	}
	return crawlers.NewRunner(e.bus.JS, kv, nil, e.metrics,
		crawlers.WithClock(func() time.Time { return now }),
		crawlers.WithSleep(e.waits.sleep),
		crawlers.WithJitter(func(d time.Duration) time.Duration { return d }))
}

// run runs a poller as instance "src" until its script ends (or 20 s pass).
func (e *env) run(t *testing.T, kv jetstream.KeyValue, p crawlers.Poller, setDone func(func())) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	setDone(cancel)
	inst := &crawlers.Instance{Spec: spec("src"), Poller: p}
	if err := e.runner(kv).Run(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("run did not finish its script within 20s")
	}
}

func spec(name string) crawlers.Spec {
	s := crawlers.Spec{Name: name, Type: "fake", Service: "shop", Interval: time.Minute}
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return s
}

func post(id string, age time.Duration) signals.Post {
	return signals.Post{ID: id, Time: now.Add(-age), Text: "post " + id}
}

func (e *env) cursor(t *testing.T) (string, bool) {
	t.Helper()
	entry, err := e.kv.Get(context.Background(), "src")
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(entry.Value()), true
}

func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	t.Fatalf("metric %v is neither a counter nor a gauge", m.Desc())
	return 0
}

func TestPublishAndDuplicates(t *testing.T) {
	e := newEnv(t)
	page := crawlers.Page{Posts: []signals.Post{post("1", 3*time.Minute), post("2", 2*time.Minute), post("3", 30*time.Second)}, Cursor: "c1"}
	s := &script{steps: []step{{page: page}, {page: page}}}
	e.run(t, nil, s, func(done func()) { s.done = done })

	posts := crawlertest.CollectPosts(t, e.bus.JS, 3, 5*time.Second)
	for i, p := range posts {
		if p.Source != "src" || p.Service != "shop" || p.ID != strconv.Itoa(i+1) || !p.Fetched.Equal(now) {
			t.Errorf("post %d: %+v, want source src, service shop, id %d, fetched now", i, p, i+1)
		}
	}
	if n := crawlertest.Stored(t, e.bus.JS, bus.StreamPosts); n != 3 {
		t.Errorf("stream holds %d posts, want 3 (the repeat dropped as duplicates)", n)
	}
	if c, _ := e.cursor(t); c != "c1" {
		t.Errorf("stored cursor %q, want c1", c)
	}
	if got := s.seen(); !slices.Equal(got, []string{"", "c1", "c1"}) {
		t.Errorf("cursors given to the poller %q", got)
	}
	if got := e.waits.list(); !slices.Equal(got, []time.Duration{time.Minute, time.Minute}) {
		t.Errorf("waits %v, want the interval twice", got)
	}
	m := e.metrics
	for _, c := range []struct {
		metric prometheus.Metric
		want   float64
	}{
		{m.Posts.WithLabelValues("src", crawlers.ResultPublished, ""), 3},
		{m.Posts.WithLabelValues("src", crawlers.ResultDuplicate, ""), 3},
		{m.Lag.WithLabelValues("src"), 30},
		{m.LastSuccess.WithLabelValues("src"), float64(now.Unix())},
	} {
		if got := value(t, c.metric); got != c.want {
			t.Errorf("%s = %v, want %v", c.metric.Desc(), got, c.want)
		}
	}
}

// TestCursorOnlyAfterPublish: while publishing fails the cursor is not
// stored, and the same page is fetched again.
func TestCursorOnlyAfterPublish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.bus.JS.DeleteStream(ctx, bus.StreamPosts); err != nil {
		t.Fatal(err)
	}
	page := crawlers.Page{Posts: []signals.Post{post("1", time.Minute), post("2", time.Minute)}, Cursor: "c1"}
	s := &script{steps: []step{
		{page: page},
		{page: page, before: func() {
			if c, ok := e.cursor(t); ok {
				t.Errorf("cursor %q stored although publishing failed", c)
			}
			if _, err := e.bus.JS.CreateStream(ctx, jetstream.StreamConfig{Name: bus.StreamPosts, Subjects: []string{"posts.>"}, Duplicates: time.Hour}); err != nil {
				t.Error(err)
			}
		}},
	}}
	e.run(t, nil, s, func(done func()) { s.done = done })

	if got := s.seen(); !slices.Equal(got, []string{"", "", "c1"}) {
		t.Errorf("cursors given to the poller %q, want the page fetched again", got)
	}
	if c, _ := e.cursor(t); c != "c1" {
		t.Errorf("stored cursor %q, want c1", c)
	}
	crawlertest.CollectPosts(t, e.bus.JS, 2, 5*time.Second)
	if got := value(t, e.metrics.Errors.WithLabelValues("src", crawlers.ErrKindPublish)); got != 1 {
		t.Errorf("publish errors %v, want 1", got)
	}
	if got := e.waits.list(); len(got) < 1 || got[0] != crawlers.BackoffBase {
		t.Errorf("waits %v, want a backoff of %s first", got, crawlers.BackoffBase)
	}
}

// upstream is a fake API holding an append-only list of posts; the cursor
// is how many were read. It answers two per page.
type upstream struct {
	mu      sync.Mutex
	posts   []signals.Post
	cursors []string
	stopAt  string // calls done when polled with this cursor
	done    func()
}

func (u *upstream) add(ids ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, id := range ids {
		u.posts = append(u.posts, post(id, time.Minute))
	}
}

func (u *upstream) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cursors = append(u.cursors, cursor)
	if cursor == u.stopAt {
		u.done()
		return crawlers.Page{}, ctx.Err()
	}
	from := 0
	if cursor != "" {
		from, _ = strconv.Atoi(cursor)
	}
	to := min(from+2, len(u.posts))
	return crawlers.Page{Posts: slices.Clone(u.posts[from:to]), Cursor: strconv.Itoa(to), More: to < len(u.posts)}, nil
}

// failingKV fails the first n cursor writes.
type failingKV struct {
	jetstream.KeyValue
	mu sync.Mutex
	n  int
}

func (f *failingKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		return 0, errors.New("kv unavailable")
	}
	return f.KeyValue.Put(ctx, key, value)
}

// TestRestartResumes: a new runner on the same cursors bucket continues
// where the last one stopped: nothing missed, nothing repeated.
func TestRestartResumes(t *testing.T) {
	e := newEnv(t)
	up := &upstream{stopAt: "3"}
	up.add("1", "2", "3")
	e.run(t, nil, up, func(done func()) { up.done = done })

	up.add("4", "5")
	up.cursors, up.stopAt = nil, "5"
	e.run(t, nil, up, func(done func()) { up.done = done })
	if len(up.cursors) == 0 || up.cursors[0] != "3" {
		t.Errorf("restarted runner polled from %q, want the stored cursor 3", up.cursors)
	}

	posts := crawlertest.CollectPosts(t, e.bus.JS, 5, 5*time.Second)
	if got := crawlertest.IDs(posts); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("published %q", got)
	}
	if n := crawlertest.Stored(t, e.bus.JS, bus.StreamPosts); n != 5 {
		t.Errorf("stream holds %d posts, want 5", n)
	}
	if got := value(t, e.metrics.Posts.WithLabelValues("src", crawlers.ResultDuplicate, "")); got != 0 {
		t.Errorf("%v duplicates, want none", got)
	}
}

// TestCursorStoreFails: when the cursor cannot be stored the page is
// fetched again and its repeats are dropped as duplicates.
func TestCursorStoreFails(t *testing.T) {
	e := newEnv(t)
	up := &upstream{stopAt: "2"}
	up.add("1", "2")
	e.run(t, &failingKV{KeyValue: e.kv, n: 1}, up, func(done func()) { up.done = done })
	if !slices.Equal(up.cursors, []string{"", "", "2"}) {
		t.Errorf("cursors given to the poller %q", up.cursors)
	}
	if n := crawlertest.Stored(t, e.bus.JS, bus.StreamPosts); n != 2 {
		t.Errorf("stream holds %d posts, want 2", n)
	}
	if got := value(t, e.metrics.Posts.WithLabelValues("src", crawlers.ResultDuplicate, "")); got != 2 {
		t.Errorf("%v duplicates, want 2", got)
	}
	if got := value(t, e.metrics.Errors.WithLabelValues("src", crawlers.ErrKindCursor)); got != 1 {
		t.Errorf("%v cursor errors, want 1", got)
	}
}

func TestBackoff(t *testing.T) {
	e := newEnv(t)
	boom := errors.New("connection refused")
	s := &script{steps: []step{
		{err: boom}, {err: boom}, {err: boom}, {err: boom},
		{page: crawlers.Page{Cursor: "ok"}},
		{err: boom},
		{err: &crawlers.PermanentError{Err: errors.New("401 Unauthorized")}},
		{err: &crawlers.RateLimitError{RetryAfter: 42 * time.Second, Err: errors.New("429")}},
		{err: &crawlers.RateLimitError{Err: errors.New("429 without Retry-After")}},
		{err: fmt.Errorf("fetching: %w", context.DeadlineExceeded)},
	}}
	e.run(t, nil, s, func(done func()) { s.done = done })

	want := []time.Duration{
		time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, // backoff
		time.Minute,                      // success: the interval
		time.Second,                      // backoff reset by the success
		10 * time.Minute,                 // permanent: 10 intervals
		42 * time.Second,                 // Retry-After
		2 * time.Second, 4 * time.Second, // no Retry-After, then a timeout: backoff continues
	}
	if got := e.waits.list(); !slices.Equal(got, want) {
		t.Errorf("waits\n%v\nwant\n%v", got, want)
	}
	for kind, n := range map[string]float64{crawlers.ErrKindOther: 5, crawlers.ErrKindPermanent: 1, crawlers.ErrKindRateLimit: 2, crawlers.ErrKindTimeout: 1} {
		if got := value(t, e.metrics.Errors.WithLabelValues("src", kind)); got != n {
			t.Errorf("%s errors %v, want %v", kind, got, n)
		}
	}
}

func TestBackoffSchedule(t *testing.T) {
	for attempt, want := range map[int]time.Duration{0: time.Second, 1: 2 * time.Second, 8: 256 * time.Second, 9: 5 * time.Minute, 1000: 5 * time.Minute} {
		if got := crawlers.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", attempt, got, want)
		}
	}
}

func TestMoreAndRateLimitState(t *testing.T) {
	e := newEnv(t)
	s := &script{steps: []step{
		{page: crawlers.Page{Posts: []signals.Post{post("1", time.Minute)}, Cursor: "a", More: true}},
		{page: crawlers.Page{Posts: []signals.Post{post("2", time.Minute)}, Cursor: "b", More: true}},
		{page: crawlers.Page{Cursor: "b", More: true}}, // no progress: must not spin
		{page: crawlers.Page{Cursor: "c", RateLimit: &crawlers.RateLimit{Limit: 100, Remaining: 0, Reset: now.Add(90 * time.Second)}}},
	}}
	e.run(t, nil, s, func(done func()) { s.done = done })
	want := []time.Duration{time.Minute, 90 * time.Second}
	if got := e.waits.list(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v (none while More)", got, want)
	}
	if got := value(t, e.metrics.RateLimitRemaining.WithLabelValues("src")); got != 0 {
		t.Errorf("rate-limit remaining %v, want 0", got)
	}
}

func TestInvalidItemsSkipped(t *testing.T) {
	e := newEnv(t)
	bad := post("", time.Minute)
	badText := post("9", time.Minute)
	badText.Text = "broken \xff"
	ancient := post("10", time.Minute)
	ancient.Time = time.Date(0, 11, 1, 0, 0, 0, 0, time.UTC)
	ahead := post("11", -48*time.Hour)
	s := &script{steps: []step{{page: crawlers.Page{
		Posts:   []signals.Post{post("1", time.Minute), bad, badText, ancient, ahead, post("2", time.Minute)},
		Metrics: []signals.MetricSample{{Time: now, Name: "error_rate", Value: 0.5}, {Time: now}},
		Skipped: crawlers.Skips{crawlers.SkipNoTime: 1},
		Cursor:  "c",
	}}}}
	e.run(t, nil, s, func(done func()) { s.done = done })
	if got := crawlertest.IDs(crawlertest.CollectPosts(t, e.bus.JS, 2, 5*time.Second)); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("published %q", got)
	}
	samples := crawlertest.CollectMetrics(t, e.bus.JS, 1, 5*time.Second)
	if samples[0].Service != "shop" || samples[0].Name != "error_rate" {
		t.Errorf("sample %+v, want the spec's service filled in", samples[0])
	}
	if got := value(t, e.metrics.Posts.WithLabelValues("src", crawlers.ResultSkipped, crawlers.SkipNoTime)); got != 1 {
		t.Errorf("skipped for no_time %v, want the page's 1", got)
	}
	if got := value(t, e.metrics.Posts.WithLabelValues("src", crawlers.ResultSkipped, crawlers.SkipInvalid)); got != 2 {
		t.Errorf("skipped as invalid %v, want 2", got)
	}
	if got := value(t, e.metrics.Posts.WithLabelValues("src", crawlers.ResultSkipped, crawlers.SkipBadTime)); got != 2 {
		t.Errorf("skipped for bad_time %v, want 2 (year 0, two days ahead)", got)
	}
	if got := value(t, e.metrics.Samples.WithLabelValues("src", crawlers.ResultSkipped, crawlers.SkipInvalid)); got != 1 {
		t.Errorf("skipped samples %v, want 1", got)
	}
	if c, _ := e.cursor(t); c != "c" {
		t.Errorf("cursor %q, want c: bad items must not hold the cursor back", c)
	}
}

// streamer emits scripted pages per connection and then breaks.
type streamer struct {
	mu      sync.Mutex
	conns   [][]crawlers.Page
	cursors []string
	done    func()
}

func (s *streamer) Stream(ctx context.Context, cursor string, emit func(crawlers.Page) error) error {
	s.mu.Lock()
	s.cursors = append(s.cursors, cursor)
	i := len(s.cursors) - 1
	s.mu.Unlock()
	if i >= len(s.conns) {
		s.done()
		<-ctx.Done()
		return ctx.Err()
	}
	for _, p := range s.conns[i] {
		if err := emit(p); err != nil {
			return err
		}
	}
	return errors.New("connection reset by peer")
}

func TestStreamer(t *testing.T) {
	e := newEnv(t)
	s := &streamer{conns: [][]crawlers.Page{
		{{Posts: []signals.Post{post("1", time.Minute), post("2", time.Minute)}, Cursor: "s2"}, {Posts: []signals.Post{post("3", time.Minute)}, Cursor: "s3"}},
		{{Posts: []signals.Post{post("3", time.Minute), post("4", time.Minute)}, Cursor: "s4"}},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s.done = cancel
	if err := e.runner(nil).Run(ctx, &crawlers.Instance{Spec: spec("src"), Streamer: s}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.cursors, []string{"", "s3", "s4"}) {
		t.Errorf("stream cursors %q", s.cursors)
	}
	if got := crawlertest.IDs(crawlertest.CollectPosts(t, e.bus.JS, 4, 5*time.Second)); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
		t.Errorf("published %q", got)
	}
	if n := crawlertest.Stored(t, e.bus.JS, bus.StreamPosts); n != 4 {
		t.Errorf("stream holds %d, want 4", n)
	}
	// Each reconnect follows a stream that delivered, so the backoff restarts.
	if got := e.waits.list(); !slices.Equal(got, []time.Duration{time.Second, time.Second}) {
		t.Errorf("waits %v", got)
	}
	if c, _ := e.cursor(t); c != "s4" {
		t.Errorf("cursor %q, want s4", c)
	}
}

func TestRunAll(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { wg.Wait(); cancel() }()
	var insts []*crawlers.Instance
	for _, name := range []string{"a", "b"} {
		s := &script{steps: []step{{page: crawlers.Page{Posts: []signals.Post{post(name+"1", time.Minute)}, Cursor: "x"}}}}
		var once sync.Once
		s.done = func() { once.Do(wg.Done) }
		insts = append(insts, &crawlers.Instance{Spec: spec(name), Poller: s})
	}
	if err := e.runner(nil).RunAll(ctx, insts); err != nil {
		t.Fatal(err)
	}
	posts := crawlertest.CollectPosts(t, e.bus.JS, 2, 5*time.Second)
	got := crawlertest.IDs(posts)
	slices.Sort(got)
	if !slices.Equal(got, []string{"a1", "b1"}) {
		t.Errorf("published %q", got)
	}
}

func TestCheckOnce(t *testing.T) {
	e := newEnv(t)
	s := &script{steps: []step{{page: crawlers.Page{Posts: []signals.Post{post("1", time.Minute)}, Cursor: "c"}}}}
	page, err := crawlers.CheckOnce(context.Background(), &crawlers.Instance{Spec: spec("src"), Poller: s})
	if err != nil || len(page.Posts) != 1 {
		t.Errorf("CheckOnce: %d posts, err %v", len(page.Posts), err)
	}
	st := &streamer{conns: [][]crawlers.Page{{{Posts: []signals.Post{post("1", 0)}}, {Posts: []signals.Post{post("2", 0)}}}}}
	page, err = crawlers.CheckOnce(context.Background(), &crawlers.Instance{Spec: spec("src"), Streamer: st})
	if err != nil || len(page.Posts) != 1 || page.Posts[0].ID != "1" {
		t.Errorf("CheckOnce of a streamer: %+v, err %v; want the first page", page, err)
	}
	if n := crawlertest.Stored(t, e.bus.JS, bus.StreamPosts); n != 0 {
		t.Errorf("CheckOnce published %d posts", n)
	}
	if _, ok := e.cursor(t); ok {
		t.Error("CheckOnce stored a cursor")
	}
}

// hanging ignores every timeout of its own: the runner's poll deadline
// still ends the poll.
type hanging struct {
	calls int
	done  func()
}

func (h *hanging) Poll(ctx context.Context, _ string) (crawlers.Page, error) {
	h.calls++
	if h.calls > 1 {
		h.done()
	}
	<-ctx.Done()
	return crawlers.Page{}, ctx.Err()
}

func TestPollDeadline(t *testing.T) {
	e := newEnv(t)
	h := &hanging{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h.done = cancel
	sp := spec("src")
	sp.Timeout = 10 * time.Millisecond
	start := time.Now()
	if err := e.runner(nil).Run(ctx, &crawlers.Instance{Spec: sp, Poller: h}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	if got := value(t, e.metrics.Errors.WithLabelValues("src", crawlers.ErrKindTimeout)); got != 1 {
		t.Errorf("%v timeouts, want 1", got)
	}
	if got := e.waits.list(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Errorf("waits %v, want one backoff", got)
	}
}

// TestNormalizedOnPublish: whatever the source wrote, the runner publishes
// the language as its primary subtag and the URL without tracking
// parameters, and CheckOnce shows the same.
func TestNormalizedOnPublish(t *testing.T) {
	e := newEnv(t)
	p := post("1", time.Minute)
	p.Lang = "en-US"
	p.URL = "https://www.reddit.com/r/shop/comments/abc/x/?utm_source=share&ref=search_posts"
	s := &script{steps: []step{{page: crawlers.Page{Posts: []signals.Post{p}, Cursor: "c"}}}}
	e.run(t, nil, s, func(done func()) { s.done = done })
	got := crawlertest.CollectPosts(t, e.bus.JS, 1, 5*time.Second)[0]
	if got.Lang != "en" || got.URL != "https://www.reddit.com/r/shop/comments/abc/x/" {
		t.Errorf("published lang %q, url %q; want en and the URL without tracking parameters", got.Lang, got.URL)
	}
	page, err := crawlers.CheckOnce(context.Background(), &crawlers.Instance{Spec: spec("src"), Poller: &script{steps: []step{{page: crawlers.Page{Posts: []signals.Post{p}}}}}})
	if err != nil || len(page.Posts) != 1 || page.Posts[0].Lang != "en" {
		t.Errorf("CheckOnce: %+v, %v; want the normalised post", page.Posts, err)
	}
}

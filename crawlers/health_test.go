package crawlers_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/logbuf"
	"github.com/aftershock/aftershock/signals"
)

// healthRun runs the steps as source "src" and returns the health after
// each step, the log and the metrics. advance moves the clock before
// step i answers.
func healthRun(t *testing.T, steps []step, advance func(i int) time.Duration) ([]crawlers.Health, string, *crawlers.Metrics) {
	t.Helper()
	b := crawlertest.StartBus(t)
	clock := crawlertest.NewClock(now)
	metrics := crawlers.NewMetrics(prometheus.NewRegistry())
	var logs logbuf.Buffer
	w := &waits{}
	r := crawlers.NewRunner(b.JS, crawlertest.Cursors(t, b), slog.New(slog.NewTextHandler(&logs, nil)), metrics,
		crawlers.WithClock(clock.Now), crawlers.WithSleep(w.sleep),
		crawlers.WithJitter(func(d time.Duration) time.Duration { return d }))
	var got []crawlers.Health
	record := func() {
		hs := r.Health()
		if len(hs) != 1 {
			t.Errorf("health of %d sources, want 1", len(hs))
			return
		}
		got = append(got, hs[0])
	}
	s := &script{}
	for i, st := range steps {
		first := i == 0
		st.before = func() {
			if !first {
				record()
			}
			if advance != nil {
				clock.Add(advance(i))
			}
		}
		s.steps = append(s.steps, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s.done = func() { record(); cancel() }
	sp := spec("src")
	if err := r.Run(ctx, &crawlers.Instance{Spec: sp, Poller: s}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(steps) {
		t.Fatalf("recorded %d health states, want %d", len(got), len(steps))
	}
	return got, logs.String(), metrics
}

func posts(n int) []signals.Post {
	ps := make([]signals.Post, n)
	for i := range ps {
		ps[i] = post("h"+strconv.Itoa(i), time.Minute)
	}
	return ps
}

func states(hs []crawlers.Health) []crawlers.State {
	out := make([]crawlers.State, len(hs))
	for i, h := range hs {
		out[i] = h.State
	}
	return out
}

func TestHealthAllSkippedIsDegradedAndLoud(t *testing.T) {
	all := crawlers.Page{Skipped: crawlers.Skips{crawlers.SkipNoTime: 50}, Cursor: "c1"}
	hs, logs, m := healthRun(t, []step{
		{page: crawlers.Page{Posts: posts(3), Cursor: "c0"}},
		{page: all},
		{page: crawlers.Page{Cursor: "c1"}}, // nothing new proves nothing
		{page: crawlers.Page{Posts: posts(2), Cursor: "c2"}},
	}, nil)
	want := []crawlers.State{crawlers.StateOK, crawlers.StateDegraded, crawlers.StateDegraded, crawlers.StateOK}
	if got := states(hs); !equalStates(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if r := hs[1].Reason; !strings.Contains(r, "all 50 items") || !strings.Contains(r, "no_time 50") {
		t.Errorf("reason %q, want the count and the reasons", r)
	}
	if hs[1].Skips[crawlers.SkipNoTime] != 50 {
		t.Errorf("skips %v, want no_time 50", hs[1].Skips)
	}
	if !strings.Contains(logs, "source items skipped") || !strings.Contains(logs, "reasons=\"no_time 50\"") {
		t.Errorf("no loud log line with the reasons:\n%s", logs)
	}
	if !strings.Contains(logs, "source health changed") || !strings.Contains(logs, "state=degraded") {
		t.Errorf("state change not logged:\n%s", logs)
	}
	if got := value(t, m.Posts.WithLabelValues("src", crawlers.ResultSkipped, crawlers.SkipNoTime)); got != 50 {
		t.Errorf("posts_total{result=skipped,reason=no_time} %v, want 50", got)
	}
	if got := value(t, m.Health.WithLabelValues("src", string(crawlers.StateOK))); got != 1 {
		t.Errorf("health{state=ok} %v after recovery, want 1", got)
	}
}

func TestHealthSkipShareJump(t *testing.T) {
	usual := func(c string) step {
		return step{page: crawlers.Page{Posts: posts(9), Skipped: crawlers.Skips{crawlers.SkipNoText: 1}, Cursor: c}}
	}
	jump := step{page: crawlers.Page{Posts: posts(6), Skipped: crawlers.Skips{crawlers.SkipMalformed: 4}, Cursor: "j"}}
	hs, _, _ := healthRun(t, []step{usual("a"), usual("b"), usual("c"), jump, jump, usual("d")}, nil)
	want := []crawlers.State{crawlers.StateOK, crawlers.StateOK, crawlers.StateOK, crawlers.StateDegraded, crawlers.StateDegraded, crawlers.StateOK}
	if got := states(hs); !equalStates(got, want) {
		t.Fatalf("states %v, want %v (a lasting jump stays a problem)", got, want)
	}
	if r := hs[3].Reason; !strings.Contains(r, "jumped from 10% to 40%") {
		t.Errorf("reason %q", r)
	}
}

func TestHealthFailures(t *testing.T) {
	boom := errors.New("connection refused")
	hs, _, _ := healthRun(t, []step{
		{page: crawlers.Page{Posts: posts(1), Cursor: "a"}},
		{err: boom}, {err: boom}, {err: boom},
		{page: crawlers.Page{Posts: posts(1), Cursor: "b"}},
		{err: &crawlers.PermanentError{Err: errors.New("401 Unauthorized")}},
		{err: &crawlers.RateLimitError{RetryAfter: time.Second, Err: errors.New("429")}},
	}, nil)
	want := []crawlers.State{crawlers.StateOK, crawlers.StateDegraded, crawlers.StateDegraded, crawlers.StateFailing,
		crawlers.StateOK, crawlers.StateFailing, crawlers.StateDegraded}
	if got := states(hs); !equalStates(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if hs[3].Failures != 3 || !strings.Contains(hs[3].Reason, "connection refused") {
		t.Errorf("failing health %+v", hs[3])
	}
}

func TestHealthSilent(t *testing.T) {
	// Interval 1m: silent after max(1h, 10m) of reading nothing.
	hs, _, _ := healthRun(t, []step{
		{page: crawlers.Page{Cursor: "a"}},
		{page: crawlers.Page{Cursor: "a"}},
		{page: crawlers.Page{Posts: posts(1), Cursor: "b"}},
		{page: crawlers.Page{Cursor: "b"}},
	}, func(i int) time.Duration {
		return []time.Duration{time.Minute, time.Hour, time.Minute, 61 * time.Minute}[i]
	})
	want := []crawlers.State{crawlers.StateOK, crawlers.StateSilent, crawlers.StateOK, crawlers.StateSilent}
	if got := states(hs); !equalStates(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if !strings.Contains(hs[1].Reason, "nothing read since the start") || !strings.Contains(hs[3].Reason, "nothing read for 1h1m0s") {
		t.Errorf("reasons %q, %q", hs[1].Reason, hs[3].Reason)
	}
}

func TestAssess(t *testing.T) {
	for _, tt := range []struct {
		name string
		page crawlers.Page
		err  error
		want crawlers.State
	}{
		{"posts", crawlers.Page{Posts: posts(2), Skipped: crawlers.Skips{crawlers.SkipNoText: 1}}, nil, crawlers.StateOK},
		{"samples", crawlers.Page{Metrics: []signals.MetricSample{{Name: "x"}}}, nil, crawlers.StateOK},
		{"all skipped", crawlers.Page{Skipped: crawlers.Skips{crawlers.SkipNoTime: 50}}, nil, crawlers.StateDegraded},
		{"mostly skipped", crawlers.Page{Posts: posts(1), Skipped: crawlers.Skips{crawlers.SkipNoTime: 2}}, nil, crawlers.StateDegraded},
		{"nothing", crawlers.Page{}, nil, crawlers.StateSilent},
		{"error", crawlers.Page{}, errors.New("boom"), crawlers.StateFailing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, reason := crawlers.Assess(tt.page, tt.err); got != tt.want {
				t.Errorf("Assess = %s (%s), want %s", got, reason, tt.want)
			}
		})
	}
}

func TestWorst(t *testing.T) {
	hs := []crawlers.Health{{State: crawlers.StateOK}, {State: crawlers.StateSilent}, {State: crawlers.StateDegraded}}
	if got := crawlers.Worst(hs); got != crawlers.StateDegraded {
		t.Errorf("Worst = %s, want degraded", got)
	}
	if got := crawlers.Worst(nil); got != crawlers.StateOK {
		t.Errorf("Worst(nil) = %s, want ok", got)
	}
}

func equalStates(a, b []crawlers.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestForService(t *testing.T) {
	hs := []crawlers.Health{
		{Source: "a", Service: "shop", State: crawlers.StateOK},
		{Source: "b", Service: "pay", State: crawlers.StateFailing},
		{Source: "c", Service: "shop", State: crawlers.StateSilent},
	}
	got := crawlers.ForService(hs, "shop")
	if len(got) != 2 || got[0].Source != "a" || got[1].Source != "c" {
		t.Fatalf("ForService = %+v", got)
	}
	if crawlers.Worst(got) != crawlers.StateSilent || got[1].State.Reading() || !got[0].State.Reading() {
		t.Errorf("worst %s; reading %v %v", crawlers.Worst(got), got[0].State.Reading(), got[1].State.Reading())
	}
}

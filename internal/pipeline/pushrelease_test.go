package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/aftershock/aftershock/crawlers/natsmetrics"
	"github.com/aftershock/aftershock/crawlers/push"
	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// TestPushedCountsNameTheRelease: request and error counts pushed in the
// form INTERFACES.md §8 sketches — the release id, no version — over HTTP
// (POST /v1/metrics) and over NATS (push.metrics.shop), every other ten
// minutes, go through a real embedded nats-server and JetStream to the detector,
// which counts them in the release's version's cohort: a canary whose
// errors quadruple 20 minutes into H2 halts on its error counts. The first
// counts of the canary are pushed before its "started" event reaches the
// stream (held, then counted). Counts naming a release nobody started,
// pushed in the same bodies, are set aside with the reason
// unknown_release, every one of them, and nothing else of those bodies is
// lost.
func TestPushedCountsNameTheRelease(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	start := t0.Add(2 * time.Hour)
	onset := start.Add(20 * time.Minute)
	end := start.Add(time.Hour)
	cfg := detector.Config{Baseline: 2 * time.Hour}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	clock := &simClock{now: t0}
	pr := startProcess(t, t.TempDir(), cfg, clock, time.Time{})
	defer pr.stop(t)
	srv := httptest.NewServer(push.NewHandler(bus.Publisher{JS: pr.b.JS}, nil, clock.get, nil))
	defer srv.Close()
	ictx, stopIngest := context.WithCancel(context.Background())
	ingested := make(chan error, 1)
	go func() { ingested <- natsmetrics.New(pr.b.NC, bus.Publisher{JS: pr.b.JS}, nil, clock.get).Run(ictx) }()
	defer func() {
		stopIngest()
		if err := <-ingested; err != nil {
			t.Errorf("natsmetrics: %v", err)
		}
	}()

	rng := rand.New(rand.NewPCG(17, 4))
	poisson := func(l float64) int {
		if l > 50 {
			return max(0, int(math.Round(l+math.Sqrt(l)*rng.NormFloat64())))
		}
		return poissonN(rng, l)
	}
	// lines are the count objects of minute m: the old cohort's (no
	// release, no version), from the start the canary's (5 % of the
	// requests, named by its release only) and a count naming release
	// r999, which no release event names.
	unknown := 0
	lines := func(m time.Time) []string {
		at := m.Add(20 * time.Second).Format(time.RFC3339)
		share := 0.0
		if !m.Before(start) {
			share = 0.05
		}
		n := poisson(5000 * (1 - share))
		out := []string{fmt.Sprintf(`{"service":"shop","ts":%q,"requests":%d,"errors":%d}`, at, n, poisson(float64(n)*0.01))}
		if share > 0 {
			mult := 1.0
			if !m.Before(onset) {
				mult = 4
			}
			n := poisson(5000 * share)
			out = append(out, fmt.Sprintf(`{"service":"shop","ring":"h2","release":"shop-r123","ts":%q,"requests":%d,"errors":%d}`, at, n, poisson(float64(n)*0.01*mult)),
				fmt.Sprintf(`{"service":"shop","ring":"h2","release":"r999","ts":%q,"requests":60,"errors":50}`, at))
			unknown += 2
		}
		return out
	}
	started := signals.ReleaseEvent{Time: start, Release: "shop-r123", Service: "shop", Version: "4.2.0", Ring: "H2", Event: signals.EventStarted}
	sentEvent := false
	pub := bus.Publisher{JS: pr.b.JS}
	step := 10 * time.Minute
	for i, at := 0, t0; at.Before(end.Add(2 * step)); i, at = i+1, at.Add(step) {
		var body []string
		for m := at; m.Before(at.Add(step)) && m.Before(end); m = m.Add(time.Minute) {
			body = append(body, lines(m)...)
		}
		switch {
		case len(body) == 0:
		case i%2 == 0:
			pr.sent += pushBody(t, srv.URL, strings.Join(body, "\n"), 2*len(body))
		default:
			pr.sent += pushNATS(t, pr.b.NC, strings.Join(body, "\n"), 2*len(body))
		}
		// The release event comes after the canary's first counts.
		if !sentEvent && start.Before(at.Add(step)) {
			if err := pub.Release(context.Background(), started, ""); err != nil {
				t.Fatal(err)
			}
			pr.sent++
			sentEvent = true
		}
		pr.waitFor(t, "the samples to be consumed", func() bool {
			return pr.gauge("aftershock_detector_messages_total") >= float64(pr.sent)
		})
		clock.set(at.Add(step))
		time.Sleep(4 * testTick)
	}
	vs := verdicts(t, pr.b)
	h, ok := firstHalt(vs)
	if !ok {
		t.Fatalf("the canary named by its release did not halt:%s", show(vs))
	}
	if h.Release != "shop-r123" || h.Ring != "H2" || h.Time.Before(onset) || h.Time.Sub(onset) > 30*time.Minute {
		t.Fatalf("halt %s %s at %s, want H2 of shop-r123 within 30 minutes of %s:%s", h.Release, h.Ring, h.Time.Format("15:04"), onset.Format("15:04"), show(vs))
	}
	var errs signals.SignalResult
	for _, s := range h.Signals {
		if s.Name == "errors" {
			errs = s
		}
	}
	if errs.Outcome != signals.OutcomeFail || !strings.Contains(errs.Detail, "requests of the new version") {
		t.Fatalf("the halt is not the error counts': %+v", errs)
	}
	// Before the onset the canary's counts were judged as the new
	// version's: evidence, not "no requests counts of the new version".
	for _, v := range vs {
		for _, s := range v.Signals {
			if s.Name == "errors" && strings.Contains(s.Detail, "no requests counts of the new version") {
				t.Fatalf("at %s the canary's counts were not the new version's: %s", v.Time.Format("15:04"), s.Detail)
			}
		}
	}
	pr.waitFor(t, "the unknown release's samples to be set aside", func() bool {
		return pr.gauge("aftershock_detector_set_aside_total") >= float64(unknown)
	})
	if got := pr.gauge("aftershock_detector_set_aside_total"); got != float64(unknown) {
		t.Fatalf("%v samples set aside, want the %d naming r999", got, unknown)
	}
	mfs, err := pr.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "aftershock_detector_set_aside_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if r := m.GetLabel()[0].GetValue(); r != detector.ReasonUnknownRelease && m.GetCounter().GetValue() > 0 {
				t.Errorf("set aside for %s: %v", r, m.GetCounter().GetValue())
			}
		}
	}
}

// pushNATS sends a message of count objects on push.metrics.shop as a
// request (sent again while nobody has subscribed yet) and checks all were
// accepted; it returns the samples stored.
func pushNATS(t *testing.T, nc *nats.Conn, body string, want int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg, err := nc.Request(natsmetrics.PushSubject("shop"), []byte(body), 10*time.Second)
		if errors.Is(err, nats.ErrNoResponders) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue // not subscribed yet
		}
		if err != nil {
			t.Fatalf("push.metrics.shop: %v", err)
		}
		var r natsmetrics.Reply
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Accepted != want || len(r.Rejected) != 0 || r.Error != "" {
			t.Fatalf("push.metrics.shop: %+v, want %d samples accepted", r, want)
		}
		return r.Accepted
	}
}

// pushBody posts a body of count objects and checks all were accepted; it
// returns the samples stored.
func pushBody(t *testing.T, url, body string, want int) int {
	t.Helper()
	resp, err := http.Post(url+"/v1/metrics", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r push.Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || r.Accepted != want || len(r.Rejected) != 0 {
		t.Fatalf("push: %d %+v, want %d samples accepted", resp.StatusCode, r, want)
	}
	return r.Accepted
}

// TestHeldSampleSurvivesRestart: a sample naming a release whose started
// event has not come yet is held in memory only (not in the snapshot);
// stopped and started again, the daemon replays it from the METRICS stream
// and holds it again, so the started event that comes after the restart
// still lets it through. Without the event it is set aside once its grace
// (from its own time) is over. (The sample names a version beside the
// release that disagrees with it, so that its resolving shows: set aside
// as release_mismatch, which only a sample that was held through the
// restart and met its release event can be.)
func TestHeldSampleSurvivesRestart(t *testing.T) {
	for _, started := range []bool{true, false} {
		t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
		cfg := detector.Config{Baseline: 2 * time.Hour}
		if err := cfg.Validate("detector"); err != nil {
			t.Fatal(err)
		}
		dir, clock := t.TempDir(), &simClock{now: t0}
		ctx := context.Background()
		pr := startProcess(t, dir, cfg, clock, time.Time{})
		m := signals.MetricSample{Type: signals.TypeMetric, Time: t0, Service: "shop", Version: "4.1.0", Release: "r7", Ring: "H2", Name: "requests", Value: 100}
		if err := (bus.Publisher{JS: pr.b.JS}).Metric(ctx, m); err != nil {
			t.Fatal(err)
		}
		pr.sent++
		pr.waitFor(t, "the sample", func() bool { return pr.gauge("aftershock_detector_messages_total") >= float64(pr.sent) })
		clock.set(t0.Add(time.Minute))
		time.Sleep(4 * testTick)
		pr.stop(t)

		clock.set(t0.Add(2 * time.Minute))
		pr = startProcess(t, dir, cfg, clock, time.Time{})
		if started {
			ev := signals.ReleaseEvent{Time: t0.Add(2 * time.Minute), Release: "r7", Service: "shop", Version: "4.2.0", Ring: "H2", Event: signals.EventStarted}
			if err := (bus.Publisher{JS: pr.b.JS}).Release(ctx, ev, ""); err != nil {
				t.Fatal(err)
			}
			pr.sent++
			pr.waitFor(t, "the release event", func() bool { return pr.gauge("aftershock_detector_messages_total") >= float64(pr.sent) })
		}
		for at := 3; at <= 10; at++ {
			clock.set(t0.Add(time.Duration(at) * time.Minute))
			time.Sleep(4 * testTick)
		}
		pr.stop(t)
		unknown, mismatch := 1, 0
		if started {
			unknown, mismatch = 0, 1
		}
		if st := pr.det.Stats(); st.UnknownReleases != unknown || st.ReleaseMismatches != mismatch {
			t.Errorf("started event after the restart %v: set aside %d unknown_release, %d release_mismatch; want %d, %d", started, st.UnknownReleases, st.ReleaseMismatches, unknown, mismatch)
		}
	}
}

// TestSetAsideCountedOnceOverRestart: what the detector set aside before a
// restart is counted (aftershock_detector_set_aside_total) and logged by
// the process that read it — what it had not logged yet (at most once a
// minute) on its way out — not again by the next one when its rebuild
// replays the METRICS stream; what comes after is counted as usual. On the
// wall clock, as the daemon runs (the broker's times are the detector's).
func TestSetAsideCountedOnceOverRestart(t *testing.T) {
	cfg := detector.Config{Baseline: 2 * time.Hour}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	dir, clock := t.TempDir(), &simClock{now: time.Now()}
	ctx := context.Background()
	mismatch := func(pr *process) {
		m := signals.MetricSample{Type: signals.TypeMetric, Time: time.Now(), Service: "shop", Version: "4.1.0", Release: "r1", Ring: "H2", Name: "requests", Value: 100}
		if err := (bus.Publisher{JS: pr.b.JS}).Metric(ctx, m); err != nil {
			t.Fatal(err)
		}
		pr.sent++
	}
	settle := func(pr *process, what string, setAside float64) {
		pr.waitFor(t, what, func() bool { return pr.gauge("aftershock_detector_messages_total") >= float64(pr.sent) })
		clock.set(time.Now())
		pr.waitFor(t, what+" set aside", func() bool { return pr.gauge("aftershock_detector_set_aside_total") >= setAside })
		time.Sleep(4 * testTick)
	}
	pr := startProcess(t, dir, cfg, clock, time.Time{})
	ev := signals.ReleaseEvent{Time: time.Now(), Release: "r1", Service: "shop", Version: "4.2.0", Ring: "H2", Event: signals.EventStarted}
	if err := (bus.Publisher{JS: pr.b.JS}).Release(ctx, ev, ""); err != nil {
		t.Fatal(err)
	}
	pr.sent++
	mismatch(pr)
	settle(pr, "the first sample", 1)
	pr.waitFor(t, "the first note", func() bool { return loggedSetAside(pr.logs.String()) == 1 })
	mismatch(pr)
	mismatch(pr)
	settle(pr, "two more", 3) // logged within the minute: not yet
	pr.stop(t)
	if n := loggedSetAside(pr.logs.String()); n != 3 {
		t.Errorf("the first process logged %d samples set aside, want 3: %s", n, pr.logs)
	}

	clock.set(time.Now())
	pr = startProcess(t, dir, cfg, clock, time.Time{})
	mismatch(pr)
	settle(pr, "a sample after the restart", 1)
	time.Sleep(10 * testTick)
	got := pr.gauge("aftershock_detector_set_aside_total")
	pr.stop(t)
	if st := pr.det.Stats(); got != 1 || st.ReleaseMismatches != 1 {
		t.Errorf("after the restart: set aside %v (%d release_mismatch), want 1: the 3 before it were counted again", got, st.ReleaseMismatches)
	}
	if n := loggedSetAside(pr.logs.String()); n != 1 {
		t.Errorf("the process after the restart logged %d samples set aside, want 1: %s", n, pr.logs)
	}
}

// loggedSetAside sums the samples the set-aside notes in a log count.
func loggedSetAside(log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="metric samples set aside"`) {
			continue
		}
		var k int
		if i := strings.Index(line, ": "); i >= 0 {
			if _, err := fmt.Sscanf(line[i+2:], "%d metric sample(s)", &k); err == nil {
				n += k
			}
		}
	}
	return n
}

// TestSkewedSampleSurvivesRestart: a sample from a client whose clock is
// six minutes behind, naming a release whose started event has not come,
// is held through a restart and met by the event that comes right after
// it, as it would have been without the restart: its grace runs from when
// the broker stored it, not from its own time. (Its version disagrees with
// the release's, so that being met shows: release_mismatch, not
// unknown_release.) On the wall clock, as the daemon runs.
func TestSkewedSampleSurvivesRestart(t *testing.T) {
	cfg := detector.Config{Baseline: 2 * time.Hour}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	dir, clock := t.TempDir(), &simClock{now: time.Now()}
	ctx := context.Background()
	pr := startProcess(t, dir, cfg, clock, time.Time{})
	m := signals.MetricSample{Type: signals.TypeMetric, Time: time.Now().Add(-6 * time.Minute), Service: "shop", Version: "4.1.0", Release: "r8", Ring: "H2", Name: "requests", Value: 100}
	if err := (bus.Publisher{JS: pr.b.JS}).Metric(ctx, m); err != nil {
		t.Fatal(err)
	}
	pr.sent++
	pr.waitFor(t, "the sample", func() bool { return pr.gauge("aftershock_detector_messages_total") >= float64(pr.sent) })
	clock.set(time.Now())
	time.Sleep(4 * testTick)
	pr.stop(t)

	clock.set(time.Now())
	pr = startProcess(t, dir, cfg, clock, time.Time{})
	for range 4 { // ticks after the restart
		clock.set(time.Now())
		time.Sleep(4 * testTick)
	}
	ev := signals.ReleaseEvent{Time: time.Now(), Release: "r8", Service: "shop", Version: "4.2.0", Ring: "H2", Event: signals.EventStarted}
	if err := (bus.Publisher{JS: pr.b.JS}).Release(ctx, ev, ""); err != nil {
		t.Fatal(err)
	}
	pr.sent++
	pr.waitFor(t, "the release event", func() bool { return pr.gauge("aftershock_detector_messages_total") >= float64(pr.sent) })
	clock.set(time.Now())
	time.Sleep(4 * testTick)
	pr.stop(t)
	if st := pr.det.Stats(); st.UnknownReleases != 0 || st.ReleaseMismatches != 1 {
		t.Errorf("set aside %d unknown_release, %d release_mismatch; want 0, 1: the sample waited for its release event through the restart", st.UnknownReleases, st.ReleaseMismatches)
	}
}

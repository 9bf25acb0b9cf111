// Package pipeline runs the detector on the JetStream streams: it reads
// posts, metric samples and release events, feeds the detector in one
// goroutine, advances it on an injected clock and publishes the verdicts,
// anomalies and rollups it returns.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Pipeline connects the streams to the detector.
type Pipeline struct {
	js    jetstream.JetStream
	pub   bus.Publisher
	det   *detector.Detector
	clock func() time.Time
	tick  time.Duration
	log   *slog.Logger
	m     metrics

	snapKV    jetstream.KeyValue
	snapEvery time.Duration
	owns      func(service string) bool
	replayed  int // messages applied by the start-up rebuild
	// held are the services with a verdict not yet published: their state
	// is not saved until it is (a restart would take it as given).
	held map[string]bool
	// caughtUp: the start-up rebuild is over. A process stopped before is
	// not saved: its half-replayed state is worth less than the snapshot.
	caughtUp bool
	// ready is caughtUp for other goroutines (Ready): set once the
	// rebuild has caught up, cleared when Run returns.
	ready atomic.Bool
	// dirty are the services to save after the next tick: a verdict of
	// theirs went out, or a release event (a ring transition) was applied.
	dirty map[string]bool
	// notesLogged is when the detector's set-aside notes were last logged.
	notesLogged time.Time
	// storedOff turns the broker's times into the clock's (zero on the
	// wall clock).
	storedOff time.Duration
}

// WithOwner restricts the pipeline to the services owns accepts (this
// process's share when several share the work); the rest is skipped.
func (p *Pipeline) WithOwner(owns func(service string) bool) *Pipeline {
	p.owns = owns
	return p
}

func (p *Pipeline) mine(service string) bool { return p.owns == nil || p.owns(service) }

// WithSnapshots makes Run restore the detector's long-term state (weeks of
// hourly history, term counts) from kv at start and save it every interval
// and at the end.
func (p *Pipeline) WithSnapshots(kv jetstream.KeyValue, every time.Duration) *Pipeline {
	p.snapKV, p.snapEvery = kv, every
	return p
}

func (p *Pipeline) restore(ctx context.Context) error {
	if p.snapKV == nil {
		return nil
	}
	keys, err := p.snapKV.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing detector snapshots: %w", err)
	}
	n := 0
	for k := range keys.Keys() {
		if !p.mine(k) {
			continue
		}
		e, err := p.snapKV.Get(ctx, k)
		if err != nil {
			p.log.Warn("reading detector snapshot", "service", k, "err", err)
			continue
		}
		if err := p.det.RestoreService(k, e.Value()); err != nil {
			p.log.Warn("skipping detector snapshot", "service", k, "err", err)
			continue
		}
		n++
	}
	if n > 0 {
		p.log.Info("restored detector baselines", "services", n)
	}
	return nil
}

// saveDirty saves the services marked dirty (right after a tick) and
// unmarks them; a failure is logged and the service stays marked.
func (p *Pipeline) saveDirty(ctx context.Context) {
	if p.snapKV == nil {
		clear(p.dirty)
		return
	}
	for name := range p.dirty {
		if !p.mine(name) {
			delete(p.dirty, name)
			continue
		}
		if p.held[name] {
			continue // saved once its verdicts are out
		}
		if err := p.saveService(ctx, name); err != nil {
			p.log.Error("saving detector state", "service", name, "err", err)
			continue
		}
		delete(p.dirty, name)
	}
}

func (p *Pipeline) saveService(ctx context.Context, name string) error {
	data, err := p.det.MarshalService(name)
	if err == nil {
		_, err = p.snapKV.Put(ctx, name, data)
	}
	if err != nil {
		return fmt.Errorf("saving baseline of %s: %w", name, err)
	}
	return nil
}

// Save writes the detector's long-term state of every service.
func (p *Pipeline) Save(ctx context.Context) error {
	if p.snapKV == nil {
		return nil
	}
	var errs []error
	for _, name := range p.det.ServiceNames() {
		if !p.mine(name) {
			continue // another process owns it now and saves its state
		}
		if p.held[name] || p.dirty[name] {
			// A verdict of it is not published yet (its snapshot would say
			// it was), or a release event applied since the last tick may
			// have left one in the detector: saved after the next tick.
			continue
		}
		if err := p.saveService(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Ready reports whether the detector judges: Run's start-up rebuild
// (snapshots restored, the streams replayed) has caught up and Run has not
// returned. Safe to call from any goroutine; /readyz asks it.
func (p *Pipeline) Ready() bool { return p.ready.Load() }

type metrics struct {
	in          *prometheus.CounterVec
	posts       prometheus.Counter // in{type="post"}, the hot one
	bad         prometheus.Counter
	verdicts    *prometheus.CounterVec
	lag         prometheus.Gauge
	rebuild     prometheus.Gauge
	pubFailures prometheus.Counter
	unpublished prometheus.Gauge
	dropped     *prometheus.CounterVec
	// setAside counts what the detector read but did not count, by reason
	// (detector.Stats); seen is how much of it is exported already.
	setAside *prometheus.CounterVec
	seen     detector.Stats
}

// New builds a pipeline. clock is event time "now" (the wall clock when
// live, a simulated clock in the demo); tick is how often the detector is
// advanced.
func New(js jetstream.JetStream, det *detector.Detector, clock func() time.Time, tick time.Duration, log *slog.Logger, reg prometheus.Registerer) *Pipeline {
	p := &Pipeline{js: js, pub: bus.Publisher{JS: js}, det: det, clock: clock, tick: tick, log: log}
	p.m.in = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aftershock_detector_messages_total", Help: "Messages the detector consumed, by type."}, []string{"type"})
	p.m.posts = p.m.in.WithLabelValues("post")
	p.m.bad = prometheus.NewCounter(prometheus.CounterOpts{Name: "aftershock_detector_bad_messages_total", Help: "Messages the detector could not decode."})
	p.m.verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aftershock_verdicts_total", Help: "Verdicts published, by decision and action."}, []string{"decision", "action"})
	p.m.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aftershock_detector_event_lag_seconds", Help: "Clock minus the time of the newest post consumed."})
	p.m.rebuild = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aftershock_detector_rebuild_seconds", Help: "How long the last start-up rebuild (snapshots restored, streams replayed) took."})
	p.m.pubFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "aftershock_detector_publish_failures_total", Help: "Attempts to publish the detector's output (verdicts, anomalies, rollups) that failed; retried with a backoff."})
	p.m.unpublished = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aftershock_detector_unpublished", Help: "Detector output (verdicts, anomalies, rollups) waiting to be published again."})
	p.m.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aftershock_detector_output_dropped_total", Help: "Detector output dropped unpublished, oldest first, because publishing failed for so long that more than the backlog's bound waited (200,000 rollups, 20,000 anomalies; verdicts are never dropped), by kind."}, []string{"kind"})
	p.m.setAside = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aftershock_detector_set_aside_total",
		Help: "Inputs the detector read but did not count, by reason: late_post (older than the buckets kept), dropped_service (beyond max_services), unknown_ring, repeated_text (a copy within the hour: a post, not again a complaint), bad_count (an error_counts sample that is no count), unknown_release (a metric sample naming a release no release event of its service named within 5 minutes, or one without a version), release_mismatch (a metric sample whose version disagrees with its release's), reused_release (a metric sample naming only a release id its events reused for another version, while the old version's pods may still name it)."}, []string{"reason"})
	if reg != nil {
		reg.MustRegister(p.m.in, p.m.bad, p.m.verdicts, p.m.lag, p.m.rebuild, p.m.pubFailures, p.m.unpublished, p.m.dropped, p.m.setAside)
	}
	return p
}

// exportStats adds what the detector set aside since the last call to the
// set-aside counter. Called from Run's loop, the detector's goroutine.
func (p *Pipeline) exportStats() {
	now := p.det.Stats()
	for _, c := range []struct {
		reason   string
		now, was int
	}{
		{"late_post", now.LatePosts, p.m.seen.LatePosts},
		{"dropped_service", now.DroppedServices, p.m.seen.DroppedServices},
		{"unknown_ring", now.UnknownRings, p.m.seen.UnknownRings},
		{"repeated_text", now.RepeatedTexts, p.m.seen.RepeatedTexts},
		{"bad_count", now.BadCounts, p.m.seen.BadCounts},
		{detector.ReasonUnknownRelease, now.UnknownReleases, p.m.seen.UnknownReleases},
		{detector.ReasonReleaseMismatch, now.ReleaseMismatches, p.m.seen.ReleaseMismatches},
		{detector.ReasonReusedRelease, now.ReusedReleases, p.m.seen.ReusedReleases},
	} {
		if c.now > c.was {
			p.m.setAside.WithLabelValues(c.reason).Add(float64(c.now - c.was))
		}
	}
	p.m.seen = now
	// The notes (one line per service, release and reason, at most 51)
	// are logged at most once per setAsideLogEvery, with what came in
	// between summed: a producer naming a wrong release would otherwise
	// log a line every tick for as long as it pushes.
	if t := p.clock(); p.notesLogged.IsZero() || t.Sub(p.notesLogged) >= setAsideLogEvery {
		if p.logSetAside() {
			p.notesLogged = t
		}
	}
}

// logSetAside logs the detector's set-aside notes and reports whether
// there were any. Run logs what is left on the way out too: the next
// process does not count or log again what this one set aside.
func (p *Pipeline) logSetAside() bool {
	notes := p.det.SetAsideNotes()
	for _, note := range notes {
		p.log.Warn("metric samples set aside", "note", note)
	}
	return len(notes) > 0
}

// setAsideLogEvery is how often the set-aside notes are logged at most.
const setAsideLogEvery = time.Minute

// Run consumes the streams until ctx ends: posts and metrics from since
// (zero: from the start), release events from far enough before since to
// find every watch that can still be open (detector.ReplaySpans).
//
// A start is a rebuild (docs/judge.md, "Restarts"): the snapshots are
// restored (weeks of hourly history, and the open watches with their
// charts and the release-log position they hold), then everything the
// streams held at start-up is replayed, the three streams merged in the
// order the broker stored them, without evaluating anything — a watch is
// judged only on complete buckets. Release events the snapshots already
// hold are skipped by their stream sequence, posts they already counted by
// time. Only then is the detector advanced on the clock. A service's
// snapshot is saved every interval, after each verdict of it is published
// and after each release event, so a restart neither repeats a verdict
// already given nor loses a ring transition.
func (p *Pipeline) Run(ctx context.Context, since time.Time) error {
	if err := p.restore(ctx); err != nil {
		return err
	}
	defer func() {
		if !p.caughtUp {
			return
		}
		p.logSetAside()
		// Save on the way out with a fresh context: ctx is already done.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Save(sctx); err != nil {
			p.log.Error("saving detector baselines", "err", err)
		}
	}()
	var saveTick <-chan time.Time
	if p.snapKV != nil && p.snapEvery > 0 {
		st := time.NewTicker(p.snapEvery)
		defer st.Stop()
		saveTick = st.C
	}
	defer p.ready.Store(false) // runs first: not judging any more
	began := time.Now()
	// The broker's times on the detector's clock: the same when the clock
	// is the wall clock; the demo's and tests' simulated clocks are offset.
	p.storedOff = p.clock().Sub(began)
	in, stop, err := p.consume(ctx, since)
	if err != nil {
		return err
	}
	defer stop()
	if err := p.catchUp(ctx, in); err != nil {
		return nil // ctx ended
	}
	p.caughtUp = true
	p.ready.Store(true)
	for _, note := range p.det.Rebuilt(p.clock()) {
		p.log.Warn("watch after restart", "note", note)
	}
	p.m.rebuild.Set(time.Since(began).Seconds())
	p.log.Info("detector rebuilt from snapshots and the streams", "seconds", time.Since(began).Seconds(), "replayed", p.replayed)

	t := time.NewTicker(p.tick)
	defer t.Stop()
	var backlog detector.Output
	var retry backoff
	p.dirty = map[string]bool{}
	saveAll := false
	for {
		var m inMsg
		select {
		case <-ctx.Done():
			return nil
		case m = <-in[0].ch:
		case m = <-in[1].ch:
		case m = <-in[2].ch:
		case <-saveTick:
			saveAll = true // after the next tick: then nothing is left unpublished in the detector
			continue
		case <-t.C:
			out := p.keepMine(p.det.Advance(p.clock()))
			p.exportStats()
			backlog.Rollups = append(backlog.Rollups, out.Rollups...)
			backlog.Anomalies = append(backlog.Anomalies, out.Anomalies...)
			backlog.Verdicts = append(backlog.Verdicts, out.Verdicts...)
			if r, a := trimBacklog(&backlog); r+a > 0 {
				p.m.dropped.WithLabelValues("rollup").Add(float64(r))
				p.m.dropped.WithLabelValues("anomaly").Add(float64(a))
				p.log.Warn("publishing has failed for long: oldest unpublished output dropped (verdicts are kept)", "rollups", r, "anomalies", a)
			}
			// What could not be published is kept and tried again, in
			// order, so a broker hiccup loses no verdict. While the broker
			// refuses, the attempts back off (each one can hold the loop
			// for seconds): the streams go on being read meanwhile.
			stopping := false
			if now := time.Now(); retry.due(now) {
				pending, size := backlog.Verdicts, outputSize(backlog)
				pctx, cancel := context.WithTimeout(ctx, publishTimeout)
				var err error
				backlog, err = p.Publish(pctx, backlog)
				cancel()
				// A service whose verdict went out is saved at once: a
				// restart must not give it again.
				for _, v := range pending[:len(pending)-len(backlog.Verdicts)] {
					p.dirty[v.Service] = true
				}
				switch {
				case err != nil && ctx.Err() != nil:
					stopping = true // after the holds below
				case err != nil:
					p.m.pubFailures.Inc()
					wait := retry.failed(now)
					if outputSize(backlog) < size {
						// Some went out (a long backlog cut short by
						// publishTimeout): go on at the next tick.
						retry.succeeded()
						wait = p.tick
					}
					p.log.Error("publishing detector output; will retry", "err", err, "unpublished", outputSize(backlog), "pending_verdicts", len(backlog.Verdicts), "retry_in", wait)
				default:
					retry.succeeded()
				}
			}
			p.m.unpublished.Set(float64(outputSize(backlog)))
			// One whose verdict is still to go out is not saved (not even
			// on the way out) before it has.
			clear(p.held)
			for _, v := range backlog.Verdicts {
				if p.held == nil {
					p.held = map[string]bool{}
				}
				p.held[v.Service] = true
			}
			if stopping {
				return nil // the deferred Save skips the held services
			}
			p.saveDirty(ctx)
			if saveAll {
				if err := p.Save(ctx); err != nil {
					p.log.Error("saving detector baselines", "err", err)
				}
				saveAll = false
			}
			continue
		}
		if svc := p.apply(m); svc != "" {
			p.dirty[svc] = true // a ring transition: saved after the next tick
		}
	}
}

// The publish retry: the first retry a second after a failure, then twice
// as long each time, at most publishRetryMax. Each attempt is given at most
// publishTimeout (a broker that does not answer would otherwise hold the
// loop for JetStream's default timeout per kind of output); an attempt that
// sent some of the output before it failed is continued at the next tick.
const (
	publishRetryMin = time.Second
	publishRetryMax = 30 * time.Second
	publishTimeout  = 5 * time.Second
)

// backoff spaces the attempts to publish while they fail.
type backoff struct {
	wait time.Duration // after the last failure; 0 after a success
	next time.Time     // no attempt before
}

func (b *backoff) due(now time.Time) bool { return !now.Before(b.next) }

// failed records a failed attempt at now and returns the wait before the next.
func (b *backoff) failed(now time.Time) time.Duration {
	b.wait = min(max(2*b.wait, publishRetryMin), publishRetryMax)
	b.next = now.Add(b.wait)
	return b.wait
}

func (b *backoff) succeeded() { *b = backoff{} }

func outputSize(o detector.Output) int { return len(o.Verdicts) + len(o.Anomalies) + len(o.Rollups) }

// Bounds on the output kept while the broker refuses it. Verdicts are
// never dropped (a halt must go out, and they are few: one per change of
// a ring's decision); rollups (one per service and minute) and anomalies
// are for dashboards, so in an outage of days the oldest go first rather
// than the process's memory.
const (
	maxBacklogRollups   = 200_000 // ~1 day of 140 services' minutes
	maxBacklogAnomalies = 20_000
)

// trimBacklog drops the oldest rollups and anomalies over their bounds and
// reports how many it dropped.
func trimBacklog(o *detector.Output) (rollups, anomalies int) {
	if n := len(o.Rollups) - maxBacklogRollups; n > 0 {
		o.Rollups = append(o.Rollups[:0], o.Rollups[n:]...)
		rollups = n
	}
	if n := len(o.Anomalies) - maxBacklogAnomalies; n > 0 {
		o.Anomalies = append(o.Anomalies[:0], o.Anomalies[n:]...)
		anomalies = n
	}
	return rollups, anomalies
}

// keepMine drops what the detector said about services this process no
// longer owns: their new owner judges them (from the snapshot this one
// saved), and a watch left behind here must not give a second verdict.
func (p *Pipeline) keepMine(out detector.Output) detector.Output {
	if p.owns == nil {
		return out
	}
	kept := detector.Output{}
	for _, v := range out.Verdicts {
		if p.mine(v.Service) {
			kept.Verdicts = append(kept.Verdicts, v)
		}
	}
	for _, a := range out.Anomalies {
		if p.mine(a.Service) {
			kept.Anomalies = append(kept.Anomalies, a)
		}
	}
	for _, r := range out.Rollups {
		if p.mine(r.Service) {
			kept.Rollups = append(kept.Rollups, r)
		}
	}
	return kept
}

// inMsg is one stream message with its place in the stream.
type inMsg struct {
	data []byte
	seq  uint64
	at   time.Time // when the broker stored it
	tail bool      // nothing was pending after it when it was delivered
}

// input is one stream being read: its messages, and the last sequence it
// held at start-up (what the rebuild replays).
type input struct {
	stream string
	ch     chan inMsg
	last   uint64
	done   bool
}

// consume starts an ordered consumer on each stream: releases, posts,
// metrics (that order: in[0] is the releases).
func (p *Pipeline) consume(ctx context.Context, since time.Time) ([3]*input, func(), error) {
	var in [3]*input
	var stops []func()
	_, relSpan := p.det.ReplaySpans()
	for i, stream := range []string{bus.StreamReleases, bus.StreamPosts, bus.StreamMetrics} {
		from := since
		if stream == bus.StreamReleases && !since.IsZero() {
			from = since.Add(-relSpan)
		}
		in[i] = &input{stream: stream, ch: make(chan inMsg, 1024)}
		st, err := p.js.Stream(ctx, stream)
		if err != nil {
			stopAll(stops)
			return in, nil, fmt.Errorf("reading %s: %w", stream, err)
		}
		state := st.CachedInfo().State
		in[i].last = state.LastSeq
		in[i].done = state.LastSeq == 0 || state.Msgs == 0 || !from.IsZero() && state.LastTime.Before(from)
		cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
		if !from.IsZero() {
			cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from}
		}
		c, err := p.js.OrderedConsumer(ctx, stream, cfg)
		if err != nil {
			stopAll(stops)
			return in, nil, fmt.Errorf("consuming %s: %w", stream, err)
		}
		ch := in[i].ch
		cc, err := c.Consume(func(m jetstream.Msg) {
			im := inMsg{data: m.Data()}
			if md, err := m.Metadata(); err == nil {
				im.seq, im.at, im.tail = md.Sequence.Stream, md.Timestamp, md.NumPending == 0
			}
			select {
			case ch <- im:
			case <-ctx.Done():
			}
		})
		if err != nil {
			stopAll(stops)
			return in, nil, fmt.Errorf("consuming %s: %w", stream, err)
		}
		stops = append(stops, cc.Stop)
	}
	return in, func() { stopAll(stops) }, nil
}

// catchUpIdle is how long the rebuild waits for a stream that stopped
// delivering before its last message at start-up (removed by retention in
// the meantime, say) before it goes on without it.
const catchUpIdle = 10 * time.Second

// catchUp applies everything the streams held at start-up, merged in the
// order the broker stored it (so a replayed promotion closes its ring after
// the posts before it), without advancing the detector. It returns ctx's
// error when ctx ends first.
func (p *Pipeline) catchUp(ctx context.Context, in [3]*input) error {
	var head [3]*inMsg
	idle := time.NewTimer(catchUpIdle)
	defer idle.Stop()
	for {
		for i, s := range in {
			for !s.done && head[i] == nil {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case m := <-s.ch:
					head[i] = &m
					idle.Reset(catchUpIdle) // Go ≥ 1.23: no stale tick after Reset
				case <-idle.C:
					p.log.Warn("stream stopped before its last message at start-up; going on without it", "stream", s.stream, "last", s.last)
					s.done = true
					idle.Reset(catchUpIdle)
				}
			}
		}
		best := -1
		for i, h := range head {
			if h != nil && (best < 0 || h.at.Before(head[best].at)) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		m := head[best]
		head[best] = nil
		p.apply(*m)
		p.replayed++
		if m.seq >= in[best].last || m.tail {
			in[best].done = true
		}
	}
}

func stopAll(fs []func()) {
	for _, f := range fs {
		f()
	}
}

// apply feeds one stream message to the detector; a release event goes in
// with its stream sequence (so a rebuild skips what the snapshot holds). It
// returns the service of a release event applied, "" otherwise.
func (p *Pipeline) apply(m inMsg) string {
	if !m.at.IsZero() {
		// When it arrived: a sample the rebuild holds for its release
		// waits from then, and what the process before the restart set
		// aside is not counted again (detector.StoredAt; also for what
		// comes before the first tick, live).
		p.det.StoredAt(m.at.Add(p.storedOff))
	}
	v, err := signals.Decode(m.data)
	if err != nil {
		p.m.bad.Inc()
		p.log.Warn("skipping bad message", "err", err)
		return ""
	}
	if ev, ok := v.(*signals.ReleaseEvent); ok {
		if !p.mine(ev.Service) {
			return ""
		}
		p.m.in.WithLabelValues("release").Inc()
		if p.det.ReleaseAt(*ev, m.seq) {
			return ev.Service
		}
		return ""
	}
	p.ApplyDecoded(v)
	return ""
}

// Apply feeds one wire message to the detector. It returns the decoded
// message's time, or the zero time for a message it could not use.
func (p *Pipeline) Apply(data []byte) time.Time {
	v, err := signals.Decode(data)
	if err != nil {
		p.m.bad.Inc()
		p.log.Warn("skipping bad message", "err", err)
		return time.Time{}
	}
	return p.ApplyDecoded(v)
}

// ApplyDecoded is Apply for a message already decoded by signals.Decode.
func (p *Pipeline) ApplyDecoded(v any) time.Time {
	switch m := v.(type) {
	case *signals.Post:
		if !p.mine(m.Service) {
			return time.Time{}
		}
		p.m.posts.Inc()
		p.m.lag.Set(p.clock().Sub(m.Time).Seconds())
		p.det.Post(*m)
		return m.Time
	case *signals.MetricSample:
		if !p.mine(m.Service) {
			return time.Time{}
		}
		p.m.in.WithLabelValues("metric").Inc()
		p.det.Metric(*m)
		return m.Time
	case *signals.ReleaseEvent:
		if !p.mine(m.Service) {
			return time.Time{}
		}
		p.m.in.WithLabelValues("release").Inc()
		p.det.Release(*m)
		return m.Time
	}
	return time.Time{}
}

// Publish sends the detector's output to the streams, in order, and
// returns what it could not send (from the first failure of each kind on).
// Verdicts go first: after an outage a long backlog of rollups, cut short
// by the caller's deadline, must not hold a halt back.
func (p *Pipeline) Publish(ctx context.Context, out detector.Output) (detector.Output, error) {
	var left detector.Output
	var errs []error
	for i, v := range out.Verdicts {
		if err := p.pub.Verdict(ctx, v); err != nil {
			left.Verdicts, errs = out.Verdicts[i:], append(errs, err)
			break
		}
		p.m.verdicts.WithLabelValues(v.Decision, v.Action).Inc()
		p.log.Info("verdict", "release", v.Release, "ring", v.Ring, "score", v.Score, "decision", v.Decision, "action", v.Action)
	}
	for i, r := range out.Rollups {
		if err := p.pub.Rollup(ctx, r); err != nil {
			left.Rollups, errs = out.Rollups[i:], append(errs, err)
			break
		}
	}
	for i, a := range out.Anomalies {
		if err := p.pub.Anomaly(ctx, a); err != nil {
			left.Anomalies, errs = out.Anomalies[i:], append(errs, err)
			break
		}
	}
	return left, errors.Join(errs...)
}

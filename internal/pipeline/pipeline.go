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
	"slices"
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
		data, err := p.det.MarshalService(name)
		if err == nil {
			_, err = p.snapKV.Put(ctx, name, data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("saving baseline of %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

type metrics struct {
	in       *prometheus.CounterVec
	bad      prometheus.Counter
	verdicts *prometheus.CounterVec
	lag      prometheus.Gauge
}

// New builds a pipeline. clock is event time "now" (the wall clock when
// live, a simulated clock in the demo); tick is how often the detector is
// advanced.
func New(js jetstream.JetStream, det *detector.Detector, clock func() time.Time, tick time.Duration, log *slog.Logger, reg prometheus.Registerer) *Pipeline {
	p := &Pipeline{js: js, pub: bus.Publisher{JS: js}, det: det, clock: clock, tick: tick, log: log}
	p.m.in = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aftershock_detector_messages_total", Help: "Messages the detector consumed, by type."}, []string{"type"})
	p.m.bad = prometheus.NewCounter(prometheus.CounterOpts{Name: "aftershock_detector_bad_messages_total", Help: "Messages the detector could not decode."})
	p.m.verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aftershock_verdicts_total", Help: "Verdicts published, by decision and action."}, []string{"decision", "action"})
	p.m.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aftershock_detector_event_lag_seconds", Help: "Clock minus the time of the newest post consumed."})
	if reg != nil {
		reg.MustRegister(p.m.in, p.m.bad, p.m.verdicts, p.m.lag)
	}
	return p
}

// Run consumes the streams from since (zero: from the start) until ctx ends.
// The detector's state is a fold over the streams, so a restart rebuilds it
// by reading back its baseline span; verdicts that are published again are
// de-duplicated downstream (one halt per release and ring).
func (p *Pipeline) Run(ctx context.Context, since time.Time) error {
	if err := p.restore(ctx); err != nil {
		return err
	}
	caughtUpAll := false // the replay has caught up: the state is whole
	defer func() {
		if !caughtUpAll {
			// A half-read replay would overwrite good baselines.
			p.log.Warn("stopped before the streams were read: baselines not saved")
			return
		}
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
	// The detector is a fold over the streams: it is advanced (watches
	// judged, their baselines fixed, buckets folded) only once the replay
	// has caught up with what the streams held at start. Judging earlier
	// fixes a watch's baseline from a half-read history — a rebuilt owner
	// then waited forever ("no posts before the ring started"). Releases
	// are read first so the watches exist when their posts are counted.
	msgs := make(chan streamMsg, 1024)
	var stops []func()
	defer func() { stopAll(stops) }()
	streams := []string{bus.StreamReleases, bus.StreamPosts, bus.StreamMetrics}
	caughtUp := make([]bool, len(streams))
	started, replayed, replayStart := 0, 0, time.Now()
	start := func(i int) error {
		done, err := p.consume(ctx, streams[i], i, since, msgs)
		if err != nil {
			return err
		}
		stops = append(stops, done.stop)
		caughtUp[i] = done.empty
		started = i + 1
		return nil
	}
	// next starts the streams after the caught-up ones, in order.
	next := func() error {
		for started < len(streams) && (started == 0 || caughtUp[started-1]) {
			if err := start(started); err != nil {
				return err
			}
		}
		return nil
	}
	if err := next(); err != nil {
		return err
	}
	ready := func() bool { return started == len(streams) && !slices.Contains(caughtUp, false) }
	if caughtUpAll = ready(); caughtUpAll {
		p.log.Info("streams read: judging from now on", "messages", 0)
	}

	t := time.NewTicker(p.tick)
	defer t.Stop()
	var backlog detector.Output
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			p.Apply(m.data)
			replayed++
			if caughtUp[m.stream] || !m.last {
				continue
			}
			caughtUp[m.stream] = true
			if err := next(); err != nil {
				return err
			}
			if caughtUpAll = ready(); caughtUpAll {
				p.log.Info("streams read: judging from now on", "messages", replayed, "took", time.Since(replayStart).Round(time.Millisecond))
			}
		case <-saveTick:
			if !caughtUpAll {
				continue // a half-read replay is not worth a snapshot
			}
			if err := p.Save(ctx); err != nil {
				p.log.Error("saving detector baselines", "err", err)
			}
		case <-t.C:
			if !caughtUpAll {
				continue
			}
			out := p.det.Advance(p.clock())
			backlog.Rollups = append(backlog.Rollups, out.Rollups...)
			backlog.Anomalies = append(backlog.Anomalies, out.Anomalies...)
			backlog.Verdicts = append(backlog.Verdicts, out.Verdicts...)
			var err error
			// What could not be published is kept and tried again on the
			// next tick, in order, so a broker hiccup loses no verdict.
			if backlog, err = p.Publish(ctx, backlog); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				p.log.Error("publishing detector output; will retry", "err", err, "pending_verdicts", len(backlog.Verdicts))
			}
		}
	}
}

// streamMsg is one message of stream number stream; last is set on the
// message that reaches what the stream held when its consumer started.
type streamMsg struct {
	data   []byte
	stream int
	last   bool
}

type consuming struct {
	stop  func()
	empty bool // nothing to replay: caught up from the start
}

// consume reads stream from since (zero: from the start) into msgs until
// ctx ends, marking the message that catches up with the stream's last
// sequence at start.
func (p *Pipeline) consume(ctx context.Context, stream string, i int, since time.Time, msgs chan<- streamMsg) (consuming, error) {
	s, err := p.js.Stream(ctx, stream)
	if err != nil {
		return consuming{}, fmt.Errorf("reading stream %s: %w", stream, err)
	}
	target := s.CachedInfo().State.LastSeq
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if !since.IsZero() {
		st := since
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &st}
	}
	c, err := p.js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return consuming{}, fmt.Errorf("consuming %s: %w", stream, err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		last := false
		if md, err := m.Metadata(); err == nil {
			last = md.NumPending == 0 || md.Sequence.Stream >= target
		}
		select {
		case msgs <- streamMsg{data: m.Data(), stream: i, last: last}:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return consuming{}, fmt.Errorf("consuming %s: %w", stream, err)
	}
	// The ordered consumer's info is from its creation: nothing pending
	// then means nothing to replay.
	info := c.CachedInfo()
	return consuming{stop: cc.Stop, empty: target == 0 || info != nil && info.NumPending == 0}, nil
}

func stopAll(fs []func()) {
	for _, f := range fs {
		f()
	}
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
	switch m := v.(type) {
	case *signals.Post:
		if !p.mine(m.Service) {
			return time.Time{}
		}
		p.m.in.WithLabelValues("post").Inc()
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
func (p *Pipeline) Publish(ctx context.Context, out detector.Output) (detector.Output, error) {
	var left detector.Output
	var errs []error
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
	for i, v := range out.Verdicts {
		if err := p.pub.Verdict(ctx, v); err != nil {
			left.Verdicts, errs = out.Verdicts[i:], append(errs, err)
			break
		}
		p.m.verdicts.WithLabelValues(v.Decision, v.Action).Inc()
		p.log.Info("verdict", "release", v.Release, "ring", v.Ring, "score", v.Score, "decision", v.Decision, "action", v.Action)
	}
	return left, errors.Join(errs...)
}

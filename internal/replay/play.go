package replay

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/pipeline"
	"github.com/aftershock/aftershock/signals"
)

type watchKey struct{ release, ring string }

// replayer feeds the streams to the pipeline in event time.
type replayer struct {
	cfg      detector.Config
	enricher func(service string) detector.Enricher // also used reading ahead
	det      *detector.Detector
	pipe     *pipeline.Pipeline
	out      io.Writer
	sum      *Summary
	speed    float64
	// open holds the end of every watch window the detector still has open,
	// as far as the release events and verdicts tell, so the replay knows
	// how long to go on after the last message.
	open map[watchKey]time.Time

	now       time.Time // simulated now, read by the pipeline's clock
	first     time.Time // event time of the first message
	wallStart time.Time
}

// stream reads one stream back in order with an ordered consumer. A
// goroutine reads, decodes and enriches ahead (ahead), so the detector's
// loop only folds: enrichment is a pure function of the text, done once
// either way.
type stream struct {
	name  string
	it    jetstream.MessagesContext
	last  uint64 // last sequence stored when reading began
	ahead chan item
	head  []byte
	msg   any
	t     time.Time
}

// item is one message read ahead, or the error that ended reading.
type item struct {
	data []byte
	msg  any
	t    time.Time
	err  error
}

// readAheadDepth is how many decoded messages a stream holds ready.
const readAheadDepth = 256

// Streams are read in this order; at equal times the earlier one goes first,
// so a release that starts at the same instant as a post is known first.
var replayStreams = []string{bus.StreamReleases, bus.StreamMetrics, bus.StreamPosts}

func (r *replayer) play(ctx context.Context, js jetstream.JetStream) error {
	var streams []*stream
	readCtx, stopReading := context.WithCancel(ctx)
	var readers sync.WaitGroup
	defer func() {
		stopReading()
		for _, s := range streams {
			s.it.Stop()
		}
		readers.Wait()
	}()
	for _, name := range replayStreams {
		st, err := js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("reading stream %s: %w", name, err)
		}
		last := st.CachedInfo().State.LastSeq
		if st.CachedInfo().State.Msgs == 0 {
			continue
		}
		c, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			return fmt.Errorf("consuming %s: %w", name, err)
		}
		it, err := c.Messages()
		if err != nil {
			return fmt.Errorf("consuming %s: %w", name, err)
		}
		s := &stream{name: name, it: it, last: last, ahead: make(chan item, readAheadDepth)}
		streams = append(streams, s)
		readers.Go(func() { s.read(readCtx, r.enricher) })
		if err := s.next(ctx); err != nil {
			return err
		}
	}

	var prev time.Time
	for {
		var s *stream
		for _, c := range streams {
			if c.head != nil && (s == nil || c.t.Before(s.t)) {
				s = c
			}
		}
		if s == nil {
			break
		}
		if prev.IsZero() {
			r.first, r.now, r.wallStart = s.t, s.t, time.Now()
			prev = s.t
		}
		if err := r.advanceTo(ctx, prev, s.t); err != nil {
			return err
		}
		if err := r.pace(ctx, s.t); err != nil {
			return err
		}
		if s.t.After(r.now) {
			r.now = s.t
		}
		r.pipe.ApplyDecoded(s.msg)
		r.count(s.msg)
		if s.t.After(prev) {
			prev = s.t
		}
		if err := s.next(ctx); err != nil {
			return err
		}
	}
	if prev.IsZero() {
		return nil
	}
	// Go on bucket by bucket until every open watch window has ended, so
	// the final verdicts come out.
	for b := r.boundaryAfter(prev); len(r.open) > 0; b = b.Add(r.cfg.Bucket) {
		if err := r.advance(ctx, b); err != nil {
			return err
		}
		for k, end := range r.open {
			if !b.Before(end) {
				delete(r.open, k)
			}
		}
	}
	r.sum.Simulated = r.now.Sub(r.first)
	return nil
}

func (r *replayer) boundaryAfter(t time.Time) time.Time {
	return t.Truncate(r.cfg.Bucket).Add(r.cfg.Bucket)
}

// advanceTo advances the detector at every bucket boundary in (from, to].
func (r *replayer) advanceTo(ctx context.Context, from, to time.Time) error {
	for b := r.boundaryAfter(from); !b.After(to); b = b.Add(r.cfg.Bucket) {
		if err := r.advance(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// advance moves the detector to b, publishes what it returns and prints
// the verdicts.
func (r *replayer) advance(ctx context.Context, b time.Time) error {
	if err := r.pace(ctx, b); err != nil {
		return err
	}
	r.now = b
	out := r.det.Advance(b)
	if left, err := r.pipe.Publish(ctx, out); err != nil {
		return fmt.Errorf("publishing detector output (%d verdicts left): %w", len(left.Verdicts), err)
	}
	for _, v := range out.Verdicts {
		r.sum.Verdicts++
		if v.Action == signals.ActionHalt {
			h := Halt{Release: v.Release, Service: v.Service, Ring: v.Ring, Time: v.Time}
			r.sum.Halts++
			r.sum.AllHalts = append(r.sum.AllHalts, h)
			if r.sum.FirstHalt == nil {
				r.sum.FirstHalt = &h
			}
			delete(r.open, watchKey{v.Release, v.Ring})
		}
		reasons := v.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		line := Line{Time: v.Time.UTC(), Release: v.Release, Service: v.Service, Ring: v.Ring, Score: v.Score, Decision: v.Decision, Action: v.Action, Reasons: reasons}
		if err := writeJSON(r.out, line); err != nil {
			return err
		}
	}
	return nil
}

// pace waits, when replaying at a speed, until the wall clock reaches the
// moment that maps to event time t. Boundaries are paced like messages, so
// the detector is advanced on a ticker of one bucket per bucket/speed of
// wall time, in step with the messages.
func (r *replayer) pace(ctx context.Context, t time.Time) error {
	if r.speed <= 0 {
		return ctx.Err()
	}
	at := r.wallStart.Add(time.Duration(float64(t.Sub(r.first)) / r.speed))
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("replay: %w", ctx.Err())
	case <-timer.C:
		return nil
	}
}

// count updates the summary and the open watches for one applied message.
func (r *replayer) count(msg any) {
	switch m := msg.(type) {
	case *signals.Post:
		r.sum.Posts++
	case *signals.MetricSample:
		r.sum.Metrics++
	case *signals.ReleaseEvent:
		r.sum.Releases++
		switch m.Event {
		case signals.EventStarted, signals.EventPromoted:
			for k := range r.open {
				if k.release == m.Release && k.ring != m.Ring {
					delete(r.open, k)
				}
			}
			k := watchKey{m.Release, m.Ring}
			if _, ok := r.open[k]; !ok {
				r.open[k] = m.Time.Add(r.window(m.Ring))
			}
		case signals.EventExposure:
			// The ring reaches a new share of users; its watch goes on.
		default:
			for k := range r.open {
				if k.release == m.Release {
					delete(r.open, k)
				}
			}
		}
	}
}

// window is the watch length of a ring; the detector watches an unknown
// ring for an hour.
func (r *replayer) window(ring string) time.Duration {
	for _, rc := range r.cfg.Rings {
		if rc.Name == ring {
			return rc.Window
		}
	}
	return time.Hour
}

// read reads the stream to its last sequence at the start, decodes every
// message and enriches posts that are not yet (as the detector would), and
// hands them to next in order; it closes ahead at the end.
func (s *stream) read(ctx context.Context, enricher func(string) detector.Enricher) {
	defer close(s.ahead)
	send := func(it item) bool {
		select {
		case s.ahead <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for seq := uint64(0); seq < s.last; {
		m, err := s.it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("replay: %w", ctx.Err())
			} else {
				err = fmt.Errorf("reading %s: %w", s.name, err)
			}
			send(item{err: err})
			return
		}
		meta, err := m.Metadata()
		if err != nil {
			send(item{err: fmt.Errorf("reading %s: %w", s.name, err)})
			return
		}
		seq = meta.Sequence.Stream
		v, err := signals.Decode(m.Data())
		if err != nil {
			// Everything was validated before it was published.
			send(item{err: fmt.Errorf("reading %s: message %d: %w", s.name, seq, err)})
			return
		}
		t, ok := timeOf(v)
		if !ok {
			continue
		}
		if p, isPost := v.(*signals.Post); isPost && p.Enrichment == nil && enricher != nil {
			if e := enricher(p.Service); e != nil {
				en := e.Enrich(p.Text, p.Lang)
				p.Enrichment = &en
			}
		}
		if !send(item{data: m.Data(), msg: v, t: t}) {
			return
		}
	}
}

// next loads the stream's next message into head, or clears head when the
// stream is read to the end.
func (s *stream) next(ctx context.Context) error {
	s.head, s.msg = nil, nil
	select {
	case it, ok := <-s.ahead:
		if !ok {
			return nil
		}
		if it.err != nil {
			return it.err
		}
		s.head, s.msg, s.t = it.data, it.msg, it.t
		return nil
	case <-ctx.Done():
		return fmt.Errorf("replay: %w", ctx.Err())
	}
}

func timeOf(v any) (time.Time, bool) {
	switch m := v.(type) {
	case *signals.Post:
		return m.Time, true
	case *signals.MetricSample:
		return m.Time, true
	case *signals.ReleaseEvent:
		return m.Time, true
	}
	return time.Time{}, false
}

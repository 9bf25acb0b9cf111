package detector

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aftershock/aftershock/detector/spike"
	"github.com/aftershock/aftershock/signals"
)

// The detector also watches each service's series continuously, release or
// not, with the same streaming spike logic `aftershock backtest` runs: post
// volume and complaint volume per step, and the old cohort's mean of each
// metric per step. What it finds is published as anomalies (dashboards, and
// context for whoever is on call); verdicts stay with the watch windows.

const (
	spikeStep      = 5 * time.Minute
	spikeLateness  = rollupDelay // a step is scored once late posts had time to arrive
	maxSpikeSeries = 16          // per service: posts, complaints and 14 metrics
)

type spikeSeries struct {
	det  *spike.Detector
	next int64 // unix nanoseconds of the next step to score (posts)
	// for metrics: the step being collected
	slot int64
	sum  float64
	n    int
}

func (d *Detector) spikeSeriesFor(s *service, name string) *spikeSeries {
	if s.spikes == nil {
		s.spikes = map[string]*spikeSeries{}
	}
	ss := s.spikes[name]
	if ss == nil {
		if len(s.spikes) >= maxSpikeSeries {
			return nil
		}
		ss = &spikeSeries{det: spike.New(d.cfg.Spike)}
		s.spikes[name] = ss
	}
	return ss
}

// spikePosts scores every finished step of the post and complaint counts.
func (d *Detector) spikePosts(name string, s *service, now time.Time) {
	if s.posts.first.IsZero() {
		return
	}
	posts, neg := d.spikeSeriesFor(s, "posts"), d.spikeSeriesFor(s, "negative_posts")
	if posts == nil || neg == nil {
		return
	}
	step := int64(spikeStep)
	if posts.next == 0 {
		posts.next = s.posts.first.UnixNano()/step*step + step // the first whole step
	}
	// Only steps the minute ring still holds can be counted.
	oldest := now.Add(-d.span + spikeStep).UnixNano()
	if posts.next < oldest {
		posts.next = oldest / step * step
	}
	for end := now.Add(-spikeLateness).UnixNano(); posts.next+step <= end; posts.next += step {
		from := time.Unix(0, posts.next)
		b, _ := s.posts.sum(from, from.Add(spikeStep))
		d.spikeAnomaly(name, "posts", signals.KindVolumeSpike, posts.det.Update(from, float64(b.posts)), from, float64(b.posts))
		d.spikeAnomaly(name, "negative_posts", signals.KindComplaintSpike, neg.det.Update(from, float64(b.negative)), from, float64(b.negative))
	}
}

// spikeMetric adds a sample of the old cohort to its step; a finished step
// is scored with the mean of its samples.
func (d *Detector) spikeMetric(service string, s *service, m signals.MetricSample) {
	if m.Version != "" {
		return
	}
	ss := d.spikeSeriesFor(s, "metric:"+m.Name)
	if ss == nil {
		return
	}
	slot := m.Time.UnixNano() / int64(spikeStep) * int64(spikeStep)
	switch {
	case slot < ss.slot:
		return // late for a step already scored
	case slot > ss.slot && ss.n > 0:
		at := time.Unix(0, ss.slot)
		mean := ss.sum / float64(ss.n)
		kind := signals.KindErrorRegression
		if strings.Contains(m.Name, "latency") || strings.Contains(m.Name, "duration") {
			kind = signals.KindLatencyRegression
		}
		d.spikeAnomaly(service, m.Name, kind, ss.det.Update(at, mean), at, mean)
		ss.sum, ss.n = 0, 0
	}
	ss.slot = slot
	ss.sum += m.Value
	ss.n++
}

func (d *Detector) spikeAnomaly(service, signal, kind string, r spike.Result, at time.Time, v float64) {
	if !r.Anomaly {
		return
	}
	d.pending.Anomalies = append(d.pending.Anomalies, signals.Anomaly{
		Type: signals.TypeAnomaly, Time: at.Add(spikeStep), Service: service, Kind: kind, Signal: signal,
		Observed: v, Expected: r.Expected, Strength: r.Confidence(), Start: at,
	})
}

// spikeStates encodes the spike detectors of a service for a snapshot.
func (s *service) spikeStates() (map[string][]byte, map[string]int64, error) {
	if len(s.spikes) == 0 {
		return nil, nil, nil
	}
	states, next := map[string][]byte{}, map[string]int64{}
	names := make([]string, 0, len(s.spikes))
	for n := range s.spikes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := s.spikes[n].det.MarshalBinary()
		if err != nil {
			return nil, nil, fmt.Errorf("spike state of %s: %w", n, err)
		}
		states[n] = b
		next[n] = s.spikes[n].next
	}
	return states, next, nil
}

func (d *Detector) restoreSpikes(s *service, states map[string][]byte, next map[string]int64) error {
	for n, b := range states {
		ss := d.spikeSeriesFor(s, n)
		if ss == nil {
			break
		}
		if err := ss.det.UnmarshalBinary(b); err != nil {
			// A state from another configuration starts afresh rather than
			// failing the restore of everything else.
			ss.det = spike.New(d.cfg.Spike)
			continue
		}
		ss.next = next[n]
	}
	return nil
}

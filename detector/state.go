package detector

import (
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Categories are the complaint categories the enrichment produces, in a fixed order.
var Categories = []string{"outage", "login", "payment", "crash", "slow", "bug", "data_loss", "update"}

func categoryIndex(name string) int {
	for i, c := range Categories {
		if c == name {
			return i
		}
	}
	return -1
}

// bucket counts the posts of one service in one time slot.
type bucket struct {
	slot       int64 // slot number: unix time / bucket width; 0 = empty
	posts      int32
	negative   int32
	categories [8]int32
	// release counts posts that speak about a new version or update (or a
	// feature of the release); releaseNeg those of them that are negative.
	release    int32
	releaseNeg int32
}

func (b *bucket) add(o *bucket) {
	b.posts += o.posts
	b.negative += o.negative
	b.release += o.release
	b.releaseNeg += o.releaseNeg
	for i := range b.categories {
		b.categories[i] += o.categories[i]
	}
}

// series is a fixed ring of buckets: memory is bounded by configuration.
type series struct {
	width   time.Duration
	buckets []bucket
	first   time.Time // earliest data seen, for baseline coverage
	newest  int64     // newest slot written
}

func newSeries(width time.Duration, span time.Duration) *series {
	n := int(span/width) + 2
	return &series{width: width, buckets: make([]bucket, n)}
}

func (s *series) slot(t time.Time) int64 { return t.UnixNano() / int64(s.width) }

// at returns the bucket for t, resetting a stale one; nil when t is too old
// to fit in the ring relative to newest.
func (s *series) at(t time.Time) *bucket {
	sl := s.slot(t)
	if sl <= s.newest-int64(len(s.buckets)) {
		return nil
	}
	s.newest = max(s.newest, sl)
	b := &s.buckets[int(sl%int64(len(s.buckets)))]
	if b.slot != sl {
		if b.slot > sl { // the ring has moved past t
			return nil
		}
		*b = bucket{slot: sl}
	}
	return b
}

// sum adds up buckets in [from, to).
func (s *series) sum(from, to time.Time) (total bucket, minutes float64) {
	a, z := s.slot(from), s.slot(to)
	for sl := a; sl < z; sl++ {
		b := &s.buckets[int(sl%int64(len(s.buckets)))]
		if b.slot != sl {
			continue
		}
		total.add(b)
	}
	return total, to.Sub(from).Minutes()
}

// postsBetween is the number of posts in [from, to), counting buckets that
// straddle an end in proportion to their overlap (for hourly history).
func (s *series) postsBetween(from, to time.Time) float64 {
	if !to.After(from) {
		return 0
	}
	w := int64(s.width)
	a, z := from.UnixNano()/w, (to.UnixNano()-1)/w
	var n float64
	for sl := a; sl <= z; sl++ {
		b := &s.buckets[int(sl%int64(len(s.buckets)))]
		if b.slot != sl {
			continue
		}
		lo, hi := max(sl*w, from.UnixNano()), min((sl+1)*w, to.UnixNano())
		n += float64(b.posts) * float64(hi-lo) / float64(w)
	}
	return n
}

type sample struct {
	t       time.Time
	version string
	ring    string
	value   float64
}

// service holds what the detector knows of one service.
type service struct {
	posts   *series             // minute buckets: baseline hours and open windows
	hours   *series             // hourly buckets over past weeks: hour-of-week rhythm
	metrics map[string][]sample // by metric name, time-ordered, bounded
	terms   termBaseline        // decayed term counts, for emerging terms
	asOf    time.Time           // newest post time seen
	// restoredAsOf is the snapshot time: replayed posts up to it are
	// already in hours and terms.
	restoredAsOf time.Time
	// releaseSeq is the position in the release-event log whose events
	// the state holds (rewatch.go).
	releaseSeq uint64
	negative   []signals.Example // recent negative posts, newest last, bounded
	negTimes   []time.Time
	rollups    map[rollupKey]*rollupState
	spikes     map[string]*spikeSeries // continuous spike detection per series
	sources    sourceClock             // last post per source, usual gap
	repeats    repeats                 // recent texts, so copies are not counted twice
}

type rollupKey struct {
	source string
	minute int64
}

type rollupState struct {
	r     signals.Rollup
	dirty bool
}

const (
	maxExamples         = 50
	maxSamplesPerMetric = 20000
)

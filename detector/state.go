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
	posts      int
	negative   int
	categories [8]int
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
		total.posts += b.posts
		total.negative += b.negative
		for i := range b.categories {
			total.categories[i] += b.categories[i]
		}
	}
	return total, to.Sub(from).Minutes()
}

type sample struct {
	t       time.Time
	version string
	ring    string
	value   float64
}

// service holds what the detector knows of one service.
type service struct {
	posts    *series
	metrics  map[string][]sample // by metric name, time-ordered, bounded
	negative []signals.Example   // recent negative posts, newest last, bounded
	negTimes []time.Time
	rollups  map[rollupKey]*rollupState
}

type rollupKey struct {
	source string
	minute int64
}

type rollupState struct {
	r       signals.Rollup
	dirty   bool
	emitted bool
}

const (
	maxExamples         = 50
	maxSamplesPerMetric = 20000
)

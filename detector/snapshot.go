package detector

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"sort"
	"time"
)

// The detector's state is a fold over the streams. The minutes around open
// windows are rebuilt on start-up by replaying the streams' last hours; what
// lies beyond that (weeks of hourly history, decayed term counts, and the
// open watches with their charts: rewatch.go) is saved per service as a
// snapshot and restored.

type snapshotBucket struct {
	Slot                         int64
	Posts, Negative, Rel, RelNeg int32
	Categories                   [8]int32
}

type serviceSnapshot struct {
	Version   int
	AsOf      time.Time // newest post time folded into Hours and Terms
	HourWidth time.Duration
	HourFirst time.Time
	Hours     []snapshotBucket
	Terms     map[string]float64
	TermTotal float64
	TermDecay time.Time
	Spikes    map[string][]byte
	SpikeNext map[string]int64
	// The open watches and the position in the release-event log up to
	// which they hold the events (rewatch.go). Added without a version
	// change: gob skips fields a reader does not know, so a process of the
	// previous release restores these snapshots (without the watches) and
	// this one restores theirs (the watches are then re-opened from the
	// release events, see Rebuilt).
	Watches    []watchSnapshot
	ReleaseSeq uint64
	// The sources' clock (silence.go): a restart after the sources fell
	// silent for longer than the replay still says "sources silent".
	SourceLast map[string]time.Time
	SourceAny  time.Time
	SourceGap  float64
	// Releases are the service's releases by id with their version, for
	// samples that name a release (releasecohort.go); added without a
	// version change like Watches.
	Releases []releaseSnapshot
	// SetAsideAsOf is the detector's clock (its last Advance) when saved:
	// the samples naming a release it set aside among those stored before
	// are counted and logged already, so a start-up rebuild replaying them
	// does not count them again (releasecohort.go, StoredAt). Zero in a
	// snapshot written before: they are counted once more after the
	// upgrade.
	SetAsideAsOf time.Time
}

const snapshotVersion = 1

// ServiceNames lists the services the detector holds state for, sorted.
func (d *Detector) ServiceNames() []string {
	out := make([]string, 0, len(d.services))
	for n := range d.services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// MarshalService encodes the long-term state of one service.
func (d *Detector) MarshalService(name string) ([]byte, error) {
	s := d.services[name]
	if s == nil {
		return nil, fmt.Errorf("snapshot of service %s: unknown service", name)
	}
	snap := serviceSnapshot{Version: snapshotVersion, AsOf: s.asOf, HourWidth: s.hours.width, HourFirst: s.hours.first,
		Terms: s.terms.counts, TermTotal: s.terms.total, TermDecay: s.terms.lastDecay,
		Watches: d.openWatches(name), ReleaseSeq: s.releaseSeq,
		SourceLast: s.sources.last, SourceAny: s.sources.lastAny, SourceGap: s.sources.gap,
		Releases: d.cohorts.snapshot(name), SetAsideAsOf: d.cohorts.now}
	for _, b := range s.hours.buckets {
		if b.slot != 0 {
			snap.Hours = append(snap.Hours, snapshotBucket{Slot: b.slot, Posts: b.posts, Negative: b.negative, Rel: b.release, RelNeg: b.releaseNeg, Categories: b.categories})
		}
	}
	var err error
	if snap.Spikes, snap.SpikeNext, err = s.spikeStates(); err != nil {
		return nil, fmt.Errorf("snapshot of service %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(snap); err != nil {
		return nil, fmt.Errorf("snapshot of service %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// RestoreService loads a snapshot made by MarshalService. Posts replayed
// afterwards that are not newer than the snapshot are counted only in the
// short-term minute buckets, so nothing is counted twice.
func (d *Detector) RestoreService(name string, data []byte) error {
	var snap serviceSnapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&snap); err != nil {
		return fmt.Errorf("restoring service %s: %w", name, err)
	}
	if snap.Version != snapshotVersion || snap.HourWidth != time.Hour {
		return fmt.Errorf("restoring service %s: snapshot version %d is not %d", name, snap.Version, snapshotVersion)
	}
	s := d.service(name)
	if s == nil {
		return fmt.Errorf("restoring service %s: max_services reached", name)
	}
	s.asOf, s.restoredAsOf = snap.AsOf, snap.AsOf
	s.hours.first = snap.HourFirst
	for _, b := range snap.Hours {
		t := time.Unix(0, b.Slot*int64(time.Hour))
		if hb := s.hours.at(t); hb != nil {
			*hb = bucket{slot: b.Slot, posts: b.Posts, negative: b.Negative, release: b.Rel, releaseNeg: b.RelNeg, categories: b.Categories}
		}
	}
	s.terms = termBaseline{counts: snap.Terms, total: snap.TermTotal, lastDecay: snap.TermDecay}
	if err := d.restoreSpikes(s, snap.Spikes, snap.SpikeNext); err != nil {
		return fmt.Errorf("restoring service %s: %w", name, err)
	}
	if s.terms.counts == nil {
		s.terms.counts = map[string]float64{}
	}
	s.releaseSeq = snap.ReleaseSeq
	if !snap.SourceAny.IsZero() {
		s.sources = sourceClock{last: snap.SourceLast, lastAny: snap.SourceAny, gap: snap.SourceGap}
	}
	if err := d.restoreWatches(snap.Watches, snap.AsOf); err != nil {
		return fmt.Errorf("restoring service %s: %w", name, err)
	}
	d.restoreReleases(name, snap.Releases, snap.Watches)
	d.cohorts.restoreCounted(name, snap.SetAsideAsOf)
	return nil
}

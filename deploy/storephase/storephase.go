// Package storephase tells the detector how far each watched mobile
// release's store rollout has got, so nobody has to: every Every it asks
// the store notifiers (deploy.PhaseReader: the App Store phased release's
// day, the Play staged rollout's userFraction) about each release being
// watched on a ring, and when the share changed it records an exposure
// event for the release's current ring in the registry and publishes it
// on releases.<service>, where the detector takes it as the ring's
// exposure (detector/exposure.go).
package storephase

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/aftershock/aftershock/deploy"
)

// DefaultEvery is how often the stores are read: the App Store moves a
// phased release on once a day, a staged rollout changes when a person
// raises it; an hour keeps the exposure at most an hour behind at 24
// reads of each store a day per release.
const DefaultEvery = time.Hour

// Watched is a release on a ring, with the exposure last reported for it
// (0: none).
type Watched struct {
	deploy.Release
	Exposure float64
}

// Poller reads the store phases of the watched releases.
type Poller struct {
	// Watched lists the releases being watched on a ring.
	Watched func(ctx context.Context) ([]Watched, error)
	// Readers are the store notifiers that can read a phase, by name.
	Readers map[string]deploy.PhaseReader
	// Report records and publishes an exposure event for the release's
	// current ring.
	Report func(ctx context.Context, r deploy.Release, share float64, detail string) error
	Every  time.Duration
	Log    *slog.Logger
}

// Run polls at once and then every p.Every until ctx ends; it returns nil.
func (p *Poller) Run(ctx context.Context) error {
	every := p.Every
	if every <= 0 {
		every = DefaultEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p.Poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll reads every watched release's phase once and reports the ones that
// changed; it returns how many it reported. Failures are logged and the
// release is tried again at the next poll.
func (p *Poller) Poll(ctx context.Context) int {
	ws, err := p.Watched(ctx)
	if err != nil {
		p.Log.Warn("store phases: listing watched releases", "err", err)
		return 0
	}
	names := make([]string, 0, len(p.Readers))
	for n := range p.Readers {
		names = append(names, n)
	}
	sort.Strings(names)
	reported := 0
	for _, w := range ws {
		if w.Ring == "" {
			continue
		}
		for _, name := range names {
			share, detail, handled, err := p.Readers[name].Exposure(ctx, w.Release)
			if !handled {
				continue
			}
			log := p.Log.With("release", w.ID, "ring", w.Ring, "notifier", name)
			if err != nil {
				log.Warn("store phase not read; the ring keeps its last exposure", "err", err)
				break
			}
			if share <= 0 || share > 1 || math.Abs(share-w.Exposure) < 1e-9 {
				break // not yet live, or unchanged
			}
			if err := p.Report(ctx, w.Release, share, detail); err != nil {
				log.Warn("store phase read but not reported", "exposure", share, "err", err)
				break
			}
			log.Info("store phase moved", "exposure", share, "was", w.Exposure, "detail", detail)
			reported++
			break
		}
	}
	return reported
}

package app

import (
	"context"
	"fmt"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/dispatch"
	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/deploy/storephase"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/signals"
)

// The store notifiers' other duties (docs/mobile.md): resume-store, its
// re-arm, and reading the store phase as the ring's exposure.

// collectStore keeps a notifier that can resume a store rollout or read
// its phase.
func (a *App) collectStore(n config.Notifier, notifier deploy.Notifier) {
	if r, ok := notifier.(deploy.Resumer); ok {
		if a.resumers == nil {
			a.resumers = map[string]deploy.Resumer{}
		}
		a.resumers[n.Name] = r
	}
	if r, ok := notifier.(deploy.PhaseReader); ok {
		if a.phases == nil {
			a.phases = map[string]deploy.PhaseReader{}
		}
		a.phases[n.Name] = r
		every := storephase.DefaultEvery
		switch {
		case n.AppStore != nil:
			every = n.AppStore.PhaseEvery
		case n.Play != nil:
			every = n.Play.PhaseEvery
		}
		if a.phaseEvery == 0 || every < a.phaseEvery {
			a.phaseEvery = every
		}
	}
}

// storePhase reads the store phases of the releases being watched and
// records each change as an exposure event (nil when no store notifier
// can read one).
func (a *App) storePhase(store *releases.Store) *storephase.Poller {
	if len(a.phases) == 0 {
		return nil
	}
	pub := bus.Publisher{JS: a.bus.JS}
	return &storephase.Poller{
		Readers: a.phases,
		Every:   a.phaseEvery,
		Log:     a.log.With("part", "store-phase"),
		Watched: func(ctx context.Context) ([]storephase.Watched, error) {
			var out []storephase.Watched
			for _, status := range []string{releases.StatusWatching, releases.StatusPromoted} {
				rs, err := store.List(ctx, releases.Filter{Status: status}, 0)
				if err != nil {
					return nil, err
				}
				for _, r := range rs {
					if !a.Owns(r.Service) {
						continue // the process that judges the service reads its stores
					}
					out = append(out, storephase.Watched{Release: deploy.Release{ID: r.ID, Service: r.Service, Version: r.Version, Ring: r.Ring}, Exposure: r.Exposure})
				}
			}
			return out, nil
		},
		Report: func(ctx context.Context, r deploy.Release, share float64, _ string) error {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, ev, _, err := store.Apply(ctx, signals.ReleaseEvent{Type: signals.TypeRelease, Time: a.opt.Clock().UTC(),
				Release: r.ID, Ring: r.Ring, Event: signals.EventExposure, Exposure: share})
			if err != nil {
				return err
			}
			return pub.Release(ctx, ev, releases.MsgID(ev))
		},
	}
}

// rearm is resume-store's second half. After a person resumed a paused
// store rollout, the release's current ring is watched again:
//
//  1. its halt is re-armed (dispatch.Rearm): the next halt is sent again;
//  2. the registry records the halt the store notifier made (halted on the
//     ring, unless the release is halted already) and the resume (started
//     on the same ring, by the sre-admin who asked), and both go out on
//     releases.<service>, so the detector, which closed the ring's watch
//     when it halted it, opens a new one from now.
func (a *App) rearm(ctx context.Context, r deploy.Release, by string) (string, error) {
	if r.Ring == "" || a.halts == nil {
		return "", nil
	}
	gen, err := dispatch.Rearm(ctx, a.halts, r.ID, r.Ring, by, a.opt.Clock())
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("ring %s: its next halt is sent again (resume %d)", r.Ring, gen)
	if a.releases == nil {
		return msg, nil
	}
	rel, err := a.releases.Get(ctx, r.ID)
	if err != nil {
		return msg, fmt.Errorf("restarting the watch of %s: %w", r.ID, err)
	}
	if rel.Ring != r.Ring || rel.Finished() {
		return msg, nil // moved on meanwhile: nothing to restart
	}
	caller := releases.Caller{Name: by, MayResume: true}
	pub := bus.Publisher{JS: a.bus.JS}
	at := a.opt.Clock().UTC()
	events := []string{signals.EventStarted}
	if rel.Status != releases.StatusHalted {
		events = []string{signals.EventHalted, signals.EventStarted}
	}
	for _, e := range events {
		_, ev, _, err := a.releases.ApplyAs(ctx, signals.ReleaseEvent{Type: signals.TypeRelease, Time: at, Release: r.ID, Ring: r.Ring, Event: e}, caller)
		if err != nil {
			return msg, fmt.Errorf("restarting the watch of %s on %s (%s): %w", r.ID, r.Ring, e, err)
		}
		if err := pub.Release(ctx, ev, releases.MsgID(ev)); err != nil {
			return msg, fmt.Errorf("publishing %s of %s on %s: %w", e, r.ID, r.Ring, err)
		}
	}
	return msg + "; watched again from " + at.Format("15:04:05Z"), nil
}

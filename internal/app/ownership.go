package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/internal/ownership"
	"github.com/aftershock/aftershock/internal/pipeline"
)

// sourceLease names a source's lease (services use their bare name).
const sourceLease = "source:"

// openOwnership returns the lease manager when this process shares a
// NATS cluster with others (nil: the static split or a lone process),
// after its first round so the detector starts with its share.
func (a *App) openOwnership(ctx context.Context) (*ownership.Manager, error) {
	if !a.cfg.Cluster.Leased(a.cfg.NATS) {
		return nil, nil
	}
	var names []string
	for _, s := range a.cfg.Services {
		names = append(names, s.Name)
	}
	for _, s := range a.cfg.Sources {
		names = append(names, sourceLease+s.Name)
	}
	own, err := ownership.Open(ctx, a.bus.JS, ownership.Config{ID: a.cfg.Cluster.ID, TTL: a.cfg.Cluster.LeaseTTL, Replicas: a.cfg.NATS.Replicas, Services: names}, a.log.With("part", "ownership"), a.reg)
	if err != nil {
		return nil, err
	}
	if err := own.Round(ctx); err != nil {
		a.log.Warn("first lease round", "err", err)
	}
	a.log.Info("sharing work through leases", "id", own.ID(), "members", len(own.Members()), "owned", len(own.Owned()))
	return own, nil
}

// Owns reports whether this process judges service now.
func (a *App) Owns(service string) bool {
	if a.own != nil {
		return a.own.Owns(service)
	}
	return a.cfg.Cluster.Owns(service)
}

// runLeasedSource runs one source while this process holds its lease.
func (a *App) runLeasedSource(ctx context.Context, own *ownership.Manager, r *crawlers.Runner, inst *crawlers.Instance, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if own.Owns(sourceLease + inst.Spec.Name) {
			sctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(sctx, inst) }()
			for own.Owns(sourceLease+inst.Spec.Name) && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-t.C:
				case err := <-done:
					cancel()
					return err
				}
			}
			cancel()
			if err := <-done; err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// runDetector runs the detector pipeline; with leases it rebuilds it when
// this process gains a service (the new service's long-term state comes
// from the baselines KV, its open windows from the stream replay), and
// gives its leases up only after the last snapshot is saved.
func (a *App) runDetector(ctx context.Context, own *ownership.Manager, build func(prometheus.Registerer, func(string) bool) *pipeline.Pipeline) error {
	var gained <-chan struct{}
	if own != nil {
		mctx, cancel := context.WithCancel(context.Background())
		mdone := make(chan error, 1)
		go func() { mdone <- own.Run(mctx) }()
		defer func() {
			cancel()
			<-mdone
		}()
		gained = own.Gained()
	}
	reg := reregisterer{a.reg}
	for {
		// With leases the detector judges (and saves) only the services
		// held since it was built: one gained later — or lost and taken
		// back — has state here that stopped when it left, and saving it
		// would overwrite the baselines its last owner saved. A gain
		// rebuilds the detector instead.
		owns := a.cfg.Cluster.Owns
		var epoch uint64
		if own != nil {
			epoch = own.Gains()
			owns = func(s string) bool { return own.OwnsSince(s, epoch) }
		}
		pipe := build(reg, owns)
		// Not ready (/readyz 503) until the rebuild has caught up.
		a.health.waitFor("detector", detectorRebuilding, pipe.Ready)
		since := time.Now().Add(-(a.cfg.Detector.Baseline + maxWindow(a.cfg.Detector)))
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- pipe.Run(pctx, since) }()
		for restart := false; !restart; {
			select {
			case err := <-done:
				cancel()
				if err == nil || ctx.Err() != nil {
					return err
				}
				if own == nil {
					return err
				}
				// On a cluster a broker fail-over can refuse the consumers
				// for a moment: build again rather than stop judging.
				a.log.Error("detector stopped; rebuilding", "err", err)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
				}
				restart = true
				continue
			case <-gained:
				restart = own.Gains() != epoch
			}
		}
		a.log.Info("services gained: rebuilding the detector from baselines and the streams", "owned", ownedServices(own))
		a.health.waitFor("detector", detectorRebuilding, notYet)
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
}

func ownedServices(own *ownership.Manager) []string {
	var out []string
	if own == nil {
		return nil
	}
	for _, s := range own.Owned() {
		if !strings.HasPrefix(s, sourceLease) {
			out = append(out, s)
		}
	}
	return out
}

// reregisterer lets a rebuilt pipeline register its metrics again in
// place of the previous one's.
type reregisterer struct{ prometheus.Registerer }

func (r reregisterer) Register(c prometheus.Collector) error {
	r.Registerer.Unregister(c)
	return r.Registerer.Register(c)
}

func (r reregisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

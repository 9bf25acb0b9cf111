package releases

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/inbound"
	"github.com/aftershock/aftershock/signals"
)

// maxCASAttempts bounds the read-modify-write retries of one change.
const maxCASAttempts = 20

// Store keeps release state in a JetStream KV bucket (bus.BucketReleases),
// one key per release id. Every change is a compare-and-set on the key's
// revision, retried on conflict, so concurrent writers (several API
// requests, Follow, several processes) never lose each other's events.
type Store struct {
	kv    jetstream.KeyValue
	log   *slog.Logger
	now   func() time.Time
	rules *inbound.Rules
}

// WithRules makes the store refuse releases and events the configuration
// rules out (unconfigured services and rings, times beyond the allowed
// skew) and order rings as configured. It returns s.
func (s *Store) WithRules(r *inbound.Rules) *Store {
	s.rules = r
	return s
}

// Caller is who asks for a change, as far as the lifecycle cares.
type Caller struct {
	// Name is recorded with a resume (a token's name).
	Name string
	// MayResume: the caller may resume a halted release (sre-admin).
	MayResume bool
}

func (s *Store) policy(c Caller) Policy {
	p := Policy{MayResume: c.MayResume, By: c.Name}
	if s.rules != nil && len(s.rules.Rings) > 0 {
		p.Order = s.rules.RingIndex
	}
	return p
}

// check applies the configuration rules to an event (service only when
// the event may create the release).
func (s *Store) check(ev signals.ReleaseEvent, create bool) error {
	var errs []string
	add := func(err error) {
		if err != nil {
			errs = append(errs, strings.TrimPrefix(err.Error(), signals.ErrInvalid.Error()+": "))
		}
	}
	if create {
		add(s.rules.Service(ev.Service))
	}
	if ev.Ring != "" {
		add(s.rules.Ring(ev.Ring))
	}
	add(s.rules.Time("time", ev.Time))
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// NewStore returns a store on the "releases" bucket, e.g.
// NewStore(kv, logger, time.Now) with kv from bus.KV(ctx, bus.BucketReleases).
func NewStore(kv jetstream.KeyValue, logger *slog.Logger, now func() time.Time) *Store {
	return &Store{kv: kv, log: logger, now: now}
}

// Filter selects releases in List; empty fields match everything.
type Filter struct {
	Service string
	Status  string
}

func (f Filter) match(r Release) bool {
	return (f.Service == "" || r.Service == f.Service) && (f.Status == "" || r.Status == f.Status)
}

// Get returns the release with that id, or an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Release, error) {
	r, _, err := s.get(ctx, id)
	return r, err
}

func (s *Store) get(ctx context.Context, id string) (Release, uint64, error) {
	if !ValidID(id) {
		return Release{}, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Release{}, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Release{}, 0, fmt.Errorf("reading release %s: %w", id, err)
	}
	var r Release
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Release{}, 0, fmt.Errorf("decoding release %s: %w", id, err)
	}
	return r, e.Revision(), nil
}

// List returns the releases matching f, most recently created first, at
// most limit of them (all when limit <= 0).
func (s *Store) List(ctx context.Context, f Filter, limit int) ([]Release, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	byID := map[string]Release{}
	err = bus.Snapshot(ctx, w, func(e jetstream.KeyValueEntry) {
		var r Release
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			s.log.Warn("skipping undecodable release", "key", e.Key(), "err", err)
			return
		}
		if f.match(r) {
			byID[e.Key()] = r
		} else {
			delete(byID, e.Key()) // a later revision may no longer match
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing releases: %w", err)
	}
	out := make([]Release, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Release) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Create registers the release a start request describes (with its started
// event when q.Ring is set; at is that event's time). If the release
// already exists and q matches it, Create returns it with created false;
// if it exists with other data the error wraps ErrConflict.
func (s *Store) Create(ctx context.Context, q StartRequest, at time.Time) (r Release, created bool, err error) {
	if err := q.Validate(); err != nil {
		return Release{}, false, err
	}
	if err := s.check(signals.ReleaseEvent{Service: q.Service, Ring: q.Ring, Time: at}, true); err != nil {
		return Release{}, false, err
	}
	r = newRelease(q, at, s.now().UTC())
	data, err := json.Marshal(r)
	if err != nil {
		return Release{}, false, fmt.Errorf("encoding release %s: %w", r.ID, err)
	}
	_, err = s.kv.Create(ctx, r.ID, data)
	if err == nil {
		return r, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return Release{}, false, fmt.Errorf("creating release %s: %w", r.ID, err)
	}
	old, err := s.Get(ctx, q.Release)
	if err != nil {
		return Release{}, false, err
	}
	if !old.sameStart(q) {
		return old, false, fmt.Errorf("%w: release %s already exists with other data", ErrConflict, q.Release)
	}
	// A retried start is answered with the state only while the release is
	// still where that start put it; after it moved on, starting it again
	// would be a step back.
	if q.Ring != "" && (old.Status != StatusWatching || old.Ring != q.Ring) {
		return old, false, fmt.Errorf("%w: release %s is %s and cannot start on %s again (see docs/lifecycle.md)", ErrConflict, q.Release, old.where(), q.Ring)
	}
	return old, false, nil
}

// Apply records one event of an existing release (ev.Release) and returns
// the new state and the event as recorded (ring and metadata filled in from
// the release). dup reports that the event was already recorded; the state
// is then unchanged and recorded is the earlier copy. Errors wrap
// ErrNotFound, ErrInvalid or ErrConflict when the event is refused.
func (s *Store) Apply(ctx context.Context, ev signals.ReleaseEvent) (r Release, recorded signals.ReleaseEvent, dup bool, err error) {
	return s.apply(ctx, ev, false, Caller{})
}

// ApplyAs is Apply on behalf of caller: only a caller that MayResume can
// resume a halted release (ErrForbidden otherwise), and its name is kept
// in the release's Resumes.
func (s *Store) ApplyAs(ctx context.Context, ev signals.ReleaseEvent, caller Caller) (r Release, recorded signals.ReleaseEvent, dup bool, err error) {
	return s.apply(ctx, ev, false, caller)
}

// apply is Apply; with create set, an unknown release is first created from
// the event's own fields (for events published straight to NATS).
func (s *Store) apply(ctx context.Context, ev signals.ReleaseEvent, create bool, caller Caller) (Release, signals.ReleaseEvent, bool, error) {
	if !signals.ValidEvent(ev.Event) {
		return Release{}, ev, false, fmt.Errorf("%w: event: unknown event %q", ErrInvalid, ev.Event)
	}
	if ev.Time.IsZero() {
		return Release{}, ev, false, fmt.Errorf("%w: time: required", ErrInvalid)
	}
	if !ValidID(ev.Release) {
		return Release{}, ev, false, fmt.Errorf("%w: release: %q is not a valid id", ErrInvalid, ev.Release)
	}
	if create && !bus.ValidToken(ev.Service) {
		return Release{}, ev, false, fmt.Errorf("%w: service: %q is not a valid name", ErrInvalid, ev.Service)
	}
	if err := s.check(ev, create); err != nil {
		return Release{}, ev, false, err
	}
	for range maxCASAttempts {
		r, rev, err := s.get(ctx, ev.Release)
		if errors.Is(err, ErrNotFound) && create {
			r, err = s.fromEvent(ev), nil
		}
		if err != nil {
			return Release{}, ev, false, err
		}
		recorded, dup, err := r.apply(ev, s.policy(caller))
		if err != nil || dup {
			return r, recorded, dup, err
		}
		r.Updated = s.now().UTC()
		data, err := json.Marshal(r)
		if err != nil {
			return Release{}, ev, false, fmt.Errorf("encoding release %s: %w", r.ID, err)
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, r.ID, data)
		} else {
			_, err = s.kv.Update(ctx, r.ID, data, rev)
		}
		switch {
		case err == nil:
			return r, recorded, false, nil
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
			continue // someone else changed it; read again and re-check
		default:
			return Release{}, ev, false, fmt.Errorf("saving release %s: %w", r.ID, err)
		}
	}
	return Release{}, ev, false, fmt.Errorf("saving release %s: still conflicting after %d attempts", ev.Release, maxCASAttempts)
}

// fromEvent starts the state of a release first seen as an event on NATS.
func (s *Store) fromEvent(ev signals.ReleaseEvent) Release {
	now := s.now().UTC()
	return Release{
		ID:       ev.Release,
		Service:  ev.Service,
		Version:  ev.Version,
		Team:     ev.Team,
		Authors:  slices.Clone(ev.Authors),
		Features: slices.Clone(ev.Features),
		Status:   StatusPending,
		Created:  now,
		Updated:  now,
	}
}

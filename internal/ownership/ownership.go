// Package ownership shares services between the Aftershock processes on one
// NATS cluster, using JetStream itself as the source of truth: a key-value
// bucket whose entries expire unless renewed (bucket max age = lease time).
//
// Every process writes a membership key m.<id> each round. For every
// service it knows, the live member that ranks first by rendezvous hashing
// is the preferred owner; the lease key s.<service> says who owns it now.
// A lease is taken with Create (fails if someone holds it), renewed with
// Update on its revision (compare-and-set) and given up with a Delete on its
// revision when a preferred member is live. A process that dies stops
// renewing: its membership and leases age out of the bucket after one lease
// time, and the others take its services on their next round. Preference
// spreads the work; the lease is what counts.
package ownership

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/internal/bus"
)

// Bucket is the lease bucket.
const Bucket = "owners"

// Config tunes the leases.
type Config struct {
	// ID names this process among its peers (default host-pid-start).
	ID string
	// TTL is the lease time: a process that stops renewing loses its
	// services after at most this long (default 10s).
	TTL time.Duration
	// Every is how often leases are renewed and re-balanced (default TTL/4).
	Every time.Duration
	// Replicas of the lease bucket (match the streams').
	Replicas int
	// Services are known from the start (the configured ones); services
	// first seen in the streams are added as Owns is asked about them.
	Services []string
}

func (c *Config) defaults() {
	if c.TTL <= 0 {
		c.TTL = 10 * time.Second
	}
	if c.Every <= 0 || c.Every > c.TTL/2 {
		c.Every = c.TTL / 4
	}
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strconv.FormatInt(time.Now().UnixNano()%1e9, 36))
	}
}

// Manager holds this process's leases.
type Manager struct {
	kv  jetstream.KeyValue
	cfg Config
	id  string // KeyToken(cfg.ID)
	log *slog.Logger

	// owned maps each known service to the time (unix nanos) until which
	// this process's lease on it is certainly valid (0: not held).
	owned atomic.Pointer[map[string]int64]
	// since maps each held service to the value of Gains when this hold
	// began (a lease lost and taken again starts a new hold).
	since atomic.Pointer[map[string]uint64]

	mu      sync.Mutex
	known   map[string]bool
	missing map[string]int // rounds a service has had no lease
	members []string
	changed chan struct{}
	gains   atomic.Uint64

	mOwned   prometheus.Gauge
	mMembers prometheus.Gauge
	mMoves   *prometheus.CounterVec
}

// Open declares the lease bucket and returns a manager (not yet running).
func Open(ctx context.Context, js jetstream.JetStream, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Manager, error) {
	cfg.defaults()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: Bucket, History: 1, TTL: cfg.TTL, Storage: jetstream.FileStorage, Replicas: max(cfg.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("declaring kv bucket %s: %w", Bucket, err)
	}
	m := &Manager{kv: kv, cfg: cfg, id: bus.KeyToken(cfg.ID), log: log, known: map[string]bool{}, missing: map[string]int{}, changed: make(chan struct{}, 1)}
	for _, s := range cfg.Services {
		m.known[s] = true
	}
	empty := map[string]int64{}
	m.owned.Store(&empty)
	noSince := map[string]uint64{}
	m.since.Store(&noSince)
	m.mOwned = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aftershock_owned_services", Help: "Services whose lease this process holds."})
	m.mMembers = prometheus.NewGauge(prometheus.GaugeOpts{Name: "aftershock_cluster_members", Help: "Live Aftershock processes seen in the lease bucket."})
	m.mMoves = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "aftershock_ownership_changes_total", Help: "Leases this process took or gave up, by change."}, []string{"change"})
	if reg != nil {
		reg.MustRegister(m.mOwned, m.mMembers, m.mMoves)
	}
	return m, nil
}

// ID is this process's member id.
func (m *Manager) ID() string { return m.cfg.ID }

// Owns reports whether this process holds the lease of service now. A
// service it has not heard of is remembered, and leased on the next round.
func (m *Manager) Owns(service string) bool {
	owned := *m.owned.Load()
	if until, ok := owned[service]; ok {
		return time.Now().UnixNano() < until
	}
	m.mu.Lock()
	m.known[service] = true
	m.mu.Unlock()
	return false
}

// OwnsSince reports whether this process holds the lease of service now,
// in a hold that began by the time Gains was epoch. State built from the
// streams while the service belonged to another process is stale: a
// detector built at epoch must neither judge nor save a service gained
// (or lost and gained again) after it — it is rebuilt instead.
func (m *Manager) OwnsSince(service string, epoch uint64) bool {
	if !m.Owns(service) {
		return false
	}
	g, ok := (*m.since.Load())[service]
	return ok && g <= epoch
}

// Owned lists the services this process holds, sorted.
func (m *Manager) Owned() []string {
	var out []string
	now := time.Now().UnixNano()
	for s, until := range *m.owned.Load() {
		if now < until {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// Members lists the live members seen in the last round, sorted.
func (m *Manager) Members() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.members)
}

// Gained receives a value after a round in which this process took a
// lease it did not hold: the caller rebuilds that service's state.
func (m *Manager) Gained() <-chan struct{} { return m.changed }

// Gains counts the leases taken so far: a caller that built its state when
// Gains was g must rebuild once Gains differs from g (a lease lost and taken
// again in between leaves a gap in what it folded).
func (m *Manager) Gains() uint64 { return m.gains.Load() }

// Run renews and re-balances every cfg.Every until ctx ends, then gives up
// its leases so the others take them at once.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.release()
			return nil
		case <-t.C:
			if err := m.Round(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("renewing service leases", "err", err)
			}
		}
	}
}

// release deletes this process's leases and membership (best effort).
func (m *Manager) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	empty := map[string]int64{}
	m.owned.Store(&empty)
	entries, err := m.snapshot(ctx)
	if err != nil {
		return
	}
	for k, e := range entries {
		if strings.HasPrefix(k, "s.") && string(e.Value()) == m.cfg.ID {
			_ = m.kv.Delete(ctx, k, jetstream.LastRevision(e.Revision()))
		}
	}
	_ = m.kv.Delete(ctx, "m."+m.id)
}

func (m *Manager) snapshot(ctx context.Context) (map[string]jetstream.KeyValueEntry, error) {
	w, err := m.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("reading leases: %w", err)
	}
	out := map[string]jetstream.KeyValueEntry{}
	if err := bus.Snapshot(ctx, w, func(e jetstream.KeyValueEntry) { out[e.Key()] = e }); err != nil {
		return nil, fmt.Errorf("reading leases: %w", err)
	}
	return out, nil
}

// Round renews membership and leases once and takes or gives up leases.
// The first round is run by the caller before the detector starts.
func (m *Manager) Round(ctx context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL/2)
	defer cancel()
	if _, err := m.kv.Put(ctx, "m."+m.id, []byte(m.cfg.ID)); err != nil {
		return fmt.Errorf("renewing membership: %w", err)
	}
	entries, err := m.snapshot(ctx)
	if err != nil {
		return err
	}
	var members []string
	leases := map[string]jetstream.KeyValueEntry{}
	for k, e := range entries {
		if id, ok := strings.CutPrefix(k, "m."); ok {
			members = append(members, id)
		} else if svc, ok := strings.CutPrefix(k, "s."); ok {
			leases[unToken(svc)] = e
		}
	}
	slices.Sort(members)

	m.mu.Lock()
	for s := range leases {
		m.known[s] = true
	}
	services := make([]string, 0, len(m.known))
	for s := range m.known {
		services = append(services, s)
	}
	m.members = members
	m.mu.Unlock()
	slices.Sort(services)

	prev := *m.owned.Load()
	prevSince := *m.since.Load()
	since := make(map[string]uint64, len(prevSince))
	now := start.UnixNano()
	// A lease written in this round is valid until it could expire on
	// the server (less a margin for clocks and the round's own time).
	until := start.Add(m.cfg.TTL - m.cfg.Every/2).UnixNano()
	owned := make(map[string]int64, len(services))
	var errs []error
	gained := false
	for _, s := range services {
		key := "s." + bus.KeyToken(s)
		pref := Preferred(s, members)
		e, held := leases[s]
		switch {
		case held && string(e.Value()) == m.cfg.ID:
			if pref != m.id && slices.Contains(members, pref) {
				// A live member is preferred: hand it over.
				if err := m.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
					errs = append(errs, fmt.Errorf("handing over %s: %w", s, err))
					owned[s] = prev[s]
					continue
				}
				owned[s] = 0
				m.mMoves.WithLabelValues("handed_over").Inc()
				m.log.Info("handed over service", "service", s, "to", pref)
				continue
			}
			if _, err := m.kv.Update(ctx, key, []byte(m.cfg.ID), e.Revision()); err != nil {
				errs = append(errs, fmt.Errorf("renewing lease of %s: %w", s, err))
				if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
					owned[s] = prev[s] // a slow server: the last renewal still counts
				}
				continue
			}
			owned[s] = until
		case held:
			delete(m.missing, s)
		default:
			// Nobody holds it: the preferred member takes it; after two
			// rounds without a taker anyone may (Create lets one win).
			if pref != m.id && m.missing[s] < 2 {
				m.missing[s]++
				continue
			}
			if _, err := m.kv.Create(ctx, key, []byte(m.cfg.ID)); err != nil {
				if !errors.Is(err, jetstream.ErrKeyExists) {
					errs = append(errs, fmt.Errorf("taking lease of %s: %w", s, err))
				}
				continue
			}
			delete(m.missing, s)
			owned[s] = until
			m.mMoves.WithLabelValues("taken").Inc()
			m.log.Info("took service", "service", s, "members", len(members))
		}
		if _, ok := owned[s]; !ok {
			owned[s] = 0
		}
		if owned[s] > now && prev[s] <= now {
			gained = true
			since[s] = m.gains.Add(1)
		}
	}
	for s, u := range owned {
		if _, ok := since[s]; !ok && u > now {
			since[s] = prevSince[s] // held on from an earlier round
		}
	}
	// since first: a reader that sees the new lease sees when it began.
	m.since.Store(&since)
	m.owned.Store(&owned)
	n := 0
	for _, u := range owned {
		if u > now {
			n++
		}
	}
	m.mOwned.Set(float64(n))
	m.mMembers.Set(float64(len(members)))
	if gained {
		select {
		case m.changed <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

// Preferred is the member that ranks first for service by rendezvous
// (highest random weight) hashing: adding or removing a member moves only
// the services that rank it first.
func Preferred(service string, members []string) string {
	best, bestW := "", uint64(0)
	for _, id := range members {
		h := fnv.New64a()
		_, _ = h.Write([]byte(id))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(service))
		if w := mix(h.Sum64()); best == "" || w > bestW {
			best, bestW = id, w
		}
	}
	return best
}

// mix is a 64-bit finaliser (splitmix64) so near keys spread well.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unToken reverses bus.KeyToken.
func unToken(s string) string {
	if s == "=" {
		return ""
	}
	if !strings.Contains(s, "=") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '=' && i+2 < len(s)+0 && i+2 <= len(s)-1 {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/internal/sink"
)

// health collects what the daemon's parts say about themselves. A part in
// trouble makes the daemon "degraded": it keeps running (the judge goes on
// without its dashboards), /readyz says so with the part's detail, and
// aftershock_degraded{part} is 1. A part the daemon waits for (the detector
// while it rebuilds) makes it "not_ready": /readyz answers 503.
type health struct {
	mu    sync.Mutex
	parts map[string]partState
	waits map[string]waitState
	gauge *prometheus.GaugeVec
	now   func() time.Time
}

// waitState is a part the process waits for before it is ready.
type waitState struct {
	reason string
	since  time.Time   // when the part stopped being ready
	done   func() bool // true once the part is ready
}

// detectorRebuilding is why /readyz says not_ready while the detector
// restores its snapshots and replays the streams (start-up, or a rebuild
// after this process gained a service): it judges nothing before it has
// caught up.
const detectorRebuilding = "rebuilding: replaying the streams"

func notYet() bool { return false }

type partState struct {
	err   error
	since time.Time
}

func newHealth(reg prometheus.Registerer, now func() time.Time) *health {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "aftershock_degraded",
		Help: "1 while a part of the daemon is in trouble (sink: writes to InfluxDB failing); the daemon keeps judging.",
	}, []string{"part"})
	reg.MustRegister(g)
	return &health{parts: map[string]partState{}, waits: map[string]waitState{}, gauge: g, now: now}
}

// waitFor makes the process not ready, saying part and reason, until
// done() is true. Called again for a part that is not ready yet (a
// detector rebuilt again), the part keeps the time it stopped being ready.
func (h *health) waitFor(part, reason string, done func() bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	since := h.now()
	if old, ok := h.waits[part]; ok && !old.done() {
		since = old.since
	}
	h.waits[part] = waitState{reason: reason, since: since, done: done}
}

// watch declares a part, healthy until it reports otherwise.
func (h *health) watch(part string) {
	h.report(part, nil)
}

// report records the outcome of a part's last attempt.
func (h *health) report(part string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, seen := h.parts[part]
	if seen && (old.err == nil) == (err == nil) {
		if err != nil {
			old.err = err // the latest cause, since the first failure
			h.parts[part] = old
		}
		return
	}
	h.parts[part] = partState{err: err, since: h.now()}
	v := 0.0
	if err != nil {
		v = 1
	}
	h.gauge.WithLabelValues(part).Set(v)
}

// Readiness is the body of GET /readyz.
type Readiness struct {
	// Status is ready, degraded (a part is in trouble; the daemon still
	// judges) or not_ready (no connection to NATS, or the detector still
	// rebuilding: it judges nothing yet).
	Status string `json:"status"`
	// Reason says why the process is not ready, e.g. "detector
	// rebuilding: replaying the streams".
	Reason string                `json:"reason,omitempty"`
	Parts  map[string]PartHealth `json:"parts"`
}

// PartHealth is one part's state.
type PartHealth struct {
	OK     bool      `json:"ok"`
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

func (h *health) readiness(bus error) (Readiness, int) {
	r := Readiness{Status: "ready", Parts: map[string]PartHealth{"nats": {OK: true}}}
	h.mu.Lock()
	names := make([]string, 0, len(h.parts))
	for name := range h.parts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := h.parts[name]
		ph := PartHealth{OK: p.err == nil, Since: p.since}
		if p.err != nil {
			ph.Detail = p.err.Error()
			r.Status = "degraded"
		}
		r.Parts[name] = ph
	}
	var why []string
	if bus != nil {
		r.Parts["nats"] = PartHealth{Detail: bus.Error()}
		why = append(why, bus.Error())
	}
	names = names[:0]
	for name := range h.waits {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := h.waits[name]
		if w.done() {
			r.Parts[name] = PartHealth{OK: true}
			continue
		}
		r.Parts[name] = PartHealth{Detail: w.reason, Since: w.since}
		why = append(why, name+" "+w.reason)
	}
	h.mu.Unlock()
	if len(why) > 0 {
		r.Status, r.Reason = "not_ready", strings.Join(why, "; ")
		return r, http.StatusServiceUnavailable
	}
	return r, http.StatusOK
}

func (h *health) serveReady(busHealthy func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		r, code := h.readiness(busHealthy())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	}
}

// watchedSink reports every write's outcome as the part "sink". A batch
// the database refused (sink.ErrRejected) means it is up: healthy.
type watchedSink struct {
	sink.Sink
	h *health
}

func (s watchedSink) Write(ctx context.Context, batch []any) error {
	err := s.Sink.Write(ctx, batch)
	switch {
	case err == nil, errors.Is(err, sink.ErrRejected):
		s.h.report("sink", nil)
	case ctx.Err() == nil:
		s.h.report("sink", err)
	}
	return err
}

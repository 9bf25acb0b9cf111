package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/internal/sink"
)

// health collects what the daemon's parts say about themselves. A part in
// trouble makes the daemon "degraded": it keeps running (the judge goes on
// without its dashboards), /readyz says so with the part's detail, and
// aftershock_degraded{part} is 1.
type health struct {
	mu    sync.Mutex
	parts map[string]partState
	gauge *prometheus.GaugeVec
	now   func() time.Time
}

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
	return &health{parts: map[string]partState{}, gauge: g, now: now}
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
	// judges) or not_ready (no connection to NATS).
	Status string                `json:"status"`
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
	h.mu.Unlock()
	if bus != nil {
		r.Status = "not_ready"
		r.Parts["nats"] = PartHealth{Detail: bus.Error()}
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

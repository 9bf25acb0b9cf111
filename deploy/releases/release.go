// Package releases is the release registry: it keeps the state of every
// release in the JetStream KV bucket "releases", serves the deploy API
// (POST /v1/releases, POST /v1/releases/{id}/events, GET /v1/releases…),
// publishes every accepted event on NATS releases.<service>, and follows
// that stream so events published there directly by deploy systems end in
// the same state.
package releases

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Release statuses. A release is pending until it starts on a ring; after
// that its status follows its last event.
const (
	StatusPending      = "pending" // registered without a ring; nothing to watch yet
	StatusWatching     = "watching"
	StatusPromoted     = "promoted"
	StatusCompleted    = "completed"
	StatusHalted       = "halted"
	StatusRolledBack   = "rolled_back"
	StatusFixedForward = "fixed_forward"
)

// MaxEvents is how many of a release's most recent events are kept.
const MaxEvents = 100

// Limits on the lists and names of a release.
const (
	maxAuthors  = 32
	maxFeatures = 64
	maxNameLen  = 128
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotFound: no release with that id.
	ErrNotFound = errors.New("release not found")
	// ErrConflict: the request contradicts the release's state (it exists
	// with other data, it is finished, or the transition is not allowed).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the request itself is malformed.
	ErrInvalid = errors.New("invalid request")
	// ErrForbidden: the caller's token may not make this change (resuming a
	// halted release needs sre-admin).
	ErrForbidden = errors.New("forbidden")
)

// Release is the state of one release.
type Release struct {
	ID       string   `json:"id"`
	Service  string   `json:"service"`
	Version  string   `json:"version,omitempty"`
	Team     string   `json:"team,omitempty"`
	Authors  []string `json:"authors,omitempty"`
	Features []string `json:"features,omitempty"`
	// Ring is the ring the release is currently on ("" while pending).
	Ring   string `json:"ring,omitempty"`
	Status string `json:"status"`
	// Exposure is the share of users the current ring reaches, as last
	// reported (an exposure event, or started/promoted with one); 0 when
	// never reported (the ring's configured exposure applies).
	Exposure float64 `json:"exposure,omitempty"`
	// Events are the last MaxEvents events, oldest first, in the order they
	// were accepted. They carry time, ring and event; the version, team,
	// authors and features are the release's own.
	Events []signals.ReleaseEvent `json:"events,omitempty"`
	// Resumes records every resume of a halted release: when, how and by
	// whom (an sre-admin token's name).
	Resumes []Resume  `json:"resumes,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Finished reports whether the release accepts no more events
// (completed, rolled back or fixed forward).
func (r Release) Finished() bool {
	return r.Status == StatusCompleted || r.Status == StatusRolledBack || r.Status == StatusFixedForward
}

// ValidStatus reports whether s is a known release status.
func ValidStatus(s string) bool {
	switch s {
	case StatusPending, StatusWatching, StatusPromoted, StatusCompleted,
		StatusHalted, StatusRolledBack, StatusFixedForward:
		return true
	}
	return false
}

var (
	idRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)
)

// ValidID reports whether id can be a release id: letters, digits, '.',
// '_' and '-', starting with a letter or digit, at most 128 bytes, and no
// empty dot-separated part (ids are KV keys).
func ValidID(id string) bool {
	return idRE.MatchString(id) && !strings.Contains(id, "..") && !strings.HasSuffix(id, ".")
}

// MsgID is the JetStream de-duplication id of a release event:
// <release>:<event>:<ring>:<unix nanos of the event time>.
func MsgID(ev signals.ReleaseEvent) string {
	return fmt.Sprintf("%s:%s:%s:%d", ev.Release, ev.Event, ev.Ring, ev.Time.UnixNano())
}

// StartRequest is the body of POST /v1/releases.
type StartRequest struct {
	Release  string   `json:"release"`
	Service  string   `json:"service"`
	Version  string   `json:"version"`
	Team     string   `json:"team,omitempty"`
	Authors  []string `json:"authors,omitempty"`
	Features []string `json:"features,omitempty"`
	// Ring, when set, records a started event on that ring.
	Ring string `json:"ring,omitempty"`
	// Time of the started event; zero means now.
	Time time.Time `json:"time,omitzero"`
}

// Validate checks the request; its message names every bad field.
func (q StartRequest) Validate() error {
	var errs []string
	switch {
	case q.Release == "":
		errs = append(errs, "release: required")
	case !ValidID(q.Release):
		errs = append(errs, fmt.Sprintf("release: %q is not a valid id (letters, digits, '.', '_', '-'; at most 128)", q.Release))
	}
	switch {
	case q.Service == "":
		errs = append(errs, "service: required")
	case !bus.ValidToken(q.Service):
		errs = append(errs, fmt.Sprintf("service: %q is not a valid name (letters, digits, '_', '-'; at most 128)", q.Service))
	}
	switch {
	case q.Version == "":
		errs = append(errs, "version: required")
	case !printable(q.Version):
		errs = append(errs, "version: must be at most 128 printable characters without spaces")
	}
	if q.Team != "" && !nameRE.MatchString(q.Team) {
		errs = append(errs, fmt.Sprintf("team: %q is not a valid name", q.Team))
	}
	errs = append(errs, checkNames("authors", q.Authors, maxAuthors)...)
	errs = append(errs, checkNames("features", q.Features, maxFeatures)...)
	if q.Ring != "" && !bus.ValidToken(q.Ring) {
		errs = append(errs, fmt.Sprintf("ring: %q is not a valid ring name", q.Ring))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

func checkNames(field string, names []string, max int) []string {
	var errs []string
	if len(names) > max {
		errs = append(errs, fmt.Sprintf("%s: %d entries, at most %d", field, len(names), max))
		return errs
	}
	for i, n := range names {
		if !nameRE.MatchString(n) {
			errs = append(errs, fmt.Sprintf("%s[%d]: %q is not a valid name", field, i, n))
		}
	}
	return errs
}

func printable(s string) bool {
	if s == "" || len(s) > maxNameLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// EventRequest is the body of POST /v1/releases/{id}/events.
type EventRequest struct {
	Event string `json:"event"`
	Ring  string `json:"ring,omitempty"`
	// Exposure is the share of users the ring reaches now, in (0, 1]:
	// required for exposure, optional for started and promoted.
	Exposure float64 `json:"exposure,omitempty"`
	// Time of the event; zero means now.
	Time time.Time `json:"time,omitzero"`
}

// Validate checks the request; its message names the bad field.
func (q EventRequest) Validate() error {
	var errs []string
	switch {
	case q.Event == "":
		errs = append(errs, "event: required")
	case !signals.ValidEvent(q.Event):
		errs = append(errs, fmt.Sprintf("event: unknown event %q (want started, promoted, completed, halted, rolled_back, fixed_forward or exposure)", q.Event))
	}
	switch {
	case !(q.Exposure >= 0 && q.Exposure <= 1):
		errs = append(errs, fmt.Sprintf("exposure: %g is outside (0, 1]", q.Exposure))
	case q.Event == signals.EventExposure && q.Exposure == 0:
		errs = append(errs, "exposure: required for exposure, in (0, 1]")
	case q.Exposure > 0 && q.Event != signals.EventStarted && q.Event != signals.EventPromoted && q.Event != signals.EventExposure:
		errs = append(errs, fmt.Sprintf("exposure: goes with started, promoted or exposure, not %s", q.Event))
	}
	switch {
	case q.Ring == "" && (q.Event == signals.EventStarted || q.Event == signals.EventPromoted):
		errs = append(errs, fmt.Sprintf("ring: required for %s", q.Event))
	case q.Ring != "" && !bus.ValidToken(q.Ring):
		errs = append(errs, fmt.Sprintf("ring: %q is not a valid ring name", q.Ring))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}

// newRelease builds the release a start request describes, with its started
// event when a ring is given. at is the event time (already defaulted).
func newRelease(q StartRequest, at, now time.Time) Release {
	r := Release{
		ID:       q.Release,
		Service:  q.Service,
		Version:  q.Version,
		Team:     q.Team,
		Authors:  slices.Clone(q.Authors),
		Features: slices.Clone(q.Features),
		Status:   StatusPending,
		Created:  now,
		Updated:  now,
	}
	if q.Ring != "" {
		ev := r.event(signals.EventStarted, q.Ring, at)
		r.record(ev)
	}
	return r
}

// sameStart reports whether q describes the release r was created from,
// so a retried start can be answered with the existing state.
func (r Release) sameStart(q StartRequest) bool {
	if r.Service != q.Service || r.Version != q.Version || r.Team != q.Team ||
		!slices.Equal(r.Authors, q.Authors) || !slices.Equal(r.Features, q.Features) {
		return false
	}
	if q.Ring == "" {
		return true
	}
	_, ok := r.startedOn(q.Ring)
	return ok
}

func (r Release) startedOn(ring string) (signals.ReleaseEvent, bool) {
	for _, ev := range r.Events {
		if ev.Event == signals.EventStarted && ev.Ring == ring {
			return r.full(ev), true
		}
	}
	return signals.ReleaseEvent{}, false
}

// event builds a wire event of this release.
func (r Release) event(name, ring string, at time.Time) signals.ReleaseEvent {
	return signals.ReleaseEvent{
		Type:     signals.TypeRelease,
		Time:     at.UTC(),
		Release:  r.ID,
		Service:  r.Service,
		Version:  r.Version,
		Team:     r.Team,
		Authors:  slices.Clone(r.Authors),
		Ring:     ring,
		Event:    name,
		Features: slices.Clone(r.Features),
	}
}

// full is the wire event of a kept one.
func (r Release) full(kept signals.ReleaseEvent) signals.ReleaseEvent {
	ev := r.event(kept.Event, kept.Ring, kept.Time)
	ev.Exposure = kept.Exposure
	return ev
}

// record appends ev and moves the status and ring; it does not check rules.
// The kept copy leaves out what the release itself holds (version, team,
// authors, features).
func (r *Release) record(ev signals.ReleaseEvent) {
	r.Events = append(r.Events, signals.ReleaseEvent{
		Type: signals.TypeRelease, Time: ev.Time, Release: ev.Release, Service: ev.Service, Ring: ev.Ring, Event: ev.Event,
		Exposure: ev.Exposure,
	})
	if n := len(r.Events); n > MaxEvents {
		r.Events = slices.Clone(r.Events[n-MaxEvents:])
	}
	switch ev.Event {
	case signals.EventStarted:
		r.Status, r.Ring, r.Exposure = StatusWatching, ev.Ring, ev.Exposure
	case signals.EventPromoted:
		r.Status, r.Ring, r.Exposure = StatusPromoted, ev.Ring, ev.Exposure
	case signals.EventExposure:
		r.Exposure = ev.Exposure
	case signals.EventCompleted:
		r.Status = StatusCompleted
	case signals.EventHalted:
		r.Status = StatusHalted
	case signals.EventRolledBack:
		r.Status = StatusRolledBack
	case signals.EventFixedForward:
		r.Status = StatusFixedForward
	}
}

// Policy is what apply needs beyond the release itself.
type Policy struct {
	// Order is a ring's position in the rollout order (-1 unknown); nil
	// orders rings by their first appearance in the release's history.
	Order func(ring string) int
	// MayResume says the caller may resume a halted release (sre-admin).
	MayResume bool
	// By names the caller, for the record of a resume.
	By string
}

// Resume records who resumed a halted release, and how.
type Resume struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"`
	Ring  string    `json:"ring"`
	By    string    `json:"by"`
}

// behind reports whether ring comes before the release's current ring.
func (r Release) behind(ring string, p Policy) bool {
	if r.Ring == "" || ring == r.Ring {
		return false
	}
	if p.Order != nil {
		if i, cur := p.Order(ring), p.Order(r.Ring); i >= 0 && cur >= 0 {
			return i < cur
		}
	}
	for _, e := range r.Events {
		switch e.Ring {
		case ring:
			return true // seen before the current ring
		case r.Ring:
			return false
		}
	}
	return false
}

// apply checks ev against the release's lifecycle (docs/lifecycle.md) and
// records it. It reports dup (with the event already recorded) when ev
// repeats the last event (same event and ring) or an earlier one exactly
// (same event, ring and time); a duplicate changes nothing. ev.Ring, when
// empty on an event that does not move the release, is set to the current
// ring. A refused transition wraps ErrConflict; a resume of a halted
// release by a caller that may not resume wraps ErrForbidden.
func (r *Release) apply(ev signals.ReleaseEvent, p Policy) (recorded signals.ReleaseEvent, dup bool, err error) {
	if ev.Service != "" && ev.Service != r.Service {
		return ev, false, fmt.Errorf("%w: release %s belongs to service %q, not %q", ErrConflict, r.ID, r.Service, ev.Service)
	}
	if ev.Ring == "" && ev.Event != signals.EventStarted && ev.Event != signals.EventPromoted {
		ev.Ring = r.Ring
	}
	if (ev.Event == signals.EventStarted || ev.Event == signals.EventPromoted) && ev.Version != "" && r.Version != "" && ev.Version != r.Version {
		// the id reused for another version: the detector watches the new
		// version (docs/lifecycle.md), this table keeps the id's first; not
		// a retry of an earlier event, so refused and logged, not dropped
		return ev, false, fmt.Errorf("%w: release %s is version %s; a %s naming version %s is another release under the same id (see docs/lifecycle.md)",
			ErrConflict, r.ID, r.Version, ev.Event, ev.Version)
	}
	if n := len(r.Events); n > 0 {
		if last := r.Events[n-1]; last.Event == ev.Event && last.Ring == ev.Ring && last.Exposure == ev.Exposure {
			return r.full(last), true, nil
		}
	}
	for _, old := range r.Events {
		if old.Event == ev.Event && old.Ring == ev.Ring && old.Time.Equal(ev.Time) && old.Exposure == ev.Exposure {
			return r.full(old), true, nil
		}
	}
	// A completed release is still watched in its soak (docs/judge.md), and a
	// soak can halt: the deploy system must be able to record the rollback
	// (or the fix) that follows. Nothing else follows a finished release.
	undo := r.Status == StatusCompleted && (ev.Event == signals.EventRolledBack || ev.Event == signals.EventFixedForward)
	if r.Finished() && !undo {
		return ev, false, fmt.Errorf("%w: release %s is %s and accepts no more events", ErrConflict, r.ID, r.Status)
	}
	if (ev.Event == signals.EventStarted || ev.Event == signals.EventPromoted) && ev.Ring == "" {
		return ev, false, fmt.Errorf("%w: ring: required for %s", ErrInvalid, ev.Event)
	}
	refuse := func(format string, args ...any) (signals.ReleaseEvent, bool, error) {
		return ev, false, fmt.Errorf("%w: release %s is %s: %s (see docs/lifecycle.md)", ErrConflict, r.ID, r.where(), fmt.Sprintf(format, args...))
	}
	if ev.Ring != "" && r.behind(ev.Ring, p) {
		return refuse("ring %s is behind ring %s; rings never go backwards", ev.Ring, r.Ring)
	}
	resume := false
	switch r.Status {
	case StatusPending:
		switch ev.Event {
		case signals.EventStarted, signals.EventRolledBack:
		default:
			return refuse("%s needs a started release", ev.Event)
		}
	case StatusWatching, StatusPromoted:
		switch ev.Event {
		case signals.EventStarted:
			return refuse("it has started already; move it on with promoted")
		case signals.EventPromoted:
			if ev.Ring == r.Ring {
				return refuse("it is already on ring %s", r.Ring)
			}
		case signals.EventHalted:
			if ev.Ring != r.Ring {
				return refuse("it can only be halted on its current ring %s", r.Ring)
			}
		case signals.EventExposure:
			if ev.Ring != r.Ring {
				return refuse("exposure only applies to its current ring %s", r.Ring)
			}
		}
	case StatusHalted:
		switch ev.Event {
		case signals.EventStarted, signals.EventPromoted:
			if ev.Event == signals.EventPromoted && ev.Ring == r.Ring {
				return refuse("it is already on ring %s; resume it with started", r.Ring)
			}
			if !p.MayResume {
				return ev, false, fmt.Errorf("%w: release %s was halted on %s; resuming it (%s on %s) needs an sre-admin token", ErrForbidden, r.ID, r.Ring, ev.Event, ev.Ring)
			}
			resume = true
		case signals.EventCompleted:
			return refuse("a halted release cannot complete; resume it, roll it back or fix it forward")
		case signals.EventHalted:
			return refuse("it is halted already")
		case signals.EventExposure:
			if ev.Ring != r.Ring {
				return refuse("exposure only applies to its current ring %s", r.Ring)
			}
		}
	}
	full := r.event(ev.Event, ev.Ring, ev.Time)
	full.Exposure = ev.Exposure
	r.record(full)
	if resume {
		by := p.By
		if by == "" {
			by = "unknown"
		}
		r.Resumes = append(r.Resumes, Resume{Time: full.Time, Event: ev.Event, Ring: ev.Ring, By: by})
		if n := len(r.Resumes); n > MaxEvents {
			r.Resumes = slices.Clone(r.Resumes[n-MaxEvents:])
		}
	}
	return full, false, nil
}

// where is the status and ring, for errors: "halted on H2".
func (r Release) where() string {
	if r.Ring == "" {
		return r.Status
	}
	return r.Status + " on " + r.Ring
}

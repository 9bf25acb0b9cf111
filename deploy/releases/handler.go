package releases

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// MaxBodyBytes bounds a request body; larger bodies get 413.
const MaxBodyBytes = 64 << 10

// List limits.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// writeTimeout bounds saving a change and publishing its event. The write
// runs detached from the request so a client hanging up between the two
// does not leave a saved event unpublished.
const writeTimeout = 15 * time.Second

// ListResponse is the body of GET /v1/releases.
type ListResponse struct {
	Releases []Release `json:"releases"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// BearerAuth returns an auth check for Handler that accepts requests
// carrying "Authorization: Bearer <token>", compared in constant time.
// An empty token accepts nothing.
func BearerAuth(token string) func(*http.Request) bool {
	want := []byte("Bearer " + token)
	return func(r *http.Request) bool {
		got := []byte(r.Header.Get("Authorization"))
		return token != "" && subtle.ConstantTimeCompare(got, want) == 1
	}
}

// Auth decides who may change releases. nil functions allow everyone
// (for insecure_no_auth setups).
type Auth struct {
	// Write passes tokens that may register releases and record events.
	Write func(*http.Request) bool
	// Known reports a valid token of any role: a request Write refuses
	// gets 403 with one, 401 without. nil: always 401.
	Known func(*http.Request) bool
	// Resume passes tokens that may resume a halted release (sre-admin);
	// nil: every writer may.
	Resume func(*http.Request) bool
	// Who names the caller in the record of a resume.
	Who func(*http.Request) string
}

type handler struct {
	store *Store
	pub   bus.Publisher
	auth  Auth
	log   *slog.Logger
	now   func() time.Time
}

// Handler serves the release API:
//
//	POST /v1/releases               register (and start) a release: 201, or 200 for an identical retry
//	POST /v1/releases/{id}/events   record an event: 200
//	GET  /v1/releases               ?service=&status=&limit= (default 100, at most 1000)
//	GET  /v1/releases/{id}
//
// Every accepted event is published on releases.<service> with the
// message id MsgID(event); a retried request publishes again under the same
// id, which JetStream drops, so a publish that failed after the state was
// saved is repaired by the retry. auth (nil allows all) guards the POST
// endpoints. Errors are JSON ErrorResponse bodies with 400, 401, 403, 404,
// 405, 409, 413, 500 or 503 (saved but not yet published: retry).
//
// Mount it for both "/v1/releases" and "/v1/releases/" on an outer mux;
// more specific routes there (e.g. a gate under /v1/releases/{id}/gate)
// still win.
func Handler(store *Store, pub bus.Publisher, auth func(*http.Request) bool, logger *slog.Logger, now func() time.Time) http.Handler {
	return NewHandler(store, pub, Auth{Write: auth}, logger, now)
}

// NewHandler is Handler with roles: auth.Write guards the POST endpoints
// (401 without a valid token, 403 with one of another role) and
// auth.Resume resuming a halted release (403 otherwise; see
// docs/lifecycle.md).
func NewHandler(store *Store, pub bus.Publisher, auth Auth, logger *slog.Logger, now func() time.Time) http.Handler {
	h := &handler{store: store, pub: pub, auth: auth, log: logger, now: now}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/releases", h.start)
	mux.HandleFunc("GET /v1/releases", h.list)
	mux.HandleFunc("/v1/releases", methodNotAllowed("GET, HEAD, POST"))
	mux.HandleFunc("GET /v1/releases/{id}", h.get)
	mux.HandleFunc("/v1/releases/{id}", methodNotAllowed("GET, HEAD"))
	mux.HandleFunc("POST /v1/releases/{id}/events", h.event)
	mux.HandleFunc("/v1/releases/{id}/events", methodNotAllowed("POST"))
	mux.HandleFunc("/v1/releases/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed (allowed: %s)", r.Method, allow))
	}
}

func (h *handler) start(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(w, r) {
		return
	}
	var q StartRequest
	if !h.readRequest(w, r, &q) {
		return
	}
	at := h.timeOr(q.Time)
	ctx, cancel := writeContext(r)
	defer cancel()
	rel, created, err := h.store.Create(ctx, q, at)
	if err != nil {
		h.fail(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		h.log.Info("release registered", "release", rel.ID, "service", rel.Service, "version", rel.Version)
	}
	if q.Ring != "" {
		ev, _ := rel.startedOn(q.Ring)
		if err := h.publish(ctx, ev, created); err != nil {
			h.fail(w, err)
			return
		}
	}
	writeJSON(w, status, rel)
}

func (h *handler) event(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(w, r) {
		return
	}
	id := r.PathValue("id")
	if !ValidID(id) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("release %q not found (not a valid id)", id))
		return
	}
	var q EventRequest
	if !h.readRequest(w, r, &q) {
		return
	}
	at := h.timeOr(q.Time)
	ctx, cancel := writeContext(r)
	defer cancel()
	caller := Caller{MayResume: h.auth.Resume == nil || h.auth.Resume(r)}
	if h.auth.Who != nil {
		caller.Name = h.auth.Who(r)
	}
	rel, ev, dup, err := h.store.ApplyAs(ctx, signals.ReleaseEvent{
		Type: signals.TypeRelease, Time: at.UTC(), Release: id, Ring: q.Ring, Event: q.Event, Exposure: q.Exposure,
	}, caller)
	if err != nil {
		h.fail(w, err)
		return
	}
	if err := h.publish(ctx, ev, !dup); err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rel)
}

// publish sends ev on releases.<service>. fresh says the event was just
// recorded (logged); a duplicate is sent again under the same message id
// in case its first publish was lost, and JetStream drops it otherwise.
func (h *handler) publish(ctx context.Context, ev signals.ReleaseEvent, fresh bool) error {
	if fresh {
		h.log.Info("release event", "release", ev.Release, "ring", ev.Ring, "event", ev.Event)
	}
	if err := h.pub.Release(ctx, ev, MsgID(ev)); err != nil {
		return &publishError{err: err}
	}
	return nil
}

type publishError struct{ err error }

func (e *publishError) Error() string {
	return "event saved but not yet published, retry the request: " + e.err.Error()
}
func (e *publishError) Unwrap() error { return e.err }

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	rel, err := h.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rel)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Service: q.Get("service"), Status: q.Get("status")}
	if f.Service != "" && !bus.ValidToken(f.Service) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("service: %q is not a valid name", f.Service))
		return
	}
	if f.Status != "" && !ValidStatus(f.Status) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status: unknown status %q", f.Status))
		return
	}
	limit := DefaultListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxListLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: %q, want an integer from 1 to %d", s, MaxListLimit))
			return
		}
		limit = n
	}
	rels, err := h.store.List(r.Context(), f, limit)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ListResponse{Releases: rels})
}

func (h *handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	if h.auth.Write == nil || h.auth.Write(r) {
		return true
	}
	if h.auth.Known != nil && h.auth.Known(r) {
		writeError(w, http.StatusForbidden, "this token's role may not change releases (deploy-system or sre-admin can)")
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="aftershock"`)
	writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
	return false
}

// fail answers err with the status its kind calls for.
func (h *handler) fail(w http.ResponseWriter, err error) {
	var pe *publishError
	switch {
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, strings.TrimPrefix(err.Error(), ErrConflict.Error()+": "))
	case errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, strings.TrimPrefix(err.Error(), ErrForbidden.Error()+": "))
	case errors.As(err, &pe):
		h.log.Error("publishing release event", "err", err)
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		h.log.Error("release api", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// readRequest reads and checks a request body into q, answering the error
// itself when it cannot.
func (h *handler) readRequest(w http.ResponseWriter, r *http.Request, q interface{ Validate() error }) bool {
	if !readJSON(w, r, q) {
		return false
	}
	if err := q.Validate(); err != nil {
		h.fail(w, err)
		return false
	}
	return true
}

// timeOr is the time a request names, or now when it names none.
func (h *handler) timeOr(t time.Time) time.Time {
	if t.IsZero() {
		return h.now()
	}
	return t
}

// writeContext is the context of a change: detached from the request and
// bounded by writeTimeout.
func writeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
}

// readJSON decodes one JSON object from the body into v, answering 400 or
// 413 itself when it cannot. Unknown fields are refused, by name.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBodyBytes))
		} else {
			writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		}
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "empty body, want a JSON object")
		return false
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		writeError(w, http.StatusBadRequest, "body is not valid UTF-8")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON: "+jsonProblem(err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "malformed JSON: data after the object")
		return false
	}
	return true
}

// jsonProblem names the field a decoding error is about, when it can.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("time: %q is not an RFC 3339 time", pe.Value)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + f
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(ErrorResponse{Error: "encoding response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}

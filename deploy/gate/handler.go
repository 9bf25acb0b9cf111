package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
)

// MaxBodyBytes bounds a Flagger webhook body; larger bodies get 413.
const MaxBodyBytes = 64 << 10

// Flagger webhook types served under POST /v1/flagger/{hook}.
const (
	HookConfirmRollout         = "confirm-rollout"
	HookPreRollout             = "pre-rollout"
	HookRollout                = "rollout"
	HookConfirmTrafficIncrease = "confirm-traffic-increase"
	HookConfirmPromotion       = "confirm-promotion"
	HookPostRollout            = "post-rollout"
	HookRollback               = "rollback"
	HookEvent                  = "event"
)

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ArgoResponse is the body of GET …/gate?format=argo. Use it in an Argo
// Rollouts AnalysisTemplate with jsonPath "{$.data}" and successCondition
// "result.ok == true".
type ArgoResponse struct {
	Data ArgoData `json:"data"`
}

// ArgoData is the part of ArgoResponse the metric looks at.
type ArgoData struct {
	OK       bool     `json:"ok"`
	Decision string   `json:"decision"`
	Score    *float64 `json:"score"`
	// Reason is the answer's reasons joined by "; ".
	Reason  string `json:"reason"`
	Release string `json:"release"`
	Ring    string `json:"ring"`
}

// FlaggerRequest is the body Flagger posts to a webhook.
type FlaggerRequest struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata"`
}

// FlaggerResponse is the body of a Flagger webhook answer; Flagger copies
// it into its events and logs, so Message comes first and says it all.
type FlaggerResponse struct {
	Message string `json:"message"`
	Hook    string `json:"hook"`
	Answer
}

type handler struct {
	g    *Gate
	auth func(*http.Request) bool
	log  *slog.Logger
}

// Handler serves the gate:
//
//	GET  /v1/releases/{id}/gate?ring=H2              200 Answer (ok = decision is proceed); 404 unknown release
//	GET  /v1/releases/{id}/gate?ring=H2&format=argo  always 200 ArgoResponse (once authorised)
//	POST /v1/flagger/{hook}                          Flagger webhooks; the status code carries the answer
//
// ring defaults to the release's current ring. auth (nil allows all)
// guards every endpoint; Flagger cannot send headers, so for its webhooks
// a token may instead be given as metadata "token" (it is then checked as
// "Authorization: Bearer <token>").
//
// Flagger status codes, by hook type:
//
//	confirm-rollout, confirm-traffic-increase, confirm-promotion
//	    200 only on proceed; 409 on wait and review_required, 412 on halt (Flagger keeps waiting)
//	pre-rollout, rollout
//	    200 on proceed and wait; 409 on review_required, 412 on halt (Flagger counts a failed check)
//	rollback (inverted: a 2xx rolls back)
//	    200 on halt; 409 otherwise
//	post-rollout, event
//	    200 (logged only)
//
// The release is metadata "release", or else the most recently created
// unfinished release of service metadata "service" (default: the canary's
// name); the ring is metadata "ring" (default: the release's current
// ring). 400 bad body or ring, 401, 404 unknown release or hook, 413, 503
// store unavailable.
//
// Mount it on the outer mux for "GET /v1/releases/{id}/gate" and
// "/v1/flagger/".
func Handler(g *Gate, auth func(*http.Request) bool, logger *slog.Logger) http.Handler {
	h := &handler{g: g, auth: auth, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/releases/{id}/gate", h.gate)
	mux.HandleFunc("POST /v1/flagger/{hook}", h.flagger)
	mux.HandleFunc("/v1/releases/{id}/gate", methodNotAllowed("GET"))
	mux.HandleFunc("/v1/flagger/{hook}", methodNotAllowed("POST"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, ErrorResponse{"no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{"method " + r.Method + " not allowed; use " + allow})
	}
}

func (h *handler) gate(w http.ResponseWriter, r *http.Request) {
	if h.auth != nil && !h.auth(r) {
		writeJSON(w, http.StatusUnauthorized, ErrorResponse{"a valid bearer token is required"})
		return
	}
	id, q := r.PathValue("id"), r.URL.Query()
	ring := q.Get("ring")
	switch q.Get("format") {
	case "", "json":
		a, err := h.g.Answer(r.Context(), id, ring)
		if err != nil {
			h.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	case "argo":
		// Always 200: a non-2xx is an Argo *Error* (several needed to
		// abort), while ok=false is a *Failure* the template controls.
		a, err := h.g.Answer(r.Context(), id, ring)
		if err != nil {
			h.logErr(err)
			a = Answer{Release: id, Ring: ring, Decision: Wait, Reasons: []string{errorReason(err)}}
		}
		writeJSON(w, http.StatusOK, ArgoResponse{Data: ArgoData{
			OK: a.OK, Decision: a.Decision, Score: a.Score, Reason: strings.Join(a.Reasons, "; "), Release: a.Release, Ring: a.Ring,
		}})
	default:
		writeJSON(w, http.StatusBadRequest, ErrorResponse{fmt.Sprintf("format: %q, want json or argo", q.Get("format"))})
	}
}

// errorReason is what an Argo answer says when the gate could not decide.
func errorReason(err error) string {
	switch {
	case errors.Is(err, releases.ErrNotFound), errors.Is(err, ErrInvalid):
		return err.Error()
	default:
		return "gate unavailable, try again"
	}
}

func (h *handler) flagger(w http.ResponseWriter, r *http.Request) {
	hook := r.PathValue("hook")
	switch hook {
	case HookConfirmRollout, HookPreRollout, HookRollout, HookConfirmTrafficIncrease,
		HookConfirmPromotion, HookPostRollout, HookRollback, HookEvent:
	default:
		writeJSON(w, http.StatusNotFound, ErrorResponse{fmt.Sprintf("unknown flagger hook %q", hook)})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, ErrorResponse{fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)})
			return
		}
		writeJSON(w, http.StatusBadRequest, ErrorResponse{"reading body: " + err.Error()})
		return
	}
	// encoding/json would turn invalid UTF-8 into U+FFFD and the answer
	// would echo it.
	if !utf8.Valid(body) {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{"body is not valid UTF-8"})
		return
	}
	var q FlaggerRequest
	if err := json.Unmarshal(body, &q); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{"body: not a flagger webhook payload: " + err.Error()})
		return
	}
	if !h.flaggerAuthorized(r, q) {
		writeJSON(w, http.StatusUnauthorized, ErrorResponse{"a valid bearer token is required (header, or metadata token)"})
		return
	}
	ring := q.Metadata["ring"]
	if ring != "" && !bus.ValidToken(ring) {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{fmt.Sprintf("metadata.ring: %q is not a valid ring name", ring)})
		return
	}
	service := q.Metadata["service"]
	if service == "" {
		service = q.Name
	}
	log := h.log.With("hook", hook, "canary", q.Namespace+"/"+q.Name, "phase", q.Phase)
	rel, err := h.g.flaggerRelease(r.Context(), q.Metadata["release"], service)
	if err != nil {
		if hook == HookPostRollout || hook == HookEvent {
			writeJSON(w, http.StatusOK, FlaggerResponse{Message: "noted: " + err.Error(), Hook: hook})
			return
		}
		h.fail(w, err)
		return
	}
	a, err := h.g.answer(r.Context(), rel, ring)
	if err != nil {
		h.fail(w, err)
		return
	}
	status := flaggerStatus(hook, a.Decision)
	msg := fmt.Sprintf("aftershock: %s on %s: %s", a.Release, a.Ring, a.Decision)
	if len(a.Reasons) > 0 {
		msg += ": " + strings.Join(a.Reasons, "; ")
	}
	log.Info("flagger webhook", "release", a.Release, "ring", a.Ring, "decision", a.Decision, "status", status)
	writeJSON(w, status, FlaggerResponse{Message: msg, Hook: hook, Answer: a})
}

// flaggerStatus maps a decision to the status code a hook type needs.
func flaggerStatus(hook, decision string) int {
	stop := http.StatusConflict // wait, review_required
	if decision == Halt {
		stop = http.StatusPreconditionFailed
	}
	switch hook {
	case HookPreRollout, HookRollout:
		// A non-2xx counts a failed check and rolls back at the threshold;
		// waiting for evidence is not a failure.
		if decision == Proceed || decision == Wait {
			return http.StatusOK
		}
		return stop
	case HookRollback:
		if decision == Halt {
			return http.StatusOK
		}
		return http.StatusConflict
	case HookPostRollout, HookEvent:
		return http.StatusOK
	default: // confirm-*: Flagger waits until 200
		if decision == Proceed {
			return http.StatusOK
		}
		return stop
	}
}

// flaggerAuthorized checks the request, or the metadata token when the
// request carries no Authorization header (Flagger cannot set headers).
func (h *handler) flaggerAuthorized(r *http.Request, q FlaggerRequest) bool {
	if h.auth == nil || h.auth(r) {
		return true
	}
	tok := q.Metadata["token"]
	if tok == "" || r.Header.Get("Authorization") != "" {
		return false
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+tok)
	return h.auth(r2)
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, releases.ErrNotFound):
		writeJSON(w, http.StatusNotFound, ErrorResponse{err.Error()})
	case errors.Is(err, ErrInvalid):
		writeJSON(w, http.StatusBadRequest, ErrorResponse{err.Error()})
	default:
		h.logErr(err)
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{"gate unavailable, try again"})
	}
}

func (h *handler) logErr(err error) {
	if !errors.Is(err, releases.ErrNotFound) && !errors.Is(err, ErrInvalid) {
		h.log.Error("gate", "err", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

package budget

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// MaxBodyBytes bounds a reset request body; larger bodies get 413.
const MaxBodyBytes = 4 << 10

// Auth decides who may use the budget API. A nil function allows everyone
// (for insecure_no_auth setups), matching the rest of the API.
type Auth struct {
	// Read guards the GET endpoints (any valid token, typically).
	Read func(*http.Request) bool
	// Known reports whether the request carries a valid token of any role;
	// a reset without one gets 401, a reset with one that Admin refuses
	// gets 403. nil: every request without an admin token gets 401.
	Known func(*http.Request) bool
	// Admin passes only sre-admin tokens; it guards resets.
	Admin func(*http.Request) bool
	// Who names the caller for the history (e.g. the token's name); nil or
	// "" records "api".
	Who func(*http.Request) string
}

// ListResponse is the body of GET /v1/budgets.
type ListResponse struct {
	Accounts []Account `json:"accounts"`
}

// ResetRequest is the body of POST /v1/budgets/{kind}/{name}/reset.
type ResetRequest struct {
	To *int `json:"to"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

type handler struct {
	l    *Ledger
	auth Auth
	log  *slog.Logger
}

// Handler serves the budget API:
//
//	GET  /v1/budgets                        every account with its history
//	GET  /v1/budgets/{kind}/{name}          one account (kind team or author)
//	POST /v1/budgets/{kind}/{name}/reset    {"to": N}: set the balance (sre-admin)
//
// Errors are JSON ErrorResponse bodies: 400 (bad kind, name or body), 401
// (no valid token), 403 (a valid token that is not sre-admin), 404 (reset
// of a team that does not exist), 405, 413, 500. Mount it on an outer mux for "/v1/budgets" and "/v1/budgets/".
func Handler(l *Ledger, auth Auth, logger *slog.Logger) http.Handler {
	h := &handler{l: l, auth: auth, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/budgets", h.list)
	mux.HandleFunc("GET /v1/budgets/{kind}/{name}", h.get)
	mux.HandleFunc("POST /v1/budgets/{kind}/{name}/reset", h.reset)
	// Other methods on known paths get a JSON 405, anything else a JSON 404.
	mux.HandleFunc("/v1/budgets", methodNotAllowed("GET"))
	mux.HandleFunc("/v1/budgets/{kind}/{name}", methodNotAllowed("GET"))
	mux.HandleFunc("/v1/budgets/{kind}/{name}/reset", methodNotAllowed("POST"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+allow)
	}
}

func allowed(f func(*http.Request) bool, r *http.Request) bool { return f == nil || f(r) }

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	if !allowed(h.auth.Read, r) {
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
		return
	}
	accounts, err := h.l.List(r.Context())
	if err != nil {
		h.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ListResponse{Accounts: accounts})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	if !allowed(h.auth.Read, r) {
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
		return
	}
	a, err := h.l.Get(r.Context(), r.PathValue("kind"), r.PathValue("name"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (h *handler) reset(w http.ResponseWriter, r *http.Request) {
	if !allowed(h.auth.Admin, r) {
		if h.auth.Known != nil && h.auth.Known(r) {
			writeError(w, http.StatusForbidden, "resetting a budget needs an sre-admin token")
			return
		}
		writeError(w, http.StatusUnauthorized, "a valid sre-admin bearer token is required")
		return
	}
	kind, name := r.PathValue("kind"), r.PathValue("name")
	if err := checkAccount(kind, name); err != nil {
		h.fail(w, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	var q ResetRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "body: more than one JSON value")
		return
	}
	if q.To == nil {
		writeError(w, http.StatusBadRequest, "to: required")
		return
	}
	who := "api"
	if h.auth.Who != nil {
		if s := h.auth.Who(r); s != "" {
			who = s
		}
	}
	a, err := h.l.Reset(r.Context(), kind, name, *q.To, who)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if errors.Is(err, ErrInvalid) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.internal(w, err)
}

func (h *handler) internal(w http.ResponseWriter, err error) {
	h.log.Error("budget api", "err", err)
	writeError(w, http.StatusInternalServerError, "budget store unavailable")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}

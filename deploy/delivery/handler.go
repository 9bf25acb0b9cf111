package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aftershock/aftershock/deploy"
)

// Auth guards the deliveries API; nil functions allow everyone.
type Auth struct {
	// Read guards the list (any valid token).
	Read func(*http.Request) bool
	// Write guards resends (deploy-system, sre-admin).
	Write func(*http.Request) bool
	// Known reports a valid token of any role: a resend Write refuses gets
	// 403 with one, 401 without.
	Known func(*http.Request) bool
}

// ListResponse is the body of GET /v1/deliveries?state=failed.
type ListResponse struct {
	Deliveries []DeadLetter `json:"deliveries"`
}

// ResendResponse is the body of POST /v1/deliveries/{id}/resend.
type ResendResponse struct {
	ID     string        `json:"id"`
	Notice deploy.Notice `json:"notice"`
}

type errorResponse struct {
	Error string `json:"error"`
}

// Handler serves failed deliveries:
//
//	GET  /v1/deliveries?state=failed     every dead letter, oldest first
//	POST /v1/deliveries/{id}/resend      queue it again (same webhook-id): 200, 404 unknown id
//
// Mount it for "/v1/deliveries" and "/v1/deliveries/".
func Handler(d *DeadLetters, auth Auth, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/deliveries", func(w http.ResponseWriter, r *http.Request) {
		if !allowed(auth.Read, r) {
			writeJSON(w, http.StatusUnauthorized, errorResponse{"a valid bearer token is required"})
			return
		}
		if s := r.URL.Query().Get("state"); s != "failed" {
			writeJSON(w, http.StatusBadRequest, errorResponse{fmt.Sprintf("state: %q, want failed (delivered notices leave the outbox; queued ones are counted in aftershock_delivery_pending)", s)})
			return
		}
		list, err := d.List(r.Context())
		if err != nil {
			logger.Error("listing dead letters", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, errorResponse{"dead letters unavailable, try again"})
			return
		}
		writeJSON(w, http.StatusOK, ListResponse{Deliveries: list})
	})
	mux.HandleFunc("POST /v1/deliveries/{id}/resend", func(w http.ResponseWriter, r *http.Request) {
		if !allowed(auth.Write, r) {
			if auth.Known != nil && auth.Known(r) {
				writeJSON(w, http.StatusForbidden, errorResponse{"re-sending needs a deploy-system or sre-admin token"})
				return
			}
			writeJSON(w, http.StatusUnauthorized, errorResponse{"a valid bearer token is required"})
			return
		}
		id := r.PathValue("id")
		n, err := d.Resend(r.Context(), id)
		switch {
		case errors.Is(err, ErrNotFound):
			writeJSON(w, http.StatusNotFound, errorResponse{err.Error()})
			return
		case err != nil:
			logger.Error("re-sending", "id", id, "err", err)
			writeJSON(w, http.StatusServiceUnavailable, errorResponse{"re-sending failed, try again: " + err.Error()})
			return
		}
		logger.Info("dead letter re-sent", "id", id, "resend", n.Resend)
		writeJSON(w, http.StatusOK, ResendResponse{ID: id, Notice: n})
	})
	mux.HandleFunc("/v1/deliveries/{id}/resend", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		writeJSON(w, http.StatusMethodNotAllowed, errorResponse{"method " + r.Method + " not allowed; use POST"})
	})
	mux.HandleFunc("/v1/deliveries", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET")
		writeJSON(w, http.StatusMethodNotAllowed, errorResponse{"method " + r.Method + " not allowed; use GET"})
	})
	mux.HandleFunc("/v1/deliveries/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorResponse{"no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

func allowed(f func(*http.Request) bool, r *http.Request) bool { return f == nil || f(r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

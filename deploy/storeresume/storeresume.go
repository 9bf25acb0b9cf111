// Package storeresume serves the one way a paused store rollout starts
// again: POST /v1/releases/{id}/resume-store, with an sre-admin token. A
// halt pauses the App Store phased release or the Play staged rollout of a
// release; nothing in Aftershock resumes it on its own — not a later pass
// verdict, not a restart.
//
//	POST /v1/releases/shop-4.2.0/resume-store
//	{"notifier": "ios-store"}          (optional: default every store notifier)
//
//	200 {"release":"shop-4.2.0","results":[{"notifier":"ios-store","result":"phased release … resumed: ACTIVE, day 3"}],
//	     "rearmed":"ring H3: its next halt is sent again (resume 1)"}
//
// A resume re-arms the release's current ring: the person decided the
// incident is over, so a NEW halt of that ring after the resume pauses the
// rollout again (once; see dispatch.Rearm).
package storeresume

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/aftershock/aftershock/deploy"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 4 << 10

// ErrNotFound is returned by a Lookup for an unknown release.
var ErrNotFound = errors.New("release not found")

// Lookup finds a registered release.
type Lookup func(ctx context.Context, id string) (deploy.Release, error)

// Rearm lets the next halt of the release's current ring go out again
// after a successful resume, and says what it did (dispatch.Rearm).
type Rearm func(ctx context.Context, r deploy.Release, by string) (string, error)

// Request is the optional body.
type Request struct {
	// Notifier names the store notifier to resume through; empty means
	// every store notifier that covers the release's service.
	Notifier string `json:"notifier,omitempty"`
}

// Result is one notifier's outcome.
type Result struct {
	Notifier string `json:"notifier"`
	Result   string `json:"result,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Response is the reply body.
type Response struct {
	Release string   `json:"release"`
	Results []Result `json:"results"`
	// Rearmed says which ring's halt was re-armed after the resume.
	Rearmed string `json:"rearmed,omitempty"`
	// Error sums up the failures of a 502.
	Error string `json:"error,omitempty"`
}

// ErrorResponse is the body of an error reply.
type ErrorResponse struct {
	Error string `json:"error"`
}

// Auth decides who may resume. Admin must accept sre-admin tokens only;
// Known accepts any configured token (a known token that is not admin gets
// 403, none gets 401). nil Admin lets everyone in (insecure_no_auth).
type Auth struct {
	Admin func(*http.Request) bool
	Known func(*http.Request) bool
	Who   func(*http.Request) string
}

// Handler serves POST /v1/releases/{id}/resume-store. Replies: 200 when
// every notifier asked resumed (or found it running), 404 for an unknown
// release or notifier, 409 when no store notifier covers the release's
// service, 502 when a store refused or failed (the body has each result).
// After every asked notifier resumed, rearm (if not nil) re-arms the halt
// of the release's current ring; a failure to re-arm is a 500 (the stores
// did resume: the body says so).
func Handler(lookup Lookup, resumers map[string]deploy.Resumer, rearm Rearm, auth Auth, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{"method " + r.Method + " not allowed; use POST"})
			return
		}
		if auth.Admin != nil && !auth.Admin(r) {
			if auth.Known != nil && auth.Known(r) {
				writeJSON(w, http.StatusForbidden, ErrorResponse{"resuming a store rollout needs an sre-admin token"})
				return
			}
			writeJSON(w, http.StatusUnauthorized, ErrorResponse{"a valid sre-admin bearer token is required"})
			return
		}
		var q Request
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, ErrorResponse{fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)})
			return
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&q); err != nil {
				writeJSON(w, http.StatusBadRequest, ErrorResponse{"decoding body: " + err.Error()})
				return
			}
		}
		id := r.PathValue("id")
		rel, err := lookup(r.Context(), id)
		if errors.Is(err, ErrNotFound) {
			writeJSON(w, http.StatusNotFound, ErrorResponse{fmt.Sprintf("release %q not found", id)})
			return
		}
		if err != nil {
			logger.Error("resume-store: looking up release", "release", id, "err", err)
			writeJSON(w, http.StatusInternalServerError, ErrorResponse{"release registry unavailable"})
			return
		}
		names := make([]string, 0, len(resumers))
		for name := range resumers {
			names = append(names, name)
		}
		sort.Strings(names)
		if q.Notifier != "" {
			if !slices.Contains(names, q.Notifier) {
				writeJSON(w, http.StatusNotFound, ErrorResponse{fmt.Sprintf("no store notifier %q (store notifiers: %s)", q.Notifier, strings.Join(names, ", "))})
				return
			}
			names = []string{q.Notifier}
		}
		resp := Response{Release: rel.ID, Results: []Result{}}
		var failed []string
		for _, name := range names {
			msg, handled, err := resumers[name].Resume(r.Context(), rel)
			if !handled {
				continue
			}
			res := Result{Notifier: name, Result: msg}
			if err != nil {
				res.Error = err.Error()
				failed = append(failed, name+": "+res.Error)
			}
			resp.Results = append(resp.Results, res)
			logger.Warn("store rollout resume requested", "release", rel.ID, "notifier", name, "by", who(auth, r), "result", msg, "err", err)
		}
		switch {
		case len(resp.Results) == 0:
			writeJSON(w, http.StatusConflict, ErrorResponse{fmt.Sprintf("no store notifier covers service %q of release %s", rel.Service, rel.ID)})
		case len(failed) > 0:
			resp.Error = strings.Join(failed, "; ")
			writeJSON(w, http.StatusBadGateway, resp)
		default:
			if rearm != nil {
				msg, err := rearm(r.Context(), rel, who(auth, r))
				if err != nil {
					logger.Error("resume-store: re-arming the halt", "release", rel.ID, "ring", rel.Ring, "err", err)
					resp.Error = "resumed, but re-arming the halt failed: " + err.Error()
					writeJSON(w, http.StatusInternalServerError, resp)
					return
				}
				resp.Rearmed = msg
			}
			writeJSON(w, http.StatusOK, resp)
		}
	})
}

func who(a Auth, r *http.Request) string {
	if a.Who == nil {
		return ""
	}
	return a.Who(r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

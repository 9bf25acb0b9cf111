package storeresume

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/deploy"
)

type fakeResumer struct {
	service string
	err     error
	calls   int
}

func (f *fakeResumer) Resume(_ context.Context, r deploy.Release) (string, bool, error) {
	if r.Service != f.service {
		return "", false, nil
	}
	f.calls++
	return "resumed " + r.ID, true, f.err
}

func TestHandler(t *testing.T) {
	lookup := func(_ context.Context, id string) (deploy.Release, error) {
		switch id {
		case "shop-4.2.0":
			return deploy.Release{ID: id, Service: "shop", Version: "4.2.0", Ring: "H3"}, nil
		case "shop-4.3.0":
			return deploy.Release{ID: id, Service: "shop", Version: "4.3.0", Ring: "H2"}, nil
		case "web-1.0":
			return deploy.Release{ID: id, Service: "web", Version: "1.0"}, nil
		case "broken-1":
			return deploy.Release{ID: id, Service: "broken", Version: "1"}, nil
		}
		return deploy.Release{}, ErrNotFound
	}
	admin := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer admin" }
	known := func(r *http.Request) bool { return admin(r) || r.Header.Get("Authorization") == "Bearer deploy" }
	for _, tc := range []struct {
		name, method, id, tok, body string
		want                        int
		contains                    string
		calls                       int
		rearmed                     string // the ring re-armed, if any
	}{
		{"no token", "POST", "shop-4.2.0", "", "", 401, "sre-admin", 0, ""},
		{"deploy token", "POST", "shop-4.2.0", "deploy", "", 403, "needs an sre-admin token", 0, ""},
		{"admin", "POST", "shop-4.2.0", "admin", "", 200, `"result": "resumed shop-4.2.0"`, 2, "shop-4.2.0/H3 by oncall"},
		{"one notifier", "POST", "shop-4.2.0", "admin", `{"notifier":"ios"}`, 200, `"rearmed": "re-armed H3"`, 1, "shop-4.2.0/H3 by oncall"},
		{"re-arm fails", "POST", "shop-4.3.0", "admin", "", 500, "resumed, but re-arming the halt failed: kv down", 2, ""},
		{"unknown notifier", "POST", "shop-4.2.0", "admin", `{"notifier":"nope"}`, 404, "no store notifier", 0, ""},
		{"bad body", "POST", "shop-4.2.0", "admin", `{"notifer":"ios"}`, 400, "unknown field", 0, ""},
		{"unknown release", "POST", "shop-9", "admin", "", 404, `shop-9\" not found`, 0, ""},
		{"service without store", "POST", "web-1.0", "admin", "", 409, "no store notifier covers", 0, ""},
		{"store fails", "POST", "broken-1", "admin", "", 502, "broken: store says no", 1, ""},
		{"GET", "GET", "shop-4.2.0", "admin", "", 405, "use POST", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, android := &fakeResumer{service: "shop"}, &fakeResumer{service: "shop"}
			var rearmed string
			rearm := func(_ context.Context, r deploy.Release, by string) (string, error) {
				if r.Ring == "H2" {
					return "", errors.New("kv down")
				}
				rearmed = r.ID + "/" + r.Ring + " by " + by
				return "re-armed " + r.Ring, nil
			}
			broken := &fakeResumer{service: "broken", err: errors.New("store says no")}
			h := Handler(lookup, map[string]deploy.Resumer{"ios": ios, "android": android, "broken": broken},
				rearm, Auth{Admin: admin, Known: known, Who: func(*http.Request) string { return "oncall" }}, slog.New(slog.DiscardHandler))
			mux := http.NewServeMux()
			mux.Handle("/v1/releases/{id}/resume-store", h)
			req := httptest.NewRequest(tc.method, "/v1/releases/"+tc.id+"/resume-store", strings.NewReader(tc.body))
			if tc.tok != "" {
				req.Header.Set("Authorization", "Bearer "+tc.tok)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.want || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("%d %s, want %d containing %q", rec.Code, body, tc.want, tc.contains)
			}
			if got := ios.calls + android.calls + broken.calls; got != tc.calls {
				t.Errorf("%d Resume calls, want %d", got, tc.calls)
			}
			if rearmed != tc.rearmed {
				t.Errorf("re-armed %q, want %q", rearmed, tc.rearmed)
			}
		})
	}
}

package releases

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/inbound"
)

const (
	deployToken = "deploy-token"
	adminToken  = "admin-token"
	readToken   = "read-token"
)

// newRolesEnv runs the handler with the configuration's rules and three
// roles, as the daemon does.
func newRolesEnv(t *testing.T) *env {
	t.Helper()
	b := openBus(t, t.TempDir())
	kv, err := b.KV(context.Background(), bus.BucketReleases)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: t0}
	rules := &inbound.Rules{Services: []string{"shop", "api"}, Rings: []string{"H1", "H2", "H3"}, Now: c.now}
	store := NewStore(kv, quietLog(), c.now).WithRules(rules)
	has := func(tokens ...string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			for _, tok := range tokens {
				if r.Header.Get("Authorization") == "Bearer "+tok {
					return true
				}
			}
			return false
		}
	}
	auth := Auth{
		Write:  has(deployToken, adminToken),
		Known:  has(deployToken, adminToken, readToken),
		Resume: has(adminToken),
		Who: func(r *http.Request) string {
			if has(adminToken)(r) {
				return "oncall-sre"
			}
			return "deployer"
		},
	}
	srv := httptest.NewServer(NewHandler(store, bus.Publisher{JS: b.JS}, auth, quietLog(), c.now))
	e := &env{bus: b, store: store, srv: srv}
	t.Cleanup(e.close)
	return e
}

// TestConfiguredRules: unknown rings and services, impossible times,
// roles and the lifecycle through the HTTP API.
func TestConfiguredRules(t *testing.T) {
	e := newRolesEnv(t)
	steps := []struct {
		name, path, body, token string
		want                    int
		contains                string
	}{
		{"unknown ring", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H9"}`, deployToken, 400, `ring: "H9" is not a configured ring (configured: H1, H2, H3)`},
		{"lower-case ring", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"h1"}`, deployToken, 400, `configured: H1, H2, H3`},
		{"unconfigured service", "/v1/releases", `{"release":"web-1","service":"web","version":"1","ring":"H1"}`, deployToken, 400, `service: "web" is not a configured service (configured: shop, api)`},
		{"started in 2999", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H1","time":"2999-01-01T00:00:00Z"}`, deployToken, 400, "in the future"},
		{"started in 1970", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H1","time":"1970-01-01T00:00:00Z"}`, deployToken, 400, "in the past"},
		{"read-only token", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`, readToken, 403, "role"},
		{"no token", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`, "", 401, "bearer token"},
		{"start", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`, deployToken, 201, `"status": "watching"`},
		{"event on unknown ring", "/v1/releases/shop-1/events", `{"event":"promoted","ring":"H9"}`, deployToken, 400, "configured: H1, H2, H3"},
		{"event in the future", "/v1/releases/shop-1/events", `{"event":"promoted","ring":"H2","time":"2999-01-01T00:00:00Z"}`, deployToken, 400, "in the future"},
		{"promote", "/v1/releases/shop-1/events", `{"event":"promoted","ring":"H2"}`, deployToken, 200, `"status": "promoted"`},
		{"backwards", "/v1/releases/shop-1/events", `{"event":"promoted","ring":"H1"}`, deployToken, 409, "rings never go backwards"},
		{"halt", "/v1/releases/shop-1/events", `{"event":"halted"}`, deployToken, 200, `"status": "halted"`},
		{"promote after halt by deploy-system", "/v1/releases/shop-1/events", `{"event":"promoted","ring":"H3"}`, deployToken, 403, "needs an sre-admin token"},
		{"restart on H1 after halt", "/v1/releases/shop-1/events", `{"event":"started","ring":"H1"}`, adminToken, 409, "rings never go backwards"},
		{"start again after halt", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`, deployToken, 409, "cannot start on H1 again"},
		{"complete while halted", "/v1/releases/shop-1/events", `{"event":"completed"}`, deployToken, 409, "halted"},
		{"resume by sre-admin", "/v1/releases/shop-1/events", `{"event":"started","ring":"H2"}`, adminToken, 200, `"by": "oncall-sre"`},
		{"roll back", "/v1/releases/shop-1/events", `{"event":"rolled_back"}`, deployToken, 200, `"status": "rolled_back"`},
		{"promote after roll back", "/v1/releases/shop-1/events", `{"event":"promoted","ring":"H3"}`, adminToken, 409, "accepts no more events"},
		{"restart after roll back", "/v1/releases", `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`, deployToken, 409, "cannot start"},
	}
	for _, s := range steps {
		authz := ""
		if s.token != "" {
			authz = "Bearer " + s.token
		}
		var raw rawBody
		code := e.doAuth(t, "POST", s.path, s.body, authz, &raw)
		text := string(raw)
		var er ErrorResponse
		if json.Unmarshal(raw, &er) == nil && er.Error != "" {
			text = er.Error
		}
		if code != s.want || !strings.Contains(text, s.contains) {
			t.Errorf("%s: %d %s, want %d containing %q", s.name, code, raw, s.want, s.contains)
		}
	}
}

// rawBody keeps an answer as it came.
type rawBody []byte

func (r *rawBody) UnmarshalJSON(b []byte) error { *r = append((*r)[:0], b...); return nil }

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

package budget

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tokens maps bearer tokens to roles, like the app's configured tokens.
var tokens = map[string]string{"admin-token": "sre-admin", "ro-token": "read-only", "deploy-token": "deploy-system"}

func role(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tokens[tok]
}

func testAuth() Auth {
	return Auth{
		Read:  func(r *http.Request) bool { return role(r) != "" },
		Known: func(r *http.Request) bool { return role(r) != "" },
		Admin: func(r *http.Request) bool { return role(r) == "sre-admin" },
		Who:   func(r *http.Request) string { return role(r) },
	}
}

func TestHandler(t *testing.T) {
	ctx := context.Background()
	b := openBus(t)
	l := newLedger(t, b, Config{Teams: map[string]int{"storefront": 3}})
	if err := l.Spend(ctx, Release{ID: "shop-4.2.0", Team: "storefront", Authors: []string{"alice"}}, "H2", t0); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(l, testAuth(), quiet()))
	defer srv.Close()

	tests := []struct {
		name, method, path, token, body string
		status                          int
		want                            string // substring of the body
	}{
		{"list", "GET", "/v1/budgets", "ro-token", "", 200, `"reason": "release shop-4.2.0 halted on H2"`},
		{"list needs a token", "GET", "/v1/budgets", "", "", 401, `"error"`},
		{"get team", "GET", "/v1/budgets/team/storefront", "ro-token", "", 200, `"balance": 2`},
		{"get untouched author", "GET", "/v1/budgets/author/zoe", "deploy-token", "", 200, `"balance": 5`},
		{"get bad kind", "GET", "/v1/budgets/group/storefront", "ro-token", "", 400, `kind \"group\"`},
		{"get bad name", "GET", "/v1/budgets/team/-x", "ro-token", "", 400, `not valid`},
		{"reset without token", "POST", "/v1/budgets/team/storefront/reset", "", `{"to":3}`, 401, `sre-admin`},
		{"reset with a wrong token", "POST", "/v1/budgets/team/storefront/reset", "nope", `{"to":3}`, 401, `sre-admin`},
		{"reset read-only", "POST", "/v1/budgets/team/storefront/reset", "ro-token", `{"to":3}`, 403, `needs an sre-admin token`},
		{"reset deploy-system", "POST", "/v1/budgets/team/storefront/reset", "deploy-token", `{"to":3}`, 403, `needs an sre-admin token`},
		{"reset bad name", "POST", "/v1/budgets/team/a%20b/reset", "admin-token", `{"to":3}`, 400, `not valid`},
		{"reset no to", "POST", "/v1/budgets/team/storefront/reset", "admin-token", `{}`, 400, `to: required`},
		{"reset unknown field", "POST", "/v1/budgets/team/storefront/reset", "admin-token", `{"to":3,"x":1}`, 400, `unknown field`},
		{"reset not json", "POST", "/v1/budgets/team/storefront/reset", "admin-token", `to=3`, 400, `body:`},
		{"reset negative", "POST", "/v1/budgets/team/storefront/reset", "admin-token", `{"to":-1}`, 400, `want 0 to`},
		{"reset huge body", "POST", "/v1/budgets/team/storefront/reset", "admin-token", `{"to":3,"pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413, `larger than`},
		{"reset", "POST", "/v1/budgets/team/storefront/reset", "admin-token", `{"to":4}`, 200, `"reason": "reset from 2 to 4 by sre-admin"`},
		{"reset unknown team", "POST", "/v1/budgets/team/nobody/reset", "admin-token", `{"to":4}`, 404, `team \"nobody\" is not under budgets.teams`},
		{"wrong method", "DELETE", "/v1/budgets/team/storefront", "admin-token", "", 405, `use GET`},
		{"unknown path", "GET", "/v1/budgets/team/storefront/x/y", "admin-token", "", 404, `no such endpoint`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("%s %s: %d %s; want %d with %q", tt.method, tt.path, res.StatusCode, body, tt.status, tt.want)
			}
			if res.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", res.Header.Get("Content-Type"))
			}
		})
	}
	a, _ := l.Get(ctx, KindTeam, "storefront")
	if a.Balance != 4 || len(a.History) != 2 {
		t.Fatalf("after the API reset: %+v", a)
	}
	var list ListResponse
	res, _ := http.Get(srv.URL + "/v1/budgets") // no token
	_ = json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if res.StatusCode != 401 || len(list.Accounts) != 0 {
		t.Fatal("list leaked without a token")
	}
}

// With no auth configured (insecure_no_auth) everything is open.
func TestHandlerOpen(t *testing.T) {
	b := openBus(t)
	l := newLedger(t, b, Config{})
	srv := httptest.NewServer(Handler(l, Auth{}, quiet()))
	defer srv.Close()
	res, err := http.Post(srv.URL+"/v1/budgets/author/alice/reset", "application/json", strings.NewReader(`{"to":7}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	a, _ := l.Get(context.Background(), KindAuthor, "alice")
	if a.Balance != 7 || a.History[0].Reason != "reset from 5 to 7 by api" {
		t.Fatalf("%+v", a)
	}
}

package app

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/deploy"
)

// TestOpenAPIMatchesRouter asks the running daemon about every path of
// deploy/openapi.yaml: each documented method is routed (not the router's
// own 404 or a 405), each method the document does not list on a path is
// 405 or 404, and each value a query parameter's enum lists is accepted (not
// 400). deploy/openapi_test.go checks the document against a list kept by
// hand; this one checks it against the handlers. (The gate's format enum
// lacked "json", the default the handler accepts.)
func TestOpenAPIMatchesRouter(t *testing.T) {
	type param struct {
		Name   string `yaml:"name"`
		In     string `yaml:"in"`
		Schema struct {
			Enum []string `yaml:"enum"`
		} `yaml:"schema"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []param `yaml:"parameters"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(deploy.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	a := start(t, t.TempDir())
	defer a.Stop()
	base := "http://" + a.Addr()
	waitReady(t, base)
	if c, _ := do(t, "POST", base+"/v1/releases", token, `{"release":"shop-1.0","service":"shop","version":"1.0","ring":"H1"}`); c != 201 {
		t.Fatalf("starting a release: %d", c)
	}
	fill := strings.NewReplacer("{id}", "shop-1.0", "{hook}", "rollout", "{kind}", "team", "{name}", "storefront")
	// the router's own 404, or a handler's for a path under its prefix
	routerNotFound := func(code int, body string) bool {
		return code == 404 && (strings.HasPrefix(body, "404 page not found") || strings.Contains(body, "no such endpoint"))
	}
	methods := []string{"get", "post", "put", "patch", "delete"}
	if len(doc.Paths) < 15 {
		t.Fatalf("only %d paths in the document", len(doc.Paths))
	}
	for path, ops := range doc.Paths {
		url := base + fill.Replace(path)
		for _, m := range methods {
			op, documented := ops[m]
			body := ""
			if m != "get" {
				body = "{}"
			}
			code, resp := do(t, strings.ToUpper(m), url, token, body)
			switch {
			case documented && (routerNotFound(code, resp) || code == 405):
				t.Errorf("%s %s is documented; the daemon answers %d %q", strings.ToUpper(m), path, code, resp)
			case !documented && code != 405 && !routerNotFound(code, resp):
				t.Errorf("%s %s is served (%d %q) but not documented", strings.ToUpper(m), path, code, resp)
			}
			if !documented {
				continue
			}
			for _, p := range op.Parameters {
				if p.In != "query" {
					continue
				}
				for _, v := range p.Schema.Enum {
					q := url + "?" + p.Name + "=" + v
					if slices.ContainsFunc(op.Parameters, func(o param) bool { return o.Name == "ring" }) {
						q += "&ring=H1"
					}
					if code, resp := do(t, strings.ToUpper(m), q, token, body); code == 400 {
						t.Errorf("%s %s?%s=%s: the document lists the value; the daemon answers 400 %q", strings.ToUpper(m), path, p.Name, v, resp)
					}
				}
			}
		}
	}
}

package deploy

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestOpenAPIDescribesEveryEndpoint(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/v1/releases":                    {"get", "post"},
		"/v1/releases/{id}":               {"get"},
		"/v1/releases/{id}/events":        {"post"},
		"/v1/releases/{id}/gate":          {"get"},
		"/v1/flagger/{hook}":              {"post"},
		"/v1/metrics":                     {"post"},
		"/v1/budgets":                     {"get"},
		"/v1/budgets/{kind}/{name}":       {"get"},
		"/v1/budgets/{kind}/{name}/reset": {"post"},
		"/v1/deliveries":                  {"get"},
		"/v1/deliveries/{id}/resend":      {"post"},
		"/v1/releases/{id}/resume-store":  {"post"},
		"/healthz":                        {"get"},
		"/readyz":                         {"get"},
		"/metrics":                        {"get"},
	}
	if doc.OpenAPI == "" {
		t.Fatal("no openapi version")
	}
	for path, methods := range want {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("%s %s is not described", m, path)
			}
		}
	}
}

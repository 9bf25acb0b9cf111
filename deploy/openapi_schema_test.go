package deploy_test

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/crawlers/push"
	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/budget"
	"github.com/aftershock/aftershock/deploy/gate"
	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/deploy/storeresume"
)

// requestTypes are the Go types the handlers decode, by the OpenAPI schema
// that describes them.
var requestTypes = map[string]any{
	"StartRequest":       releases.StartRequest{},
	"EventRequest":       releases.EventRequest{},
	"MetricSample":       push.Sample{},
	"FlaggerRequest":     gate.FlaggerRequest{},
	"ResetRequest":       budget.ResetRequest{},
	"ResumeStoreRequest": storeresume.Request{},
}

type schema struct {
	Ref        string            `yaml:"$ref"`
	Type       string            `yaml:"type"`
	Properties map[string]schema `yaml:"properties"`
	Items      *schema           `yaml:"items"`
	OneOf      []schema          `yaml:"oneOf"`
}

// refs are the component schemas a request body refers to.
func (s schema) refs() []string {
	var out []string
	if s.Ref != "" {
		out = append(out, strings.TrimPrefix(s.Ref, "#/components/schemas/"))
	}
	if s.Items != nil {
		out = append(out, s.Items.refs()...)
	}
	for _, o := range s.OneOf {
		out = append(out, o.refs()...)
	}
	return out
}

func jsonFields(v any) []string {
	var out []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIRequestsMatchHandlers fails when an OpenAPI request schema
// disagrees with the Go struct its handler decodes (property names against
// json tags), or when a request body is described inline or by a schema no
// handler type stands behind.
func TestOpenAPIRequestsMatchHandlers(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]schema `yaml:"schemas"`
		} `yaml:"components"`
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]struct {
					Schema schema `yaml:"schema"`
				} `yaml:"content"`
			} `yaml:"requestBody"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(deploy.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.RequestBody == nil {
				continue
			}
			for ct, c := range op.RequestBody.Content {
				refs := c.Schema.refs()
				if len(refs) == 0 {
					t.Errorf("%s %s (%s): request schema is inline; describe it as a component named after its Go type", method, path, ct)
				}
				for _, r := range refs {
					if _, ok := requestTypes[r]; !ok {
						t.Errorf("%s %s: request schema %s has no Go type in requestTypes", method, path, r)
					}
					used[r] = true
				}
			}
		}
	}
	for name, v := range requestTypes {
		if !used[name] {
			t.Errorf("schema %s is not the request body of any path", name)
		}
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("components.schemas.%s is missing", name)
			continue
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		if fields := jsonFields(v); !slices.Equal(props, fields) {
			t.Errorf("schema %s has properties %v; %T decodes %v", name, props, v, fields)
		}
	}
}

// TestOpenAPIServersNotHardCoded: the document is served by the daemon at
// whatever http.listen says; it must not name one fixed address.
func TestOpenAPIServersNotHardCoded(t *testing.T) {
	var doc struct {
		Servers []struct {
			URL string `yaml:"url"`
		} `yaml:"servers"`
	}
	if err := yaml.Unmarshal(deploy.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Servers {
		if strings.Contains(s.URL, "://") && !strings.Contains(s.URL, "{") {
			t.Errorf("servers: %q is a fixed address", s.URL)
		}
	}
}

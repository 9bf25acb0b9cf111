package push_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/crawlers/push"
)

// documented are the push bodies the documents show, by where they are.
func documented(t *testing.T) map[string][]string {
	t.Helper()
	read := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	out := map[string][]string{}
	// The README's row of POST /v1/metrics: its JSON objects in backticks.
	readme := read("../../README.md")
	row := ""
	for line := range strings.Lines(readme) {
		if strings.HasPrefix(line, "| `POST /v1/metrics`") {
			row = line
		}
	}
	if row == "" {
		t.Fatal("README.md has no row for POST /v1/metrics")
	}
	for _, m := range regexp.MustCompile("`(\\{[^`]*\\})`").FindAllStringSubmatch(row, -1) {
		if strings.Contains(m[1], `"service"`) { // not the answer
			out["README.md POST /v1/metrics"] = append(out["README.md POST /v1/metrics"], strings.ReplaceAll(m[1], `"…"`, `"2026-12-07T10:00:00Z"`))
		}
	}
	// crawlers/natsmetrics/README.md: the payloads of its nats pub / req lines.
	for _, m := range regexp.MustCompile(`(?m)^nats (?:pub|req) push\.metrics\.\w+ '([^']*)'`).FindAllStringSubmatch(read("../natsmetrics/README.md"), -1) {
		out["crawlers/natsmetrics/README.md"] = append(out["crawlers/natsmetrics/README.md"], m[1])
	}
	out["examples/push-counts.jsonl"] = []string{read("../../examples/push-counts.jsonl")}
	// The OpenAPI example of the push body's release.
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Example any `yaml:"example"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal([]byte(read("../../deploy/openapi.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["MetricSample"].Properties
	if ex, ok := props["release"].Example.(string); ok {
		body, _ := json.Marshal(map[string]any{"service": "shop", "release": ex, "requests": props["requests"].Example, "errors": props["errors"].Example})
		out["deploy/openapi.yaml MetricSample examples"] = []string{string(body)}
	}
	return out
}

// TestDocumentedBodies: every push body README.md, the natsmetrics README,
// examples/push-counts.jsonl and the OpenAPI examples show is accepted
// whole by the code, and they show both ways of naming the cohort —
// "version" and "release" (INTERFACES.md §8's form).
func TestDocumentedBodies(t *testing.T) {
	docs := documented(t)
	for _, where := range []string{"README.md POST /v1/metrics", "crawlers/natsmetrics/README.md", "examples/push-counts.jsonl", "deploy/openapi.yaml MetricSample examples"} {
		bodies := docs[where]
		if len(bodies) == 0 {
			t.Errorf("%s shows no push body", where)
			continue
		}
		var release, version bool
		for _, body := range bodies {
			raws, err := push.Split([]byte(body))
			if err != nil {
				t.Errorf("%s: %s: %v", where, body, err)
				continue
			}
			for _, raw := range raws {
				s, err := push.ParseSample(raw)
				if err == nil {
					if s.Service == "" {
						s.Service = "shop" // natsmetrics: the subject's
					}
					_, err = s.Metrics(now)
				}
				if err != nil {
					t.Errorf("%s: %s refused: %v", where, raw, err)
					continue
				}
				release = release || s.Release != ""
				version = version || s.Version != ""
				if bytes.Contains(raw, []byte(`"release"`)) && s.Release == "" {
					t.Errorf("%s: %s: its release is lost", where, raw)
				}
			}
		}
		if !release || (!version && where != "deploy/openapi.yaml MetricSample examples") {
			t.Errorf("%s: shows a cohort by release %v, by version %v; want both", where, release, version)
		}
	}
}

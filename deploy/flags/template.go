package flags

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"text/template"

	"github.com/aftershock/aftershock/deploy"
)

// TemplateData is what a generic flag's url and body templates see.
type TemplateData struct {
	Service string  // Verdict.Service, e.g. "shop"
	Feature string  // Verdict.Feature, e.g. "checkout"
	Flag    string  // the flag key (Flag.Flag, default the feature)
	Release string  // e.g. "shop-4.2.0"
	Version string  // e.g. "4.2.0"
	Ring    string  // e.g. "H2"
	Score   float64 // 0-100
	Reason  string  // the verdict's reasons joined with "; "
	Key     string  // the notice's idempotency key
}

// funcs are available in templates: json quotes a value as JSON (use it
// for every value in a JSON body: {"reason": {{json .Reason}}}), pathescape
// escapes a URL path segment; text/template's own urlquery escapes a query
// value.
var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"pathescape": url.PathEscape,
}

// newData builds the template data for a notice.
func newData(n deploy.Notice, flag string) TemplateData {
	v := n.Verdict
	return TemplateData{
		Service: v.Service, Feature: v.Feature, Flag: flag,
		Release: v.Release, Version: v.Version, Ring: v.Ring, Score: v.Score,
		Reason: strings.Join(v.Reasons, "; "), Key: n.Key,
	}
}

// sampleData is what Validate renders templates with, so a misspelt field
// is found at start-up rather than at the first switch-off.
func sampleData(service, feature, flag string) TemplateData {
	return TemplateData{
		Service: service, Feature: feature, Flag: flag,
		Release: service + "-1.0.0", Version: "1.0.0", Ring: "H2", Score: 42.5,
		Reason: `error_rate 3.1% vs 0.4% expected; "quoted"`, Key: "flag_off:" + service + "-1.0.0:H2",
	}
}

// render parses and executes one template.
func render(name, text string, d TemplateData) (string, error) {
	t, err := compile(name, text)
	if err != nil {
		return "", err
	}
	return execute(t, d)
}

func execute(t *template.Template, d TemplateData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

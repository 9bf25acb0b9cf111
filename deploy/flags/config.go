package flags

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy/httpnotify"
	"github.com/aftershock/aftershock/deploy/internal/check"
)

// Templates name the flag systems a Flag can call.
const (
	// TemplateGeneric calls any HTTP endpoint: method, url and body are
	// yours, url and body being Go text/templates over TemplateData.
	TemplateGeneric = "generic"
	// TemplateFlagd PUTs {url}/flags/{flag} with flagd's flag definition
	// fields {"state":"DISABLED","defaultVariant":"off"} and a Bearer token.
	TemplateFlagd = "flagd"
	// TemplateUnleash POSTs Unleash's Admin API
	// {url}/api/admin/projects/{project}/features/{flag}/environments/{environment}/off.
	TemplateUnleash = "unleash"
)

// Defaults.
const (
	DefaultTimeout = 10 * time.Second
	DefaultMethod  = http.MethodPost
	DefaultProject = "default"
)

// Config is the `flags` section of one `type: flags` entry of the
// `notifiers` list.
type Config struct {
	// DryRun logs the call each switch-off would make, makes none, and
	// reports success.
	DryRun bool `yaml:"dry_run"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Services maps a service (Verdict.Service) to its features
	// (Verdict.Feature) and the flag that switches each one off.
	Services map[string]map[string]Flag `yaml:"services"`
}

// Flag says how to switch one feature off.
type Flag struct {
	// Template is generic, flagd or unleash.
	Template string `yaml:"template"`
	// URL is the flag system's base URL for flagd and unleash, and the
	// whole URL (a text/template) for generic. http or https.
	URL string `yaml:"url"`
	// Method is the HTTP method for generic (default POST).
	Method string `yaml:"method"`
	// Headers are sent with every call. Put secrets in as ${ENV}.
	Headers map[string]string `yaml:"headers"`
	// Body is the request body for generic, a text/template over
	// TemplateData. Empty sends no body.
	Body string `yaml:"body"`
	// Token authenticates flagd (Authorization: Bearer <token>, optional)
	// and unleash (Authorization: <token>, required: an admin API token or
	// a personal access token). Not used by generic: put it in Headers.
	Token string `yaml:"token"`
	// Flag is the flag's key in the flag system (default: the feature name).
	Flag string `yaml:"flag"`
	// Project is the Unleash project (default "default").
	Project string `yaml:"project"`
	// Environment is the Unleash environment to switch the flag off in
	// (required for unleash).
	Environment string `yaml:"environment"`
}

// reserved headers are set by the notifier itself.
var reserved = map[string]bool{
	"idempotency-key": true, "content-length": true, "host": true, "user-agent": true,
	"transfer-encoding": true, "connection": true,
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

var methods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodGet}

// Validate applies defaults and checks the section; field names in errors
// are relative (`services.shop.checkout.url: …`). Use ValidateAt to name
// them in the whole file.
func (c *Config) Validate() error { return c.ValidateAt("") }

// ValidateAt is Validate with errors naming fields under path, e.g.
// ValidateAt("notifiers[2].flags") reports
// `notifiers[2].flags.services.shop.checkout.url: must be an http(s) URL`.
// Errors never contain tokens or header values.
func (c *Config) ValidateAt(path string) error {
	var errs []error
	if err := check.Timeout(check.Field(path, "timeout"), &c.Timeout, DefaultTimeout); err != nil {
		errs = append(errs, err)
	}
	if len(c.Services) == 0 {
		errs = append(errs, fmt.Errorf("%s: required: at least one service with one feature", check.Field(path, "services")))
	}
	for _, svc := range sortedKeys(c.Services) {
		sp := check.Field(path, "services") + segment(svc)
		if err := checkName(svc); err != nil {
			errs = append(errs, fmt.Errorf("%s: service name %w", sp, err))
		}
		if len(c.Services[svc]) == 0 {
			errs = append(errs, fmt.Errorf("%s: no features", sp))
		}
		for _, feat := range sortedKeys(c.Services[svc]) {
			fp := sp + segment(feat)
			if err := checkName(feat); err != nil {
				errs = append(errs, fmt.Errorf("%s: feature name %w", fp, err))
			}
			f := c.Services[svc][feat]
			errs = append(errs, f.validate(fp, svc, feat)...)
			c.Services[svc][feat] = f // keep the defaults
		}
	}
	return errors.Join(errs...)
}

// validate applies defaults and checks one flag.
func (f *Flag) validate(path, service, feature string) []error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{check.Field(path, field)}, args...)...))
	}
	notFor := func(field, val string) {
		if val != "" {
			add(field, "only for template %s", map[string]string{
				"method": TemplateGeneric, "body": TemplateGeneric,
				"project": TemplateUnleash, "environment": TemplateUnleash,
			}[field])
		}
	}
	if f.Flag == "" {
		f.Flag = feature
	} else if err := checkName(f.Flag); err != nil {
		add("flag", "%v", err)
	}
	switch f.Template {
	case TemplateUnleash:
		notFor("method", f.Method)
		notFor("body", f.Body)
		if f.Project == "" {
			f.Project = DefaultProject
		} else if err := checkName(f.Project); err != nil {
			add("project", "%v", err)
		}
		if f.Environment == "" {
			add("environment", "required for template unleash (e.g. production)")
		} else if err := checkName(f.Environment); err != nil {
			add("environment", "%v", err)
		}
		if f.Token == "" {
			add("token", "required for template unleash (an admin API token or personal access token, e.g. ${UNLEASH_ADMIN_TOKEN})")
		}
		errs = append(errs, checkBaseURL(check.Field(path, "url"), f.URL)...)
	case TemplateFlagd:
		notFor("method", f.Method)
		notFor("body", f.Body)
		notFor("project", f.Project)
		notFor("environment", f.Environment)
		errs = append(errs, checkBaseURL(check.Field(path, "url"), f.URL)...)
	case TemplateGeneric:
		notFor("project", f.Project)
		notFor("environment", f.Environment)
		if f.Token != "" {
			add("token", "not used by template generic; send it in headers (e.g. Authorization: Bearer ${FLAGS_TOKEN})")
		}
		if f.Method == "" {
			f.Method = DefaultMethod
		}
		f.Method = strings.ToUpper(f.Method)
		if !slices.Contains(methods, f.Method) {
			add("method", "%q, want one of %s", f.Method, strings.Join(methods, ", "))
		}
		sample := sampleData(service, feature, f.Flag)
		if f.URL == "" {
			add("url", "required")
		} else if u, err := render("url", f.URL, sample); err != nil {
			add("url", "%v", err)
		} else if !check.HTTPURL(u) {
			add("url", "must be an http(s) URL (after rendering the template)")
		}
		if _, err := render("body", f.Body, sample); err != nil {
			add("body", "%v", err)
		}
	case "":
		add("template", "required: generic, flagd or unleash")
	default:
		add("template", "unknown template %q (known: generic, flagd, unleash)", f.Template)
	}
	for _, name := range sortedKeys(f.Headers) {
		val := f.Headers[name]
		lower := strings.ToLower(name)
		switch {
		case !headerNameRE.MatchString(name):
			add("headers", "%q is not a valid header name", name)
		case reserved[lower]:
			add("headers", "%s is set by the notifier and cannot be overridden", name)
		case lower == "authorization" && f.Token != "":
			add("headers", "Authorization is set from token; set one or the other")
		case lower == "content-type" && f.Template != TemplateGeneric:
			add("headers", "Content-Type is set by template %s", f.Template)
		case strings.ContainsAny(val, "\r\n\x00"):
			add("headers."+name, "value contains a line break or NUL")
		}
	}
	if strings.ContainsAny(f.Token, "\r\n\x00") {
		add("token", "contains a line break or NUL")
	}
	return errs
}

// checkName accepts a service, feature, flag, project or environment name.
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case !utf8.ValidString(s):
		return errors.New("is not valid UTF-8")
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("contains a control character")
	case len(s) > 200:
		return errors.New("is longer than 200 bytes")
	}
	return nil
}

func checkBaseURL(field, raw string) []error {
	switch {
	case raw == "":
		return []error{fmt.Errorf("%s: required", field)}
	case !check.HTTPURL(raw):
		return []error{fmt.Errorf("%s: must be an http(s) URL", field)}
	case strings.Contains(raw, "?") || strings.Contains(raw, "#"):
		return []error{fmt.Errorf("%s: must be a base URL without query or fragment", field)}
	}
	return nil
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// segment is a map key in a field path: ".checkout", or `["shop.eu"]` for
// a key that would read ambiguously.
func segment(key string) string {
	if plainKeyRE.MatchString(key) {
		return "." + key
	}
	return fmt.Sprintf("[%q]", key)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// LogValue keeps tokens, header values and URL paths and queries out of logs.
func (c Config) LogValue() slog.Value {
	var svcs []slog.Attr
	for _, svc := range sortedKeys(c.Services) {
		var feats []slog.Attr
		for _, feat := range sortedKeys(c.Services[svc]) {
			feats = append(feats, slog.Any(feat, c.Services[svc][feat]))
		}
		svcs = append(svcs, slog.Attr{Key: svc, Value: slog.GroupValue(feats...)})
	}
	return slog.GroupValue(
		slog.Bool("dry_run", c.DryRun),
		slog.Duration("timeout", c.Timeout),
		slog.Attr{Key: "services", Value: slog.GroupValue(svcs...)},
	)
}

// LogValue keeps the token, header values and the URL's path and query out
// of logs.
func (f Flag) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("template", f.Template),
		slog.String("url", httpnotify.Target(f.URL)),
		slog.String("flag", f.Flag),
	}
	if f.Method != "" {
		attrs = append(attrs, slog.String("method", f.Method))
	}
	if f.Project != "" {
		attrs = append(attrs, slog.String("project", f.Project))
	}
	if f.Environment != "" {
		attrs = append(attrs, slog.String("environment", f.Environment))
	}
	if f.Token != "" {
		attrs = append(attrs, slog.String("token", "<redacted>"))
	}
	if len(f.Headers) > 0 {
		attrs = append(attrs, slog.Any("headers", sortedKeys(f.Headers)))
	}
	return slog.GroupValue(attrs...)
}

// compile parses a generic template.
func compile(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
}

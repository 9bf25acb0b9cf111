// Package flags is the feature-flag kill switch notifier. When a release's
// failed signals point at one feature, the detector sets Verdict.Feature and
// Verdict.Action = "flag_off", and this notifier switches that feature's
// flag off (Etsy's way) instead of the whole release being halted.
//
// Each (service, feature) pair maps to one Flag: Unleash's Admin API, a
// flagd-style flag service, or any HTTP endpoint (generic). Switching a flag
// off is idempotent: a second call finds it off and leaves it off, so a
// redelivered notice does no harm. Every call also carries the notice's key
// in Idempotency-Key.
//
// The notifier makes one attempt per call and says whether a failure is
// worth retrying; retries, backoff and durability live in deploy/delivery.
package flags

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/httpnotify"
	"github.com/aftershock/aftershock/deploy/internal/check"
	"github.com/aftershock/aftershock/signals"
)

// ErrUnknownFeature is returned (without retry) for a flag_off notice whose
// service and feature have no configured flag.
var ErrUnknownFeature = errors.New("no flag configured for this service and feature")

// flagdBody is what the flagd template PUTs: the fields of a flagd flag
// definition that turn it off.
const flagdBody = `{"state":"DISABLED","defaultVariant":"off"}`

// Notifier switches feature flags off. It implements deploy.Notifier and is
// safe for concurrent use.
type Notifier struct {
	targets   map[string]map[string]*target // service → feature
	dryRun    bool
	client    *http.Client
	userAgent string
	redact    httpnotify.Redactor
	log       *slog.Logger
	now       func() time.Time // for Retry-After dates when the reply has no Date
}

var _ deploy.Notifier = (*Notifier)(nil)

// target is one configured flag, templates compiled.
type target struct {
	flag Flag
	url  *template.Template // generic only
	body *template.Template // generic only; nil for no body
}

// call is one HTTP request to make.
type call struct {
	method string
	url    string
	body   []byte
	header http.Header
}

// New validates cfg and builds a notifier. logger receives dry-run calls
// and successful switch-offs.
func New(cfg Config, logger *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("flags config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{
		targets:   map[string]map[string]*target{},
		dryRun:    cfg.DryRun,
		userAgent: httpnotify.UserAgent(),
		log:       logger,
		now:       time.Now,
		client:    httpnotify.NewClient(cfg.Timeout),
	}
	var redact []string
	for svc, feats := range cfg.Services {
		n.targets[svc] = map[string]*target{}
		for feat, f := range feats {
			t := &target{flag: f}
			if f.Template == TemplateGeneric {
				var err error
				if t.url, err = compile("url", f.URL); err != nil {
					return nil, fmt.Errorf("flags config: services%s%s.url: %w", segment(svc), segment(feat), err)
				}
				if f.Body != "" {
					if t.body, err = compile("body", f.Body); err != nil {
						return nil, fmt.Errorf("flags config: services%s%s.body: %w", segment(svc), segment(feat), err)
					}
				}
			}
			n.targets[svc][feat] = t
			redact = append(redact, secrets(f)...)
		}
	}
	n.redact = httpnotify.NewRedactor(redact...)
	return n, nil
}

// secrets lists what must never appear in an error: the token, header
// values and the URL's password and query.
func secrets(f Flag) []string {
	var s []string
	if f.Token != "" {
		s = append(s, f.Token)
	}
	for _, v := range f.Headers {
		if len(v) >= 4 {
			s = append(s, v)
		}
	}
	if u, err := url.Parse(f.URL); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			s = append(s, p)
		}
	}
	// A generic URL is a template, so its query as a whole is only known
	// per call; its fixed values are what may hold a token.
	if _, q, ok := strings.Cut(f.URL, "?"); ok {
		for _, kv := range strings.Split(q, "&") {
			_, v, _ := strings.Cut(kv, "=")
			if len(v) < 4 || strings.Contains(v, "{{") {
				continue
			}
			s = append(s, v)
			if uv, err := url.QueryUnescape(v); err == nil && uv != v {
				s = append(s, uv)
			}
		}
	}
	return s
}

// Has reports whether a flag is configured for the service's feature: the
// detector asks it to choose between switching a flag off and halting. A
// nil Notifier (no flags notifier configured) has none.
func (n *Notifier) Has(service, feature string) bool {
	return n != nil && n.lookup(service, feature) != nil
}

func (n *Notifier) lookup(service, feature string) *target {
	return n.targets[service][feature]
}

// Notify switches off the flag of a flag_off notice's service and feature,
// in one call. Notices with any other action are ignored (nil error, no
// call). An unconfigured feature is ErrUnknownFeature, not retried. It
// reports retry=true for network errors, timeouts, 5xx and 429, wrapping a
// Retry-After in *deploy.RetryAfterError, and retry=false for any other
// non-2xx reply (a redirect included: it is not followed).
func (n *Notifier) Notify(ctx context.Context, notice deploy.Notice) (retry bool, err error) {
	v := notice.Verdict
	if v.Action != signals.ActionFlagOff {
		return false, nil
	}
	t := n.lookup(v.Service, v.Feature)
	if t == nil {
		return false, fmt.Errorf("flags: switching off feature %q of service %q: %w", v.Feature, v.Service, ErrUnknownFeature)
	}
	if notice.Key == "" {
		return false, errors.New("flags: notice has no idempotency key")
	}
	c, err := t.build(newData(notice, t.flag.Flag))
	if err != nil {
		return false, fmt.Errorf("flags: building the call for %s/%s: %w", v.Service, v.Feature, err)
	}
	c.header.Set("Idempotency-Key", notice.Key)
	c.header.Set("User-Agent", n.userAgent)
	host := httpnotify.Target(c.url)
	log := n.log.With("service", v.Service, "feature", v.Feature, "flag", t.flag.Flag,
		"template", t.flag.Template, "release", v.Release, "ring", v.Ring)

	if n.dryRun {
		attrs := []any{"method", c.method, "target", host, "idempotency_key", notice.Key, "headers", headerNames(c.header)}
		if t.flag.Template == TemplateGeneric {
			// A generic URL path or body may hold a secret from ${ENV}.
			attrs = append(attrs, "body_bytes", len(c.body))
		} else {
			attrs = append(attrs, "path", pathOf(c.url), "body", string(c.body))
		}
		log.Info("flag switch-off (dry run, not called)", attrs...)
		return false, nil
	}

	what := fmt.Sprintf("switching off flag %q (%s) at %s", t.flag.Flag, t.flag.Template, host)
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, bytes.NewReader(c.body))
	if err != nil {
		return false, fmt.Errorf("%s: building request%s", what, n.redact.Clean([]byte(err.Error())))
	}
	req.Header = c.header
	if len(c.body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("%s: %w", what, httpnotify.TransportError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		httpnotify.Drain(resp.Body)
		log.Info("flag switched off", "status", resp.StatusCode)
		return false, nil
	}
	snippet := httpnotify.ReadSnippet(resp.Body)
	now := n.now()
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = t // the server's clock, as its Retry-After date is
	}
	return httpnotify.Failed(resp, fmt.Errorf("%s: %s%s", what, resp.Status, n.redact.Clean(snippet)), now)
}

// build makes the request for one flag.
func (t *target) build(d TemplateData) (call, error) {
	f := t.flag
	c := call{header: http.Header{}}
	for k, v := range f.Headers {
		c.header.Set(k, v)
	}
	base := strings.TrimRight(f.URL, "/")
	switch f.Template {
	case TemplateUnleash:
		c.method = http.MethodPost
		c.url = base + "/api/admin/projects/" + url.PathEscape(f.Project) +
			"/features/" + url.PathEscape(f.Flag) +
			"/environments/" + url.PathEscape(f.Environment) + "/off"
		c.header.Set("Authorization", f.Token)
		c.header.Set("Accept", "application/json")
	case TemplateFlagd:
		c.method = http.MethodPut
		c.url = base + "/flags/" + url.PathEscape(f.Flag)
		c.body = []byte(flagdBody)
		c.header.Set("Content-Type", "application/json")
		if f.Token != "" {
			c.header.Set("Authorization", "Bearer "+f.Token)
		}
	case TemplateGeneric:
		c.method = f.Method
		u, err := execute(t.url, d)
		if err != nil {
			return call{}, fmt.Errorf("rendering url: %w", err)
		}
		if !check.HTTPURL(u) {
			return call{}, errors.New("rendered url is not an http(s) URL")
		}
		c.url = u
		if t.body != nil {
			b, err := execute(t.body, d)
			if err != nil {
				return call{}, fmt.Errorf("rendering body: %w", err)
			}
			c.body = []byte(b)
			if c.header.Get("Content-Type") == "" {
				c.header.Set("Content-Type", "application/json")
			}
		}
	default:
		return call{}, fmt.Errorf("unknown template %q", f.Template)
	}
	return c, nil
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.EscapedPath()
}

func headerNames(h http.Header) []string {
	return sortedKeys(h)
}

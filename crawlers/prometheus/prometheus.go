// Package prometheus is a poller of internal error rates and latencies from
// the Prometheus HTTP API (or anything that speaks it: Thanos, Mimir,
// VictoriaMetrics).
//
// Each poll evaluates every configured PromQL query at the poll time and
// turns each element of the result into a signals.MetricSample of the
// configured service, named after the query, with the app version and ring
// read from the series' labels. The cursor is the last evaluation time: when
// polls were missed (a restart, an outage) the next poll fills the gap with a
// range query, up to MaxGap back; the very first poll can backfill too.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/signals"
)

// Type is the source type name used in configuration.
const Type = "prometheus"

// Defaults and bounds of Options.
const (
	DefaultStep         = 30 * time.Second
	DefaultMaxGap       = time.Hour
	DefaultMaxBody      = 10 << 20
	DefaultVersionLabel = "version"
	DefaultRingLabel    = "ring"
	// MaxPoints is how many points per series a range query may ask for;
	// Prometheus refuses more than 11,000.
	MaxPoints = 11000
)

// Options are the `options` of a prometheus source.
type Options struct {
	// URL is the base address of the Prometheus server, e.g.
	// http://prometheus:9090 (a path prefix such as /prometheus is kept).
	URL string `yaml:"url"`
	// Headers are sent with every request (e.g. Authorization: Bearer
	// ${PROM_TOKEN}). They are secrets: never logged.
	Headers map[string]string `yaml:"headers"`
	// Queries are evaluated on every poll.
	Queries []Query `yaml:"queries"`
	// Backfill makes the first poll (empty cursor) read this far back with
	// a range query instead of one instant (default 0: no backfill).
	Backfill time.Duration `yaml:"backfill"`
	// Step is the resolution of range queries (default 30s).
	Step time.Duration `yaml:"step"`
	// MaxGap caps how far back a poll after missed polls reaches (default 1h).
	MaxGap time.Duration `yaml:"max_gap"`
	// MaxBody caps a response in bytes (default 10 MiB).
	MaxBody int `yaml:"max_body"`
}

// Query is one PromQL expression and how to read its result.
type Query struct {
	// Name is the metric name of the samples (error_rate, http_5xx, latency_p99).
	Name string `yaml:"name"`
	// Query is the PromQL expression; it should aggregate by the version
	// and ring labels, e.g. sum by (version, ring) (...).
	Query string `yaml:"query"`
	// VersionLabel holds the app version (default "version").
	VersionLabel string `yaml:"version_label"`
	// RingLabel holds the rollout ring (default "ring").
	RingLabel string `yaml:"ring_label"`
	// ReleaseLabel, when set, holds the release id of the series' cohort
	// (the detector resolves it to the release's version: README, "Samples
	// that name a release"). No default: Helm's "release" label names a
	// Helm release, not a rollout.
	ReleaseLabel string `yaml:"release_label"`
	// BaselineVersions, when set, are the versions of the old cohort: their
	// samples get an empty Version, which the detector reads as the
	// baseline. Otherwise every sample keeps its version.
	BaselineVersions []string `yaml:"baseline_versions"`
}

// Validate applies defaults and checks the options; messages name the
// field relative to the source spec (`options.url: ...`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if o.URL == "" {
		bad("url", "required")
	} else if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad("url", "must be an http(s) URL without a query string")
	}
	for k := range o.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			bad("headers", "%q is not a valid header name", k)
		}
	}
	if len(o.Queries) == 0 {
		bad("queries", "at least one query required")
	}
	names := make(map[string]int)
	for i := range o.Queries {
		q := &o.Queries[i]
		field := fmt.Sprintf("queries[%d]", i)
		switch {
		case q.Name == "":
			bad(field+".name", "required")
		case strings.ContainsAny(q.Name, " \t\r\n"):
			bad(field+".name", "%q must not contain spaces", q.Name)
		default:
			if j, ok := names[q.Name]; ok {
				bad(field+".name", "%q is already used by options.queries[%d]", q.Name, j)
			}
			names[q.Name] = i
		}
		if strings.TrimSpace(q.Query) == "" {
			bad(field+".query", "required")
		}
		if q.VersionLabel == "" {
			q.VersionLabel = DefaultVersionLabel
		}
		if q.RingLabel == "" {
			q.RingLabel = DefaultRingLabel
		}
		if q.VersionLabel == q.RingLabel {
			bad(field+".ring_label", "%q is also the version_label", q.RingLabel)
		}
		if q.ReleaseLabel != "" && (q.ReleaseLabel == q.VersionLabel || q.ReleaseLabel == q.RingLabel) {
			bad(field+".release_label", "%q is also the version_label or the ring_label", q.ReleaseLabel)
		}
	}
	if o.Step == 0 {
		o.Step = DefaultStep
	}
	if o.Step < time.Second {
		bad("step", "%s is shorter than 1s", o.Step)
	}
	if o.MaxGap == 0 {
		o.MaxGap = DefaultMaxGap
	}
	if o.MaxGap < 0 {
		bad("max_gap", "%s is negative", o.MaxGap)
	}
	if o.Backfill < 0 {
		bad("backfill", "%s is negative", o.Backfill)
	}
	if o.Step >= time.Second {
		if n := o.Backfill / o.Step; n >= MaxPoints {
			bad("backfill", "%s is %d steps of %s; Prometheus allows at most %d points", o.Backfill, n+1, o.Step, MaxPoints)
		}
		if n := o.MaxGap / o.Step; n >= MaxPoints {
			bad("max_gap", "%s is %d steps of %s; Prometheus allows at most %d points", o.MaxGap, n+1, o.Step, MaxPoints)
		}
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBody < 0 {
		bad("max_body", "%d is negative", o.MaxBody)
	}
	return problems.Err()
}

// Source polls one Prometheus server. It is safe for concurrent use.
type Source struct {
	spec   crawlers.Spec
	opts   Options
	base   *url.URL
	ua     string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
}

// New builds a source from its spec; it does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimSuffix(opts.URL, "/")) // checked by Validate
	return &Source{
		spec:   spec,
		opts:   opts,
		base:   base,
		ua:     deps.UserAgent,
		client: deps.HTTPClient(spec.Timeout),
		now:    deps.Now,
		log:    deps.Logger,
	}, nil
}

// Constructor is the crawlers.Constructor of the prometheus type.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	return crawlers.Built(New(spec, deps))
}

// window is what one poll evaluates: an instant (Start is zero) or the
// range Start, Start+Step, ..., End.
type window struct {
	Start, End time.Time
	Step       time.Duration
}

// plan picks the window of a poll at now after the evaluation time last
// (zero on the first poll). Range points are aligned so the last one is now
// and the first one is after last, so nothing is evaluated twice.
func (s *Source) plan(now, last time.Time) window {
	w := window{End: now, Step: s.opts.Step}
	var from time.Time
	switch {
	case last.IsZero():
		if s.opts.Backfill <= 0 {
			return w
		}
		from = now.Add(-s.opts.Backfill)
	default:
		// Polls on schedule are one interval apart; a gap of two or more
		// (and more than a step) means polls were missed.
		gap := now.Sub(last)
		if gap < 2*s.spec.Interval || gap <= s.opts.Step {
			return w
		}
		from = last.Add(time.Millisecond) // strictly after last
		if limit := now.Add(-s.opts.MaxGap); from.Before(limit) {
			from = limit
		}
	}
	n := now.Sub(from) / s.opts.Step
	if n < 1 {
		return w
	}
	w.Start = now.Add(-n * s.opts.Step)
	return w
}

// Poll evaluates every query for what is new since cursor.
//
// A query that Prometheus refuses (400 bad_data, 422 execution: a bad
// PromQL expression) is logged and left out, and the others still count;
// when every query is refused the poll fails with a PermanentError naming
// them. Any other failure (503, 5xx, timeouts) fails the whole poll with a
// retryable error before anything is returned, so a retry repeats nothing.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	last, err := parseCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor; starting from now", "err", err)
	}
	// Prometheus resolves time to the millisecond.
	now := s.now().UTC().Truncate(time.Millisecond)
	if !last.IsZero() && !now.After(last) {
		return crawlers.Page{Cursor: cursor}, nil
	}
	w := s.plan(now, last)
	var page crawlers.Page
	var refused []error
	for _, q := range s.opts.Queries {
		res, err := s.query(ctx, q.Query, w)
		var qe *queryError
		switch {
		case errors.As(err, &qe):
			refused = append(refused, fmt.Errorf("query %s: %w", q.Name, err))
			s.log.Error("prometheus refused query", "query", q.Name, "err", err)
			continue
		case err != nil:
			return crawlers.Page{}, fmt.Errorf("query %s: %w", q.Name, err)
		}
		for _, warn := range res.warnings {
			s.log.Warn("prometheus warning", "query", q.Name, "warning", warn)
		}
		samples, skipped := s.samples(q, res)
		page.Metrics = append(page.Metrics, samples...)
		page.Skipped.Merge(skipped)
		if skipped.Total() > 0 {
			s.log.Debug("skipped points", "query", q.Name, "reasons", skipped.String())
		}
	}
	if len(refused) == len(s.opts.Queries) {
		return crawlers.Page{}, &crawlers.PermanentError{Err: errors.Join(refused...)}
	}
	page.Cursor = formatCursor(now)
	return page, nil
}

// samples turns the series of one query into samples; points that are
// NaN, ±Inf or malformed are skipped and counted.
func (s *Source) samples(q Query, res result) ([]signals.MetricSample, crawlers.Skips) {
	var out []signals.MetricSample
	var skipped crawlers.Skips
	skipped.Add(crawlers.SkipMalformed, res.malformed)
	for _, sr := range res.series {
		version := sr.labels[q.VersionLabel]
		if slices.Contains(q.BaselineVersions, version) {
			version = ""
		}
		release := ""
		if q.ReleaseLabel != "" {
			release = sr.labels[q.ReleaseLabel]
		}
		series := seriesName(sr.labels, q)
		for _, p := range sr.points {
			if math.IsNaN(p.value) || math.IsInf(p.value, 0) {
				skipped.Add(crawlers.SkipBadValue, 1)
				continue
			}
			m := signals.MetricSample{
				Type:    signals.TypeMetric,
				Time:    p.time,
				Service: s.spec.Service,
				Version: version,
				Release: release,
				Ring:    sr.labels[q.RingLabel],
				Name:    q.Name,
				Value:   p.value,
				Series:  series,
			}
			if release != "" && m.Validate() != nil {
				skipped.Add(crawlers.SkipInvalid, 1) // a release id no sample may carry
				continue
			}
			out = append(out, m)
		}
	}
	return out, skipped
}

// cursorState is the source's cursor, stored as JSON.
type cursorState struct {
	// Time is the last evaluation time.
	Time time.Time `json:"time"`
}

func parseCursor(cursor string) (time.Time, error) {
	if cursor == "" {
		return time.Time{}, nil
	}
	var c cursorState
	if err := json.Unmarshal([]byte(cursor), &c); err != nil {
		return time.Time{}, fmt.Errorf("parsing cursor: %w", err)
	}
	return c.Time.UTC(), nil
}

func formatCursor(t time.Time) string {
	data, _ := json.Marshal(cursorState{Time: t.UTC()})
	return string(data)
}

// seriesName is a series' labels but the cohort ones (version, ring,
// release) in Prometheus notation, sorted: {instance="10.0.3.17:8080",
// job="api"}, so the samples of a query returning several series (per
// instance, per route) stay apart. "" for a series with no other label.
func seriesName(labels map[string]string, q Query) string {
	var names []string
	for k := range labels {
		if k != q.VersionLabel && k != q.RingLabel && (q.ReleaseLabel == "" || k != q.ReleaseLabel) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

package crawlers

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a post or metric sample, the "result" label.
const (
	ResultPublished = "published"
	ResultDuplicate = "duplicate"
	ResultSkipped   = "skipped"
)

// Kinds of poll error, the "kind" label.
const (
	ErrKindRateLimit = "rate_limit"
	ErrKindPermanent = "permanent"
	ErrKindTimeout   = "timeout"
	ErrKindPublish   = "publish"
	ErrKindCursor    = "cursor"
	ErrKindOther     = "other"
)

// Metrics are the runner's Prometheus metrics, all labelled by source
// instance name ("source").
type Metrics struct {
	Posts              *prometheus.CounterVec   // aftershock_crawler_posts_total{source,result,reason}
	Samples            *prometheus.CounterVec   // aftershock_crawler_metric_samples_total{source,result,reason}
	Errors             *prometheus.CounterVec   // aftershock_crawler_poll_errors_total{source,kind}
	PollDuration       *prometheus.HistogramVec // aftershock_crawler_poll_duration_seconds{source}
	Lag                *prometheus.GaugeVec     // aftershock_crawler_lag_seconds{source}
	LastSuccess        *prometheus.GaugeVec     // aftershock_crawler_last_success_timestamp_seconds{source}
	RateLimitRemaining *prometheus.GaugeVec     // aftershock_crawler_rate_limit_remaining{source}
	Health             *prometheus.GaugeVec     // aftershock_crawler_health{source,state}
}

// NewMetrics creates the metrics and registers them on reg (nil registers
// nowhere, for tests and one-off checks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_crawler_posts_total",
			Help: "Posts found by a source, by result: published, duplicate (dropped by JetStream) or skipped, and for skipped the reason (malformed, no_time, no_text, ...; empty otherwise).",
		}, []string{"source", "result", "reason"}),
		Samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_crawler_metric_samples_total",
			Help: "Metric samples found by a source, by result: published or skipped, and for skipped the reason (empty otherwise).",
		}, []string{"source", "result", "reason"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_crawler_poll_errors_total",
			Help: "Failed polls of a source, by kind: rate_limit, permanent, timeout, publish, cursor, other.",
		}, []string{"source", "kind"}),
		PollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aftershock_crawler_poll_duration_seconds",
			Help:    "Time one poll of a source took, publishing excluded.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"source"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aftershock_crawler_lag_seconds",
			Help: "Time between the newest post of the last non-empty page and when it was published.",
		}, []string{"source"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aftershock_crawler_last_success_timestamp_seconds",
			Help: "Unix time of the last successful poll of a source.",
		}, []string{"source"}),
		RateLimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aftershock_crawler_rate_limit_remaining",
			Help: "Requests left in the source API's current rate-limit window, as it reported.",
		}, []string{"source"}),
		Health: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aftershock_crawler_health",
			Help: "1 for a source's current health state (ok, degraded, silent, failing), 0 for the others.",
		}, []string{"source", "state"}),
	}
	if reg != nil {
		reg.MustRegister(m.Posts, m.Samples, m.Errors, m.PollDuration, m.Lag, m.LastSuccess, m.RateLimitRemaining, m.Health)
	}
	return m
}

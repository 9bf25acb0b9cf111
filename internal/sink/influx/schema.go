package influx

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/aftershock/aftershock/signals"
)

// Measurements. Dashboards query these names; never rename one.
const (
	MeasurementRollup         = "rollup"
	MeasurementRollupCategory = "rollup_category"
	MeasurementMetric         = "metric"
	MeasurementAnomaly        = "anomaly"
	MeasurementVerdict        = "verdict"
	MeasurementRelease        = "release"
)

// Tags. Only low-cardinality names go into tags; free text never does.
// An empty tag value is left out of the point.
const (
	TagService  = "service"
	TagSource   = "source"
	TagCategory = "category"
	TagVersion  = "version" // metric: "" is written as BaselineVersion
	TagRing     = "ring"
	TagName     = "name"
	TagRelease  = "release"
	TagKind     = "kind"
	TagSignal   = "signal"
	TagDecision = "decision"
	TagAction   = "action"
	TagEvent    = "event"
)

// BaselineVersion is the version tag of metric samples of the old cohort.
const BaselineVersion = "baseline"

// Fields. Each field has one type forever (InfluxDB answers a type change
// with a 422 partial write): the type is given with each name.
const (
	FieldPosts         = "posts"          // rollup, int
	FieldNegative      = "negative"       // rollup, int
	FieldNegativeShare = "negative_share" // rollup, float in [0, 1]
	FieldSentimentMean = "sentiment_mean" // rollup, float in [-1, 1]
	FieldCount         = "count"          // rollup_category, int
	FieldValue         = "value"          // metric, float
	FieldObserved      = "observed"       // anomaly, float
	FieldExpected      = "expected"       // anomaly, float
	FieldStrength      = "strength"       // anomaly, float in [0, 1]
	FieldKeywords      = "keywords"       // anomaly, string, comma-joined
	FieldScore         = "score"          // verdict, float
	FieldReasons       = "reasons"        // verdict, string, "; "-joined
	FieldFailed        = "failed"         // verdict, int: signals with outcome fail
	FieldVersion       = "version"        // release, string
	FieldText          = "text"           // release, string: a summary for annotations
)

// Points converts one wire message into its points. Non-finite floats are
// left out (line protocol cannot carry them); a point left without fields
// is dropped. Unknown types are an error.
func Points(v any) ([]*write.Point, error) {
	switch m := v.(type) {
	case *signals.Rollup:
		return rollupPoints(m), nil
	case *signals.MetricSample:
		return one(point(MeasurementMetric, m.Time).
			tag(TagService, m.Service).tag(TagVersion, cohortVersion(m)).
			tag(TagRelease, m.Release).tag(TagRing, m.Ring).tag(TagName, m.Name).
			float(FieldValue, m.Value)), nil
	case *signals.Anomaly:
		return one(point(MeasurementAnomaly, m.Time).
			tag(TagService, m.Service).tag(TagRelease, m.Release).tag(TagRing, m.Ring).
			tag(TagKind, m.Kind).tag(TagSignal, m.Signal).
			float(FieldObserved, m.Observed).float(FieldExpected, m.Expected).
			float(FieldStrength, m.Strength).
			str(FieldKeywords, strings.Join(m.Keywords, ","))), nil
	case *signals.Verdict:
		failed := 0
		for _, s := range m.Signals {
			if s.Outcome == signals.OutcomeFail {
				failed++
			}
		}
		return one(point(MeasurementVerdict, m.Time).
			tag(TagService, m.Service).tag(TagRelease, m.Release).tag(TagRing, m.Ring).
			tag(TagDecision, m.Decision).tag(TagAction, m.Action).
			float(FieldScore, m.Score).
			str(FieldReasons, strings.Join(m.Reasons, "; ")).
			integer(FieldFailed, failed)), nil
	case *signals.ReleaseEvent:
		return one(point(MeasurementRelease, m.Time).
			tag(TagService, m.Service).tag(TagRelease, m.Release).tag(TagRing, m.Ring).
			tag(TagEvent, m.Event).
			str(FieldVersion, m.Version).
			str(FieldText, ReleaseText(m))), nil
	}
	return nil, fmt.Errorf("influx: cannot store a %T", v)
}

// ReleaseText is the human summary of a release event written to the text
// field, e.g. "checkout 4.2.1 (rel-42): promoted to H2".
func ReleaseText(e *signals.ReleaseEvent) string {
	var b strings.Builder
	b.WriteString(e.Service)
	if e.Version != "" {
		b.WriteString(" " + e.Version)
	}
	b.WriteString(" (" + e.Release + "): ")
	verb := strings.ReplaceAll(e.Event, "_", " ")
	switch e.Event {
	case signals.EventStarted, signals.EventPromoted:
		if e.Event == signals.EventStarted {
			verb = "started in"
		} else {
			verb = "promoted to"
		}
		b.WriteString(verb + " " + e.Ring)
	case signals.EventExposure:
		b.WriteString(e.Ring + " reaches " + strconv.FormatFloat(e.Exposure*100, 'g', 4, 64) + "% of users")
	default:
		b.WriteString(verb)
		if e.Ring != "" {
			b.WriteString(" in " + e.Ring)
		}
	}
	if e.Team != "" {
		b.WriteString(" by " + e.Team)
	}
	return b.String()
}

func rollupPoints(r *signals.Rollup) []*write.Point {
	var share, mean float64
	if r.Posts > 0 {
		share = float64(r.Negative) / float64(r.Posts)
		mean = r.SentimentSum / float64(r.Posts)
	}
	pts := one(point(MeasurementRollup, r.Time).
		tag(TagService, r.Service).tag(TagSource, r.Source).
		integer(FieldPosts, r.Posts).integer(FieldNegative, r.Negative).
		float(FieldNegativeShare, share).float(FieldSentimentMean, mean))
	for cat, n := range r.Categories {
		pts = append(pts, one(point(MeasurementRollupCategory, r.Time).
			tag(TagService, r.Service).tag(TagSource, r.Source).tag(TagCategory, cat).
			integer(FieldCount, n))...)
	}
	return pts
}

// cohortVersion is a metric sample's version tag: its version, or
// BaselineVersion for the old cohort. A sample that names its cohort only
// by release (the detector resolves it) has no version tag: its release
// tag says which cohort it is, and it is no baseline.
func cohortVersion(m *signals.MetricSample) string {
	switch {
	case m.Version != "":
		return m.Version
	case m.Release != "":
		return ""
	}
	return BaselineVersion
}

// builder keeps the conversions above one readable chain per measurement.
type builder struct {
	p      *write.Point
	fields int
}

func point(measurement string, t time.Time) *builder {
	return &builder{p: write.NewPointWithMeasurement(measurement).SetTime(t)}
}

func (b *builder) tag(k, v string) *builder {
	if v != "" {
		b.p.AddTag(k, v)
	}
	return b
}

func (b *builder) float(k string, v float64) *builder {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		b.p.AddField(k, v)
		b.fields++
	}
	return b
}

func (b *builder) integer(k string, v int) *builder {
	b.p.AddField(k, int64(v))
	b.fields++
	return b
}

func (b *builder) str(k, v string) *builder {
	b.p.AddField(k, v)
	b.fields++
	return b
}

func one(b *builder) []*write.Point {
	if b.fields == 0 {
		return nil
	}
	return []*write.Point{b.p}
}

package dashboards

import (
	"fmt"
	"strings"

	"github.com/aftershock/aftershock/internal/sink/influx"
)

// The Flux below runs on InfluxDB 1.8 (Flux 0.65) and 2.x alike, so it uses
// only functions as old as that: no schema.*, no experimental.*, no
// aggregateWindow options newer than createEmpty.
//
// Grafana defines v.timeRangeStart, v.timeRangeStop and v.windowPeriod and
// replaces ${service}, ${release} and ${service:regex} before the query
// leaves the browser.

// Template variable references as they appear inside Flux.
const (
	varService      = "${service}"       // single value (Release watch)
	varRelease      = "${release}"       // single value (Release watch)
	varServiceRegex = "${service:regex}" // multi value, as a regex alternation (Sources)
)

// queries renders every query of both dashboards for one bucket.
type queries struct {
	bucket string
}

// from starts a query: the bucket over the dashboard's time range.
func (q queries) from() string {
	return fmt.Sprintf("from(bucket: %s)\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)", fluxString(q.bucket))
}

// fluxString quotes s as a Flux string literal.
func fluxString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", `\${`)
	return `"` + r.Replace(s) + `"`
}

// is renders r.<column> == "value".
func is(column, value string) string { return fmt.Sprintf("r.%s == %q", column, value) }

// serviceIs selects the chosen service (Release watch).
func serviceIs() string { return is(influx.TagService, varService) }

// releaseIs selects the chosen release (Release watch).
func releaseIs() string { return is(influx.TagRelease, varRelease) }

// servicesMatch selects the chosen services (Sources; multi-value).
func servicesMatch() string {
	return fmt.Sprintf("r.%s =~ /^%s$/", influx.TagService, varServiceRegex)
}

func filter(conds ...string) string {
	return "\n  |> filter(fn: (r) => " + strings.Join(conds, " and ") + ")"
}

func anyOf(conds ...string) string { return "(" + strings.Join(conds, " or ") + ")" }

// both renders (a and b), for use inside anyOf.
func both(a, b string) string { return "(" + a + " and " + b + ")" }

// Keeping _time next to the tag is needed: on Flux 0.65, distinct() over a
// table of only that column returns nothing.

// serviceVariable lists the services that wrote rollups, metrics or release
// events in the time range.
func (q queries) serviceVariable() string {
	return q.from() +
		filter(anyOf(
			both(is("_measurement", influx.MeasurementRollup), is("_field", influx.FieldPosts)),
			both(is("_measurement", influx.MeasurementMetric), is("_field", influx.FieldValue)),
			both(is("_measurement", influx.MeasurementRelease), is("_field", influx.FieldText)),
		)) + `
  |> keep(columns: ["_time", "` + influx.TagService + `"])
  |> group()
  |> distinct(column: "` + influx.TagService + `")
  |> sort()`
}

// releaseVariable lists the releases of the chosen service that have events
// or verdicts in the time range, newest first (so the default is the newest).
func (q queries) releaseVariable() string {
	return q.from() +
		filter(anyOf(
			both(is("_measurement", influx.MeasurementRelease), is("_field", influx.FieldText)),
			both(is("_measurement", influx.MeasurementVerdict), is("_field", influx.FieldScore)),
		)) +
		filter(serviceIs()) + `
  |> keep(columns: ["_time", "` + influx.TagRelease + `"])
  |> group(columns: ["` + influx.TagRelease + `"])
  |> max(column: "_time")
  |> group()
  |> sort(columns: ["_time"], desc: true)
  |> map(fn: (r) => ({_value: r.` + influx.TagRelease + `}))
  |> keep(columns: ["_value"])`
}

// postsPerMinute sums the rollups of all sources of the service per minute
// and averages them per display window, so the unit stays posts/min.
func (q queries) postsPerMinute() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRollup), is("_field", influx.FieldPosts), serviceIs()) + `
  |> group(columns: ["_field"])
  |> aggregateWindow(every: 1m, fn: sum, createEmpty: false, timeSrc: "_start")
  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)
  |> set(key: "_field", value: "posts/min")`
}

// postsBaseline is the trailing one-hour mean of posts per minute: what the
// volume looked like before the current window.
func (q queries) postsBaseline() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRollup), is("_field", influx.FieldPosts), serviceIs()) + `
  |> group(columns: ["_field"])
  |> aggregateWindow(every: 1m, fn: sum, createEmpty: true, timeSrc: "_start")
  |> fill(value: 0)
  |> map(fn: (r) => ({r with _value: float(v: r._value)}))
  |> movingAverage(n: 60)
  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)
  |> set(key: "_field", value: "baseline (1h mean)")`
}

// sentiment is the negative share and the mean sentiment over all sources,
// weighted by posts: sum(negative)/sum(posts) and sum(mean*posts)/sum(posts).
func (q queries) sentiment() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRollup),
			anyOf(is("_field", influx.FieldPosts), is("_field", influx.FieldNegative), is("_field", influx.FieldSentimentMean)),
			serviceIs()) + `
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> map(fn: (r) => ({_time: r._time, posts: float(v: r.` + influx.FieldPosts + `), negative: float(v: r.` + influx.FieldNegative + `), weighted: r.` + influx.FieldSentimentMean + ` * float(v: r.` + influx.FieldPosts + `)}))
  |> group()
  |> window(every: v.windowPeriod)
  |> reduce(identity: {posts: 0.0, negative: 0.0, weighted: 0.0}, fn: (r, accumulator) => ({posts: accumulator.posts + r.posts, negative: accumulator.negative + r.negative, weighted: accumulator.weighted + r.weighted}))
  |> filter(fn: (r) => r.posts > 0.0)
  |> map(fn: (r) => ({_time: r._stop, negative_share: r.negative / r.posts, sentiment_mean: r.weighted / r.posts}))
  |> group()
  |> sort(columns: ["_time"])`
}

// categories is the complaint count per category and display window.
func (q queries) categories() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRollupCategory), is("_field", influx.FieldCount), serviceIs()) + `
  |> group(columns: ["` + influx.TagCategory + `"])
  |> aggregateWindow(every: v.windowPeriod, fn: sum, createEmpty: false)`
}

// categoryTotals is the complaint count per category over the whole range.
func (q queries) categoryTotals() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRollupCategory), is("_field", influx.FieldCount), serviceIs()) + `
  |> group(columns: ["` + influx.TagCategory + `"])
  |> sum()`
}

// metric is one family of service metrics (error or latency, told apart by
// name) per name, version, release and ring.
func (q queries) metric(latency bool) string {
	op := "!~"
	if latency {
		op = "=~"
	}
	return q.from() +
		filter(is("_measurement", influx.MeasurementMetric), is("_field", influx.FieldValue), serviceIs(),
			fmt.Sprintf("r.%s %s /latency|duration/", influx.TagName, op)) + `
  |> group(columns: ["` + influx.TagName + `", "` + influx.TagVersion + `", "` + influx.TagRelease + `", "` + influx.TagRing + `"])
  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)`
}

// score is the canary score of the release per ring.
func (q queries) score() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementVerdict), is("_field", influx.FieldScore), serviceIs(), releaseIs()) + `
  |> group(columns: ["` + influx.TagRing + `"])
  |> aggregateWindow(every: v.windowPeriod, fn: last, createEmpty: false)`
}

// decision is the latest verdict of the release per ring: its decision,
// action and score.
func (q queries) decision() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementVerdict), is("_field", influx.FieldScore), serviceIs(), releaseIs()) + `
  |> group(columns: ["` + influx.TagRing + `"])
  |> sort(columns: ["_time"])
  |> last()
  |> map(fn: (r) => ({_time: r._time, ` + influx.TagRing + `: r.` + influx.TagRing + `, ` + influx.TagDecision + `: r.` + influx.TagDecision + `, ` + influx.TagAction + `: r.` + influx.TagAction + `, ` + influx.FieldScore + `: r._value}))`
}

// anomalies lists the anomalies of the release, newest first.
func (q queries) anomalies() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementAnomaly), serviceIs(), releaseIs()) + `
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> keep(columns: ["_time", "` + strings.Join([]string{
		influx.TagRing, influx.TagKind, influx.TagSignal,
		influx.FieldObserved, influx.FieldExpected, influx.FieldStrength, influx.FieldKeywords,
	}, `", "`) + `"])
  |> sort(columns: ["_time"], desc: true)`
}

// releaseEvents are the release events of the service as annotations: a
// time, a text and comma-separated tags (event and release). The ring is in
// the text: Flux 0.65 cannot type a map over a column some tables lack
// (the completed event has no ring).
func (q queries) releaseEvents() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRelease), is("_field", influx.FieldText), serviceIs()) + `
  |> map(fn: (r) => ({_time: r._time, text: r._value, tags: r.` + influx.TagEvent + ` + "," + r.` + influx.TagRelease + `}))
  |> group()
  |> sort(columns: ["_time"])`
}

// perSource is one rollup field summed per source and minute, averaged per
// display window (Sources dashboard).
func (q queries) perSource(field string) string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRollup), is("_field", field), servicesMatch()) + `
  |> group(columns: ["` + influx.TagSource + `"])
  |> aggregateWindow(every: 1m, fn: sum, createEmpty: false, timeSrc: "_start")
  |> aggregateWindow(every: v.windowPeriod, fn: mean, createEmpty: false)`
}

// sourcesServiceVariable lists the services that wrote rollups.
func (q queries) sourcesServiceVariable() string {
	return q.from() +
		filter(is("_measurement", influx.MeasurementRollup), is("_field", influx.FieldPosts)) + `
  |> keep(columns: ["_time", "` + influx.TagService + `"])
  |> group()
  |> distinct(column: "` + influx.TagService + `")
  |> sort()`
}

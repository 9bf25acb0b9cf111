package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/aftershock/aftershock/internal/sink/influx"
	"github.com/aftershock/aftershock/signals"
)

// Series names of the volume panel: the queries set them as _field, and
// overrides by query (refId) set them as display names, so the names do not
// depend on how Grafana names Flux series.
const (
	seriesPosts    = "posts/min"
	seriesBaseline = "baseline (1h mean)"
)

// releaseWatch is "Aftershock — Release watch": one service and one release,
// with social volume and tone, service metrics per version and ring, the
// canary score, the latest decision, anomalies and release events.
func releaseWatch(q queries) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder("Aftershock — Release watch").
		Uid(ReleaseUID).
		Description("One release of one service while it rolls out through the rings: what users say, what the service measures, and what the canary judge decided.").
		Tags([]string{"aftershock"}).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(queryVariable("service", "Service", q.serviceVariable())).
		WithVariable(queryVariable("release", "Release", q.releaseVariable())).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Release events").
			Datasource(datasource()).
			Enable(true).
			IconColor("purple").
			Target(target("Anno", q.releaseEvents())).
			Mappings(map[string]cog.Builder[dashboard.AnnotationEventFieldMapping]{
				"text": fieldMapping("text"),
				"tags": fieldMapping("tags"),
			})).
		WithPanel(timeseries.NewPanelBuilder().Id(1).
			Legend(legend()).Tooltip(tooltip()).
			Title("Post volume per minute vs baseline").
			Description("Posts about ${service} per minute over all sources, against their trailing one-hour mean.").
			Datasource(datasource()).
			WithTarget(target("A", q.postsPerMinute())).
			WithTarget(target("B", q.postsBaseline())).
			Unit("short").Min(0).
			OverrideByQuery("A", []dashboard.DynamicConfigValue{
				{Id: "displayName", Value: seriesPosts},
			}).
			OverrideByQuery("B", []dashboard.DynamicConfigValue{
				{Id: "displayName", Value: seriesBaseline},
				{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
				{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "text"}},
			}).
			Span(12).Height(8)).
		WithPanel(timeseries.NewPanelBuilder().Id(2).
			Legend(legend()).Tooltip(tooltip()).
			Title("Negative share and mean sentiment").
			Description("Share of negative posts (left) and mean sentiment in [-1, 1] (right), weighted by posts over all sources.").
			Datasource(datasource()).
			WithTarget(target("A", q.sentiment())).
			OverrideByName(influx.FieldNegativeShare, []dashboard.DynamicConfigValue{
				{Id: "unit", Value: "percentunit"},
				{Id: "min", Value: 0},
				{Id: "max", Value: 1},
				{Id: "displayName", Value: "negative share"},
			}).
			OverrideByName(influx.FieldSentimentMean, []dashboard.DynamicConfigValue{
				{Id: "custom.axisPlacement", Value: common.AxisPlacementRight},
				{Id: "min", Value: -1},
				{Id: "max", Value: 1},
				{Id: "displayName", Value: "mean sentiment"},
			}).
			Span(12).Height(8)).
		WithPanel(timeseries.NewPanelBuilder().Id(3).
			Legend(legend()).Tooltip(tooltip()).
			Title("Complaint categories").
			Description("Complaints per category and display interval.").
			Datasource(datasource()).
			WithTarget(target("A", q.categories())).
			DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
			DisplayName(labels(influx.TagCategory)).
			Unit("short").Min(0).
			Span(16).Height(8)).
		WithPanel(bargauge.NewPanelBuilder().Id(4).
			Title("Complaints by category (whole range)").
			Datasource(datasource()).
			WithTarget(target("A", q.categoryTotals())).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
			DisplayName(labels(influx.TagCategory)).
			Orientation(common.VizOrientationHorizontal).
			Unit("short").Min(0).
			Span(8).Height(8)).
		WithPanel(timeseries.NewPanelBuilder().Id(5).
			Legend(legend()).Tooltip(tooltip()).
			Title("Error rates per version and ring").
			Description("Service metrics that are not latencies, per name, version (\"" + influx.BaselineVersion + "\" is the old cohort; a sample pushed with only a release id shows its release instead) and ring.").
			Datasource(datasource()).
			WithTarget(target("A", q.metric(false))).
			DisplayName(labels(influx.TagName, influx.TagVersion, influx.TagRelease, influx.TagRing)).
			Min(0).
			Span(12).Height(8)).
		WithPanel(timeseries.NewPanelBuilder().Id(6).
			Legend(legend()).Tooltip(tooltip()).
			Title("Latency per version and ring").
			Description("Service metrics whose name says latency or duration, per name, version (a sample pushed with only a release id shows its release instead) and ring.").
			Datasource(datasource()).
			WithTarget(target("A", q.metric(true))).
			DisplayName(labels(influx.TagName, influx.TagVersion, influx.TagRelease, influx.TagRing)).
			Min(0).
			Span(12).Height(8)).
		WithPanel(timeseries.NewPanelBuilder().Id(7).
			Legend(legend()).Tooltip(tooltip()).
			Title("Canary score").
			Description("The judge's score (0–100) of ${release} per ring; below the marginal threshold a ring fails.").
			Datasource(datasource()).
			WithTarget(target("A", q.score())).
			DisplayName(labels(influx.TagRing)).
			Min(0).Max(100).
			Thresholds(scoreThresholds()).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
			Span(16).Height(8)).
		WithPanel(stat.NewPanelBuilder().Id(8).
			Title("Latest decision per ring").
			Datasource(datasource()).
			WithTarget(target("A", q.decision())).
			ReduceOptions(common.NewReduceDataOptionsBuilder().
				Calcs([]string{"lastNotNull"}).
				Fields("/^" + influx.TagDecision + "$/")).
			DisplayName(labels(influx.TagRing)).
			TextMode(common.BigValueTextModeValueAndName).
			ColorMode(common.BigValueColorModeBackground).
			GraphMode(common.BigValueGraphModeNone).
			Orientation(common.VizOrientationAuto).
			Mappings(decisionMappings()).
			Span(8).Height(8)).
		WithPanel(table.NewPanelBuilder().Id(9).
			Title("Anomalies").
			Description("Signals of ${release} that left their baseline, newest first.").
			Datasource(datasource()).
			WithTarget(target("A", q.anomalies())).
			SortBy([]cog.Builder[common.TableSortByFieldState]{
				common.NewTableSortByFieldStateBuilder().DisplayName("_time").Desc(true),
			}).
			OverrideByName(influx.FieldStrength, []dashboard.DynamicConfigValue{
				{Id: "unit", Value: "percentunit"},
			}).
			Span(24).Height(10))
}

func fieldMapping(field string) cog.Builder[dashboard.AnnotationEventFieldMapping] {
	return dashboard.NewAnnotationEventFieldMappingBuilder().
		Source(dashboard.AnnotationEventFieldSourceField).
		Value(field)
}

// scoreThresholds are the judge's default marginal (50) and pass (90) scores.
func scoreThresholds() cog.Builder[dashboard.ThresholdsConfig] {
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps([]dashboard.Threshold{
			{Color: "red"},
			{Value: cog.ToPtr(50.0), Color: "yellow"},
			{Value: cog.ToPtr(90.0), Color: "green"},
		})
}

// decisionMappings colour the verdict decisions.
func decisionMappings() []dashboard.ValueMapping {
	colors := []struct{ decision, color string }{
		{signals.DecisionPass, "green"},
		{signals.DecisionMarginal, "yellow"},
		{signals.DecisionFail, "red"},
		{signals.DecisionWait, "blue"},
	}
	options := map[string]dashboard.ValueMappingResult{}
	for i, c := range colors {
		options[c.decision] = dashboard.ValueMappingResult{
			Text:  cog.ToPtr(c.decision),
			Color: cog.ToPtr(c.color),
			Index: cog.ToPtr(int32(i)),
		}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type:    dashboard.MappingTypeValueToText,
		Options: options,
	}}}
}

package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/aftershock/aftershock/internal/sink/influx"
)

// crawlerNote explains where crawl lag and errors are: the daemon's
// Prometheus metrics, not InfluxDB.
const crawlerNote = `Crawl lag, poll errors and rate limits are Prometheus metrics of the Aftershock daemon
(` + "`GET /metrics`" + `), not InfluxDB data. Scrape the daemon and add a Prometheus datasource to chart them:

| metric | what |
|---|---|
| ` + "`aftershock_crawler_lag_seconds`" + ` | age of the newest item seen, per source |
| ` + "`aftershock_crawler_poll_errors_total`" + ` | failed polls, per source |
| ` + "`aftershock_crawler_last_success_timestamp_seconds`" + ` | last successful poll |
| ` + "`aftershock_crawler_rate_limit_remaining`" + ` | requests left in the API's window |
| ` + "`aftershock_crawler_posts_total`" + ` | posts published, per source |
| ` + "`aftershock_crawler_health`" + ` | 1 for each source's current state: ok, degraded, silent or failing |
`

// sources is "Aftershock — Sources": volume and negativity per source for
// the chosen services.
func sources(q queries) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder("Aftershock — Sources").
		Uid(SourcesUID).
		Description("What each crawled source brings in: posts and negative posts per minute.").
		Tags([]string{"aftershock"}).
		Refresh("1m").
		Time("now-24h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(queryVariable("service", "Service", q.sourcesServiceVariable()).
			Multi(true).
			IncludeAll(true)).
		WithPanel(timeseries.NewPanelBuilder().Id(1).
			Legend(legend()).Tooltip(tooltip()).
			Title("Posts per minute per source").
			Datasource(datasource()).
			WithTarget(target("A", q.perSource(influx.FieldPosts))).
			DisplayName(labels(influx.TagSource)).
			Unit("short").Min(0).
			Span(12).Height(9)).
		WithPanel(timeseries.NewPanelBuilder().Id(2).
			Legend(legend()).Tooltip(tooltip()).
			Title("Negative posts per minute per source").
			Datasource(datasource()).
			WithTarget(target("A", q.perSource(influx.FieldNegative))).
			DisplayName(labels(influx.TagSource)).
			Unit("short").Min(0).
			Span(12).Height(9)).
		WithPanel(text.NewPanelBuilder().Id(3).
			Title("Crawl lag and errors").
			Content(crawlerNote).
			Mode(text.TextModeMarkdown).
			Span(24).Height(7))
}

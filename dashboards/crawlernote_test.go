package dashboards

import (
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
)

// TestCrawlerNoteNamesRealMetrics: every metric the Sources dashboard's
// note points at is one the crawlers register, and every crawler metric is
// in the note.
func TestCrawlerNoteNamesRealMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := crawlers.NewMetrics(reg)
	// A gauge or counter vector is only gathered once it has a child.
	m.Posts.WithLabelValues("s", "published", "").Inc()
	m.Samples.WithLabelValues("s", "published", "").Inc()
	m.Errors.WithLabelValues("s", "http").Inc()
	m.PollDuration.WithLabelValues("s").Observe(1)
	m.Lag.WithLabelValues("s").Set(1)
	m.LastSuccess.WithLabelValues("s").Set(1)
	m.RateLimitRemaining.WithLabelValues("s").Set(1)
	m.Health.WithLabelValues("s", "ok").Set(1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, mf := range mfs {
		registered[mf.GetName()] = true
	}
	named := map[string]bool{}
	for _, n := range regexp.MustCompile("`(aftershock_[a-z_]+)`").FindAllStringSubmatch(crawlerNote, -1) {
		named[n[1]] = true
		if !registered[n[1]] {
			t.Errorf("the Sources dashboard names %s, which the crawlers do not register", n[1])
		}
	}
	for n := range registered {
		if !named[n] && n != "aftershock_crawler_poll_duration_seconds" && n != "aftershock_crawler_metric_samples_total" {
			t.Errorf("crawler metric %s is not in the Sources dashboard's note", n)
		}
	}
}

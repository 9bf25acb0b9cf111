package appstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/appstore"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// now is the tests' start time: shortly after the fixtures' newest item.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// routes maps a path (see page) to fixture files.
type routes = map[string][]string

// appID is the fixtures' app.
const appID = "389801252"

// page is the feed path of a country's page.
func page(cc string, n int) string {
	return fmt.Sprintf("/%s/rss/customerreviews/page=%d/id=%s/sortby=mostrecent/json", cc, n, appID)
}

// newSource builds an appstore source against the fixture server; options
// is extra YAML under `options:` (indented by four spaces).
func newSource(t *testing.T, srv *crawlertest.Server, c *crawlertest.Clock, options string) *appstore.Source {
	t.Helper()
	spec := crawlertest.Spec(t, fmt.Sprintf(`
name: appstore-shop
type: appstore
service: shop
timeout: 2s
options:
    base_url: %q
    app_id: "%s"
%s`, srv.URL, appID, options))
	if c == nil {
		c = crawlertest.NewClock(now)
	}
	src, err := appstore.New(spec, crawlers.Deps{Now: c.Now})
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}

package appstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/appstore"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// now is the tests' start time: shortly after the fixtures' newest item.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: now} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

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
func newSource(t *testing.T, srv *crawlertest.Server, c *clock, options string) *appstore.Source {
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
		c = newClock()
	}
	src, err := appstore.New(spec, crawlers.Deps{Now: c.Now})
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}

package reddit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/reddit"
)

// now is the tests' start time: shortly after the fixtures' newest item.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// routes maps a path ("/api/v1/access_token", "/search") to fixture files.
type routes = map[string][]string

const (
	tokenPath = "/api/v1/access_token"
	clientID  = "p-jcoLKBynTLew"
	secret    = "gko_LXELoV07ZBNUXrvWZfzE3aI"
)

// newSource builds a reddit source against the fixture server; options is
// extra YAML under `options:` (indented by four spaces).
func newSource(t *testing.T, srv *crawlertest.Server, c *crawlertest.Clock, options string) *reddit.Source {
	t.Helper()
	spec := crawlertest.Spec(t, fmt.Sprintf(`
name: reddit-shop
type: reddit
service: shop
timeout: 2s
options:
    base_url: %q
    token_url: %q
    client_id: %s
    client_secret: %s
%s`, srv.URL, srv.URL+tokenPath, clientID, secret, options))
	if c == nil {
		c = crawlertest.NewClock(now)
	}
	src, err := reddit.New(spec, crawlers.Deps{Now: c.Now})
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}

package crawlertest

import (
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/internal/testclock"
)

// Clock is a settable test clock (internal/testclock), safe for concurrent use.
type Clock = testclock.Clock

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return testclock.New(t) }

// TLSDeps are the Deps of a source talking to a TLS test server: clock now
// and HTTP clients that trust srv, with the timeout the source asks for.
func TLSDeps(srv *httptest.Server, now func() time.Time) crawlers.Deps {
	return crawlers.Deps{
		Now: now,
		HTTPClient: func(timeout time.Duration) *http.Client {
			c := *srv.Client()
			c.Timeout = timeout
			return &c
		},
	}
}

package crawlertest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// Clock is a settable test clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

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

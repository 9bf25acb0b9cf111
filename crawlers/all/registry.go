// Package all lists every source type Aftershock knows. It lives apart from
// package crawlers because each source package imports crawlers for its
// contracts; adding a source is one line here.
package all

import (
	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/feed"
)

// DefaultRegistry returns a registry of every source type.
func DefaultRegistry() *crawlers.Registry {
	r := crawlers.NewRegistry()
	r.Add(feed.Type, feed.Constructor)
	return r
}

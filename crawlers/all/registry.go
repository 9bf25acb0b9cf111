// Package all lists every source type Aftershock knows. It lives apart from
// package crawlers because each source package imports crawlers for its
// contracts; adding a source is one line here.
package all

import (
	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/appstore"
	"github.com/aftershock/aftershock/crawlers/bluesky"
	"github.com/aftershock/aftershock/crawlers/feed"
	"github.com/aftershock/aftershock/crawlers/forum"
	"github.com/aftershock/aftershock/crawlers/hackernews"
	"github.com/aftershock/aftershock/crawlers/mastodon"
	"github.com/aftershock/aftershock/crawlers/playreviews"
	"github.com/aftershock/aftershock/crawlers/prometheus"
	"github.com/aftershock/aftershock/crawlers/reddit"
	"github.com/aftershock/aftershock/crawlers/x"
)

// DefaultRegistry returns a registry of every source type.
func DefaultRegistry() *crawlers.Registry {
	r := crawlers.NewRegistry()
	r.Add(feed.Type, feed.Constructor)
	r.Add(x.Type, x.Constructor)
	r.Add(reddit.Type, reddit.Constructor)
	r.Add(appstore.Type, appstore.Constructor)
	r.Add(mastodon.Type, mastodon.Constructor)
	r.Add(hackernews.Type, hackernews.Constructor)
	r.Add(bluesky.Type, bluesky.Constructor)
	r.Add(forum.Type, forum.Constructor)
	r.Add(prometheus.Type, prometheus.Constructor)
	r.Add(playreviews.Type, playreviews.Constructor)
	return r
}

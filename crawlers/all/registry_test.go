package all

import (
	"slices"
	"testing"
)

func TestEveryTypeRegistered(t *testing.T) {
	got := DefaultRegistry().Types()
	for _, want := range []string{"feed", "x", "reddit", "appstore", "mastodon", "hackernews", "bluesky", "forum", "prometheus"} {
		if !slices.Contains(got, want) {
			t.Errorf("type %q not registered (have %v)", want, got)
		}
	}
}

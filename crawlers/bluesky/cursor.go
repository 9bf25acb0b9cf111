package bluesky

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// MaxSeen bounds the post ids a polling cursor remembers; past it the
// oldest are forgotten (the runner's Nats-Msg-Id still drops a repeat
// within JetStream's duplicate window).
const MaxSeen = 1000

// cursorState is the cursor of a polling Bluesky source, stored as JSON:
//
//	{"newest":"2026-11-24T09:58:00.123Z",
//	 "seen":{"did:plc:abc/3lb2c…":1764064680123},
//	 "walk":{"since":"2026-11-24T09:57:00.123Z","cursor":"100"}}
//
// Newest is the newest sortAt read; the next search asks since Newest less
// the overlap. Seen holds the ids ("<did>/<rkey>") read at or after that
// floor, with the later of their createdAt and indexedAt in Unix
// milliseconds, so the overlap returns nothing twice. Walk is set while a
// burst is paged back with the search cursor: the same since and the next
// page's cursor.
type cursorState struct {
	Newest time.Time        `json:"newest,omitzero"`
	Seen   map[string]int64 `json:"seen,omitempty"`
	Walk   *walk            `json:"walk,omitempty"`
}

// walk is a search being paged back.
type walk struct {
	Since  string `json:"since,omitempty"`
	Cursor string `json:"cursor"`
}

func decodeCursor(s string) (cursorState, error) {
	c, err := crawlers.DecodeCursor[cursorState](s)
	if err != nil {
		return cursorState{}, err
	}
	if c.Walk != nil {
		if c.Walk.Cursor == "" {
			return cursorState{}, fmt.Errorf("decoding cursor: walk without a search cursor")
		}
		if _, err := parseTime(c.Walk.Since); c.Walk.Since != "" && err != nil {
			return cursorState{}, fmt.Errorf("decoding cursor: walk since %q: %w", c.Walk.Since, err)
		}
	}
	for id := range c.Seen {
		if did, rkey, ok := strings.Cut(id, "/"); !ok || !validDID(did) || !validRkey(rkey) {
			return cursorState{}, fmt.Errorf("decoding cursor: seen id %q is not <did>/<rkey>", id)
		}
	}
	return c, nil
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

// prune forgets ids read before from and keeps at most limit, the newest.
func (c *cursorState) prune(from time.Time, limit int) {
	ms := from.UnixMilli()
	maps.DeleteFunc(c.Seen, func(_ string, at int64) bool { return at < ms })
	if len(c.Seen) <= limit {
		return
	}
	ids := slices.Collect(maps.Keys(c.Seen))
	slices.SortFunc(ids, func(a, b string) int {
		if n := cmp.Compare(c.Seen[b], c.Seen[a]); n != 0 {
			return n // newest first
		}
		return strings.Compare(a, b)
	})
	for _, id := range ids[limit:] {
		delete(c.Seen, id)
	}
}

// formatTime writes a datetime as searchPosts' since expects it.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

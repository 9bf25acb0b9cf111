package forum

import (
	"slices"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// maxSeen bounds the ring of recent ids kept in the cursor. It must exceed
// the rows of max_pages list pages, so no visible row is ever forgotten.
const maxSeen = 500

// cursorState is the forum's cursor, stored as a JSON string.
//
// Board times are coarse (a minute, often only a day) and pages show rows
// that were already read, so what was seen is told by id: Seen holds the
// last maxSeen ids found. Newest, the newest row time, keeps rows from far
// back out even once their id left the ring (timeSlack before it).
type cursorState struct {
	Newest time.Time `json:"newest,omitzero"`
	Seen   []string  `json:"seen,omitempty"`

	// A run reads list pages from the first on until a page reaches rows
	// seen before it. Between the polls of one run the cursor holds the
	// next list page, the pages read so far, Floor (Newest when the run
	// began), Fresh (how many of the last Seen ids this run added) and
	// Pending, the rows whose view pages are still to be read.
	Next    string    `json:"next,omitempty"`
	Pages   int       `json:"pages,omitempty"`
	Floor   time.Time `json:"floor,omitzero"`
	Fresh   int       `json:"fresh,omitempty"`
	Pending []row     `json:"pending,omitempty"`
}

// seen reports whether id is in the ring.
func (c *cursorState) seen(id string) bool { return slices.Contains(c.Seen, id) }

// seenBefore reports whether id was in the ring before this run.
func (c *cursorState) seenBefore(id string) bool {
	old := c.Seen[:max(0, len(c.Seen)-c.Fresh)]
	return slices.Contains(old, id)
}

// remember adds id to the ring, dropping the oldest beyond maxSeen.
func (c *cursorState) remember(id string) {
	c.Seen = append(c.Seen, id)
	c.Fresh++
	if len(c.Seen) > maxSeen {
		c.Seen = slices.Clone(c.Seen[len(c.Seen)-maxSeen:])
	}
}

// inRun reports whether a run is under way.
func (c *cursorState) inRun() bool { return c.Next != "" || len(c.Pending) > 0 }

// endRun clears the state of a finished run.
func (c *cursorState) endRun() {
	c.Next, c.Pages, c.Floor, c.Fresh, c.Pending = "", 0, time.Time{}, 0, nil
}

func decodeCursor(s string) (cursorState, error) {
	c, err := crawlers.DecodeCursor[cursorState](s)
	if err != nil {
		return cursorState{}, err
	}
	return c, nil
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

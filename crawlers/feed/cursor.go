package feed

import (
	"fmt"
	"slices"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// maxMarkIDs bounds the ids kept for one timestamp.
const maxMarkIDs = 1000

// mark is a position in a feed: the newest item time and the ids of the
// items seen at exactly that time.
type mark struct {
	Time time.Time `json:"time,omitzero"`
	IDs  []string  `json:"ids,omitempty"`
}

// isNew reports whether an item is past the mark.
func (m mark) isNew(t time.Time, id string) bool {
	return t.After(m.Time) || (t.Equal(m.Time) && !slices.Contains(m.IDs, id))
}

// add moves the mark to include an item.
func (m *mark) add(t time.Time, id string) {
	switch {
	case t.After(m.Time):
		m.Time, m.IDs = t.UTC(), []string{id}
	case t.Equal(m.Time) && !slices.Contains(m.IDs, id):
		m.IDs = append(m.IDs, id)
		if len(m.IDs) > maxMarkIDs {
			m.IDs = m.IDs[len(m.IDs)-maxMarkIDs:]
		}
	}
}

// cursorState is the feed's cursor, stored as a JSON string.
type cursorState struct {
	// Mark is how far the feed was read.
	Mark mark `json:"mark"`
	// ETag and Modified are the validators of the last full fetch of the
	// feed URL, for a conditional GET.
	ETag     string `json:"etag,omitempty"`
	Modified string `json:"modified,omitempty"`
	// Next is the page to fetch next while following pages; Pages counts
	// the pages followed; Floor is the mark before this run began.
	Next  string `json:"next,omitempty"`
	Pages int    `json:"pages,omitempty"`
	Floor *mark  `json:"floor,omitempty"`
}

func decodeCursor(s string) (cursorState, error) {
	c, err := crawlers.DecodeCursor[cursorState](s)
	if err != nil {
		return cursorState{}, err
	}
	if c.Next != "" && c.Floor == nil {
		return cursorState{}, fmt.Errorf("decoding cursor: next page without a floor")
	}
	return c, nil
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

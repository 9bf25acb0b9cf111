package hackernews

import (
	"fmt"
	"slices"

	"github.com/aftershock/aftershock/crawlers"
)

// maxMarkIDs bounds the ids kept for one second.
const maxMarkIDs = 1000

// mark is a position in the search results: the newest created_at_i read
// and the objectIDs read at exactly that second.
type mark struct {
	Time int64    `json:"time,omitempty"`
	IDs  []string `json:"ids,omitempty"`
}

// isNew reports whether a hit is past the mark.
func (m mark) isNew(t int64, id string) bool {
	return t > m.Time || (t == m.Time && !slices.Contains(m.IDs, id))
}

// add moves the mark to include a hit.
func (m *mark) add(t int64, id string) {
	switch {
	case t > m.Time:
		m.Time, m.IDs = t, []string{id}
	case t == m.Time && !slices.Contains(m.IDs, id):
		m.IDs = append(m.IDs, id)
		if len(m.IDs) > maxMarkIDs {
			m.IDs = m.IDs[len(m.IDs)-maxMarkIDs:]
		}
	}
}

// older reports whether a hit lies past the mark going back in time:
// before its second, or at its second but not read yet.
func (m mark) older(t int64, id string) bool {
	return t < m.Time || (t == m.Time && !slices.Contains(m.IDs, id))
}

// addOld moves the mark back to include a hit (results run newest first).
func (m *mark) addOld(t int64, id string) {
	switch {
	case m.Time == 0 || t < m.Time:
		m.Time, m.IDs = t, []string{id}
	case t == m.Time && !slices.Contains(m.IDs, id):
		m.IDs = append(m.IDs, id)
		if len(m.IDs) > maxMarkIDs {
			m.IDs = m.IDs[len(m.IDs)-maxMarkIDs:]
		}
	}
}

// cursorState is the cursor of a Hacker News source, stored as JSON:
//
//	{"mark":{"time":1795512660,"ids":["46032101","46032102"]}}
//
// While a run pages through older results, Page is the next page to read,
// Floor the mark the run started from and Last the oldest hit read so far
// (hits that arrive during the run push results down a page; Last keeps
// them from being read twice).
type cursorState struct {
	Mark  mark  `json:"mark"`
	Page  int   `json:"page,omitempty"`
	Floor *mark `json:"floor,omitempty"`
	Last  *mark `json:"last,omitempty"`
}

func decodeCursor(s string) (cursorState, error) {
	c, err := crawlers.DecodeCursor[cursorState](s)
	if err != nil {
		return cursorState{}, err
	}
	if (c.Page > 0) != (c.Floor != nil) || c.Page < 0 {
		return cursorState{}, fmt.Errorf("decoding cursor: page %d with floor %v", c.Page, c.Floor != nil)
	}
	return c, nil
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

package appstore

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// mark is how far a country's feed was read: the newest review id and its
// update time.
type mark struct {
	ID      string    `json:"id,omitempty"`
	Updated time.Time `json:"updated,omitzero"`
}

// before reports whether review id is newer than the mark: ids are
// increasing decimal numbers, compared without limit on their size.
func (m mark) before(id string) bool {
	return numLess(m.ID, id)
}

// add moves the mark to include a review.
func (m *mark) add(id string, updated time.Time) {
	if numLess(m.ID, id) {
		m.ID = id
	}
	if updated.After(m.Updated) {
		m.Updated = updated
	}
}

// numLess compares two decimal numbers ("" is less than any number).
func numLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// step is one request of a run: page Page (1-based) of a country, compared
// against the mark from before the run (Floor) from page 2 on.
type step struct {
	Country string `json:"country"`
	Page    int    `json:"page"`
	Floor   *mark  `json:"floor,omitempty"`
}

// cursorState is the source's cursor, stored as a JSON string.
type cursorState struct {
	Marks   map[string]mark `json:"marks,omitempty"`
	Pending []step          `json:"pending,omitempty"`
}

func decodeCursor(s string) (cursorState, error) {
	c, err := crawlers.DecodeCursor[cursorState](s)
	if err != nil {
		return cursorState{}, err
	}
	for _, st := range c.Pending {
		if st.Page < 1 || st.Page > MaxPages || (st.Page > 1 && st.Floor == nil) {
			return cursorState{}, fmt.Errorf("decoding cursor: bad step %+v", st)
		}
	}
	return c, nil
}

// prune drops marks and steps of countries no longer configured.
func (c *cursorState) prune(countries []string) {
	for cc := range c.Marks {
		if !slices.Contains(countries, cc) {
			delete(c.Marks, cc)
		}
	}
	c.Pending = slices.DeleteFunc(c.Pending, func(st step) bool { return !slices.Contains(countries, st.Country) })
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

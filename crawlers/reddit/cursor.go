package reddit

import (
	"fmt"
	"slices"

	"github.com/aftershock/aftershock/crawlers"
)

// maxMarkNames bounds the fullnames kept for one creation time.
const maxMarkNames = 100

// mark is how far a target was read: the newest creation time and the
// fullnames seen at exactly that time.
type mark struct {
	Created float64  `json:"created,omitempty"`
	Names   []string `json:"names,omitempty"`
}

// seen reports whether an item is at or before the mark.
func (m mark) seen(created float64, name string) bool {
	return created < m.Created || (created == m.Created && slices.Contains(m.Names, name))
}

// add moves the mark to include an item.
func (m *mark) add(created float64, name string) {
	switch {
	case created > m.Created:
		m.Created, m.Names = created, []string{name}
	case created == m.Created && !slices.Contains(m.Names, name):
		m.Names = append(m.Names, name)
		if len(m.Names) > maxMarkNames {
			m.Names = m.Names[len(m.Names)-maxMarkNames:]
		}
	}
}

// step is one request of a run: the first page of a target, or a later
// one (After set) compared against the mark from before the run (Floor).
type step struct {
	Target string `json:"target"`
	After  string `json:"after,omitempty"`
	Page   int    `json:"page,omitempty"` // 0 for the first page
	Floor  *mark  `json:"floor,omitempty"`
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
		if st.After != "" && st.Floor == nil {
			return cursorState{}, fmt.Errorf("decoding cursor: page of %s without a floor", st.Target)
		}
	}
	return c, nil
}

// prune drops marks and steps of targets no longer configured.
func (c *cursorState) prune(targets []target) {
	known := func(key string) bool {
		return slices.ContainsFunc(targets, func(t target) bool { return t.key == key })
	}
	for key := range c.Marks {
		if !known(key) {
			delete(c.Marks, key)
		}
	}
	c.Pending = slices.DeleteFunc(c.Pending, func(st step) bool { return !known(st.Target) })
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

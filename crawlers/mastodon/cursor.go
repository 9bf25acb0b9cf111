package mastodon

import (
	"fmt"
	"maps"
	"strings"

	"github.com/aftershock/aftershock/crawlers"
)

// cursorState is the cursor of a Mastodon source, stored as JSON:
//
//	{"newest":{"shopapp":"113550238427715001","@public":"113550238427715990"},"more":["shopapp"]}
//
// Newest maps each timeline (a hashtag as configured, without '#', or
// "@public") to the newest status id read from it; More lists the
// timelines that still had new statuses when the last page was full, so
// the next poll (at once) fetches only those.
type cursorState struct {
	Newest map[string]string `json:"newest,omitempty"`
	More   []string          `json:"more,omitempty"`
}

func decodeCursor(s string) (cursorState, error) {
	c, err := crawlers.DecodeCursor[cursorState](s)
	if err != nil {
		return cursorState{}, err
	}
	for k, id := range c.Newest {
		if !validID(id) {
			return cursorState{}, fmt.Errorf("decoding cursor: timeline %q: id %q is not a number", k, id)
		}
	}
	return c, nil
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

func (c cursorState) clone() cursorState {
	return cursorState{Newest: maps.Clone(c.Newest), More: nil}
}

// validID reports whether id is a Mastodon status id: a decimal number
// (a 64-bit snowflake, sent as a string).
func validID(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// idLess reports whether status id a is older than b. Ids are compared as
// numbers: "99" < "100", which a string comparison gets wrong.
func idLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// maxID returns the newer of two ids; "" is older than any id.
func maxID(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case idLess(a, b):
		return b
	}
	return a
}

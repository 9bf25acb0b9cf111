package x

import (
	"fmt"
	"strconv"

	"github.com/aftershock/aftershock/crawlers"
)

// cursorState is the source's cursor, stored as a JSON string such as
// {"since_id":"1861000000000000000"}. Both API versions share it, since
// post ids are the same in v1.1 and v2.
type cursorState struct {
	// SinceID is the newest post id of the last complete run; the next run
	// asks for posts after it.
	SinceID string `json:"since_id,omitempty"`
	// While a run pages back through the results: the v2 next_token or the
	// v1.1 max_id of the next page, the newest id seen so far in the run,
	// and how many pages were read.
	NextToken string `json:"next_token,omitempty"`
	MaxID     string `json:"max_id,omitempty"`
	NewestID  string `json:"newest_id,omitempty"`
	Pages     int    `json:"pages,omitempty"`
}

func decodeCursor(s string) (cursorState, error) {
	c, err := crawlers.DecodeCursor[cursorState](s)
	if err != nil {
		return cursorState{}, err
	}
	for name, id := range map[string]string{"since_id": c.SinceID, "max_id": c.MaxID, "newest_id": c.NewestID} {
		if id != "" && !validID(id) {
			return cursorState{}, fmt.Errorf("decoding cursor: %s %q is not a post id", name, id)
		}
	}
	return c, nil
}

func (c cursorState) encode() string { return crawlers.EncodeCursor(c) }

// finish ends a run: since_id moves to the newest id the run saw.
func (c cursorState) finish() cursorState {
	return cursorState{SinceID: newer(c.SinceID, c.NewestID)}
}

// validID reports whether s is a post id: a positive 64-bit decimal number.
func validID(s string) bool {
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0 && s[0] != '0'
}

// newer returns the numerically larger of two ids, ignoring invalid ones.
func newer(a, b string) string {
	if !validID(b) {
		if validID(a) {
			return a
		}
		return ""
	}
	if !validID(a) {
		return b
	}
	na, _ := strconv.ParseUint(a, 10, 64)
	nb, _ := strconv.ParseUint(b, 10, 64)
	if nb > na {
		return b
	}
	return a
}

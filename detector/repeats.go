package detector

import (
	"hash/fnv"
	"strings"
	"time"
	"unicode"
)

// Spam and copy-paste waves post one text from dozens of accounts. Counted
// as complaints they look like a sudden incident, yet they are one voice:
// a text seen again within repeatWindow still counts as a post, but not
// again as a complaint (nor in a category, nor about the release). Real
// incidents bring many different texts.

const (
	repeatWindow = time.Hour
	maxRepeats   = 1024 // remembered texts per service (a spam wave is minutes long)
)

type repeats struct {
	seen  map[uint64]time.Time
	order []uint64 // FIFO of remembered hashes
	next  int
}

// repeated reports whether text was seen within repeatWindow before t, and
// remembers it.
func (r *repeats) repeated(text string, t time.Time) bool {
	if strings.TrimSpace(text) == "" {
		return false
	}
	h := textHash(text)
	if r.seen == nil {
		r.seen = make(map[uint64]time.Time, 64)
		r.order = make([]uint64, 0, 64)
	}
	if at, ok := r.seen[h]; ok {
		if t.Sub(at) < repeatWindow && t.Sub(at) > -repeatWindow {
			return true
		}
		r.seen[h] = t
		return false
	}
	if len(r.order) < maxRepeats {
		r.order = append(r.order, h)
	} else {
		delete(r.seen, r.order[r.next])
		r.order[r.next] = h
		r.next = (r.next + 1) % maxRepeats
	}
	r.seen[h] = t
	return false
}

// textHash hashes a text's letters and digits, lower-cased: spacing,
// punctuation and case do not make a copy new.
func textHash(text string) uint64 {
	f := fnv.New64a()
	var buf [4]byte
	for _, c := range text {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			continue
		}
		c = unicode.ToLower(c)
		n := encodeRune(buf[:], c)
		_, _ = f.Write(buf[:n])
	}
	return f.Sum64()
}

func encodeRune(b []byte, r rune) int {
	switch {
	case r < 0x80:
		b[0] = byte(r)
		return 1
	case r < 0x800:
		b[0], b[1] = byte(0xC0|r>>6), byte(0x80|r&0x3F)
		return 2
	case r < 0x10000:
		b[0], b[1], b[2] = byte(0xE0|r>>12), byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F)
		return 3
	default:
		b[0], b[1], b[2], b[3] = byte(0xF0|r>>18), byte(0x80|(r>>12)&0x3F), byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F)
		return 4
	}
}

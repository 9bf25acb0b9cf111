package bus

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// KeyToken makes s one token of a KV key (or a subject): every byte
// outside [A-Za-z0-9_-] becomes =XX (upper-case hex), and "" becomes "=".
// Different strings give different tokens.
func KeyToken(s string) string {
	if s == "" {
		return "="
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}

// Snapshot reads the values w starts with (those of the keys it watches,
// up to the marker that ends them) and calls f for each, then stops w. It
// returns ctx's error if ctx ends first.
func Snapshot(ctx context.Context, w jetstream.KeyWatcher, f func(jetstream.KeyValueEntry)) error {
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-w.Updates():
			if e == nil { // the initial values are all delivered
				return nil
			}
			f(e)
		}
	}
}

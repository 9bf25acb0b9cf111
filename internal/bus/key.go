package bus

import (
	"fmt"
	"strings"
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

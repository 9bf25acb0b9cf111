package bus

import (
	"regexp"
	"testing"
)

func TestKeyToken(t *testing.T) {
	tokenChars := regexp.MustCompile(`^[A-Za-z0-9_=-]+$`)
	seen := map[string]string{}
	for in, want := range map[string]string{
		"":            "=",
		"=":           "=3D",
		"shop-4.2.0":  "shop-4=2E2=2E0",
		"H2":          "H2",
		"a b/c*>":     "a=20b=2Fc=2A=3E",
		"ana@ex.org":  "ana=40ex=2Eorg",
		"é":           "=C3=A9",
		"under_score": "under_score",
	} {
		got := KeyToken(in)
		if got != want {
			t.Errorf("KeyToken(%q) = %q, want %q", in, got, want)
		}
		if !tokenChars.MatchString(got) {
			t.Errorf("KeyToken(%q) = %q: not one key token", in, got)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("KeyToken(%q) = KeyToken(%q) = %q", in, other, got)
		}
		seen[got] = in
	}
}

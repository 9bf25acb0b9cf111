package clustertest

import (
	"strings"
	"testing"
	"unicode"

	"github.com/aftershock/aftershock/signals/enrich"
)

// TestIncidentTextsAreComplaints checks the failover test's incident: every
// complaint is negative to the default analyzer and no text repeats within
// the hour the detector remembers texts for (a repeat is not another
// complaint), so the halt depends on counting, not on luck.
func TestIncidentTextsAreComplaints(t *testing.T) {
	an, err := enrich.New(enrich.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const perHour = 3600 / 4 // one complaint every 4 s
	seen := map[string]int{}
	negative := 0
	for k := range 2 * perHour {
		text := complaint(k)
		// The detector compares letters and digits, lower-cased.
		key := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, text)
		if j, ok := seen[key]; ok && k-j < perHour {
			t.Fatalf("complaint %d repeats complaint %d within the hour: %q", k, j, text)
		}
		seen[key] = k
		if e := an.Enrich(text, "en"); e.Negative() {
			negative++
		} else if k < 64 {
			t.Errorf("complaint %d is not negative to the analyzer: %q", k, text)
		}
	}
	if negative < 2*perHour*9/10 {
		t.Errorf("%d of %d complaints negative, want at least 90%%", negative, 2*perHour)
	}
}

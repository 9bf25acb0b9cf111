package enrich

import (
	"slices"
	"testing"
)

// TestEnglishIdiomsNoComplaint holds the block phrases added for praise the
// rules misread: "bugs me" (annoys) and an absence that is praise.
func TestEnglishIdiomsNoComplaint(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	for _, text := range []string{
		"The one thing that bugs me is how short the game is",
		"So far no in app purchases!",
	} {
		if e := a.Enrich(text, ""); e.Negative() || len(e.Categories) > 0 {
			t.Errorf("%q: complaint %v, categories %q, want neither", text, e.Negative(), e.Categories)
		}
	}
	for _, text := range []string{"this bug drives me mad, the app crashes", "ads keep freezing the app"} {
		if e := a.Enrich(text, ""); !e.Negative() {
			t.Errorf("%q: no complaint", text)
		}
	}
}

// TestEnglishFailureWording holds the failure wordings of real Bug reports
// the rules used to miss: each is a complaint in its category.
func TestEnglishFailureWording(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	for _, c := range []struct{ text, category string }{
		{"the widget hasn't worked since yesterday", ""},
		{"sync no longer works on my phone", ""},
		{"it corrupts my notes every time", ""},
		{"takes 30 seconds to load a page now", "slow"},
		{"the app slowed to a crawl after the update", "slow"},
	} {
		e := a.Enrich(c.text, "")
		if !e.Negative() {
			t.Errorf("%q: no complaint (categories %q)", c.text, e.Categories)
		}
		if c.category != "" && !slices.Contains(e.Categories, c.category) {
			t.Errorf("%q: categories %q, want %s", c.text, e.Categories, c.category)
		}
	}
}

package enrich

import "testing"

func TestTry(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	for _, s := range []string{
		"new version 5.0 is out today",
		"the app keeps asking me to rate it every single time",
		"why does the total show a different price at the end",
		"nothing happens when I tap the send button",
		"the cart keeps emptying itself",
		"the notifications stopped since tuesday",
		"my order history shows someone else's orders",
		"search only shows results from last year",
		"the map shows me in the wrong city",
		"I can't find the settings page anymore",
		"the video plays with no audio",
		"the app icon changed color",
		"they changed the logo I think",
		"photos upload sideways every time",
		"can't see my playlists anymore",
	} {
		e := a.Enrich(s, "")
		t.Logf("%v p=%.2f cats=%v %q", e.Negative(), a.en.Prob(s), e.Categories, s)
	}
}

package enrich

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestDevComplaints measures the recogniser on the development sets
// (testdata/complaints-dev and -dev2: social posts written and labelled by
// RULES.md by someone who never saw the recogniser; unlike the
// complaints-heldout* sets they may be read and tuned on).
// ENRICH_DEV_PRINT=1 prints the figures, =fp the posts wrongly read as
// complaints, =fn the missed ones, =cat the complaints with other
// categories; ENRICH_DEV_SET=complaints-dev2 picks one set.
func TestDevComplaints(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	mode, only := os.Getenv("ENRICH_DEV_PRINT"), os.Getenv("ENRICH_DEV_SET")
	for _, set := range []struct {
		dir    string
		floors map[string][2]float64
	}{
		{"complaints-dev", devFloors},
		{"complaints-dev2", dev2Floors},
	} {
		if only != "" && only != set.dir {
			continue
		}
		t.Run(set.dir, func(t *testing.T) {
			posts := loadHeldout(t, "../testdata/"+set.dir+"/posts.tsv")
			for _, lang := range []string{"", "en", "ko"} {
				f := measureHeldout(a, posts, lang)
				if mode != "" {
					t.Logf("%-3s %d posts: complaint %s; categories (micro) %s", lang, f.n, f.complaint, f.catMicro)
				}
				// a regression guard just under the set's figures
				if fl := set.floors[lang]; f.complaint.prec() < fl[0] || f.complaint.rec() < fl[1] {
					t.Errorf("%q: complaint %s, want P >= %.2f and R >= %.2f", lang, f.complaint, fl[0], fl[1])
				}
			}
			for _, r := range posts {
				e := a.Enrich(r.Text, "")
				got := e.Negative()
				switch {
				case mode == "fp" && got && !r.Complaint, mode == "fn" && !got && r.Complaint,
					mode == "cat" && got && r.Complaint && !slices.Equal(e.Categories, r.Categories):
					t.Logf("%s %s %s want [%s] got [%s] s=%.2f: %s", r.ID, r.Lang, r.Service, strings.Join(r.Categories, ","),
						strings.Join(e.Categories, ","), e.Sentiment, r.Text)
				}
			}
		})
	}
}

// devFloors: complaint P and R on complaints-dev, per language ("" all),
// just under the figures after session 8's changes (before them: all
// P 0.540 R 0.660).
var devFloors = map[string][2]float64{"": {0.62, 0.77}, "en": {0.60, 0.78}, "ko": {0.63, 0.75}}

// dev2Floors: the same on complaints-dev2, written after those changes
// (on them: all P 0.568 R 0.597) and used for the second round.
var dev2Floors = map[string][2]float64{"": {0.60, 0.64}, "en": {0.59, 0.62}, "ko": {0.60, 0.66}}

package enrich

import (
	"os"
	"slices"
	"testing"

	"github.com/aftershock/aftershock/signals/realdata"
)

// loadHeldout reads a labelled set (testdata/complaints-*/), written and
// labelled blind by RULES.md.
func loadHeldout(t *testing.T, path string) []realdata.LabelledPost {
	t.Helper()
	posts, err := realdata.ReadLabelledPosts(path)
	if err != nil {
		t.Fatal(err)
	}
	return posts
}

// heldoutFigures are the measures on the blind set, for one language or all.
type heldoutFigures struct {
	n, langOK   int
	complaint   confusion // Enrichment.Negative (the Complaint decision)
	anyCategory confusion // any category found, as the complaint decision
	catMicro    confusion // (post, category) pairs over all posts
	perCat      map[string]*confusion
}

func measureHeldout(a *Analyzer, set []realdata.LabelledPost, lang string) heldoutFigures {
	f := heldoutFigures{perCat: map[string]*confusion{}}
	for _, c := range categoryNames {
		f.perCat[c] = &confusion{}
	}
	// ENRICH_HELDOUT_RULES=1 measures the rules alone (no social model),
	// for a before/after figure on a set in one run
	rulesOnly := os.Getenv("ENRICH_HELDOUT_RULES") != ""
	for _, r := range set {
		if lang != "" && r.Lang != lang {
			continue
		}
		e := a.Enrich(r.Text, "")
		if rulesOnly {
			e = a.EnrichRules(r.Text, "")
		}
		f.n++
		if e.Lang == r.Lang {
			f.langOK++
		}
		f.complaint.add(e.Negative(), r.Complaint)
		f.anyCategory.add(len(e.Categories) > 0, r.Complaint)
		for _, c := range categoryNames {
			got, want := slices.Contains(e.Categories, c), slices.Contains(r.Categories, c)
			f.catMicro.add(got, want)
			f.perCat[c].add(got, want)
		}
	}
	return f
}

// TestHeldoutComplaints measures the complaint recogniser on the blind,
// held-out sets (signals/testdata/complaints-heldout, -heldout2 … -heldout6, -heldout8:
// written
// and labelled by someone who never saw the recogniser, by RULES.md). Each
// was run once, after the recogniser was frozen; the floors are just under
// that run.
func TestHeldoutComplaints(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	for _, set := range []struct {
		dir    string
		floors map[string][5]float64
	}{
		{"complaints-heldout", heldoutFloors},
		{"complaints-heldout2", heldout2Floors},
		{"complaints-heldout3", heldout3Floors},
		{"complaints-heldout4", heldout4Floors},
		{"complaints-heldout5", heldout5Floors},
		{"complaints-heldout6", heldout6Floors},
		{"complaints-heldout8", heldout8Floors},
	} {
		t.Run(set.dir, func(t *testing.T) {
			posts := loadHeldout(t, "../testdata/"+set.dir+"/posts.tsv")
			for _, lang := range []string{"", "en", "ko"} {
				f := measureHeldout(a, posts, lang)
				name := lang
				if name == "" {
					name = "all"
				}
				// figures only when asked (the one run after freezing):
				// a failing floor names the floor, not the figure, so
				// that a failure while tuning shows nothing of the set
				show := os.Getenv("ENRICH_HELDOUT_PRINT") != ""
				if show {
					t.Logf("%s: %d posts, language detected right %.3f", name, f.n, float64(f.langOK)/float64(f.n))
					t.Logf("  complaint (Negative):      %s", f.complaint)
					t.Logf("  complaint (any category):  %s", f.anyCategory)
					t.Logf("  categories (micro):        %s", f.catMicro)
					for _, c := range categoryNames {
						t.Logf("    %-9s %s", c, f.perCat[c])
					}
				}
				fl := set.floors[name]
				if f.complaint.prec() < fl[0] || f.complaint.rec() < fl[1] {
					if show {
						t.Errorf("%s: complaint P %.3f R %.3f, want >= %.2f / %.2f", name, f.complaint.prec(), f.complaint.rec(), fl[0], fl[1])
					} else {
						t.Errorf("%s: complaint P or R under its floor %.2f / %.2f", name, fl[0], fl[1])
					}
				}
				if f.catMicro.prec() < fl[2] || f.catMicro.rec() < fl[3] {
					if show {
						t.Errorf("%s: categories P %.3f R %.3f, want >= %.2f / %.2f", name, f.catMicro.prec(), f.catMicro.rec(), fl[2], fl[3])
					} else {
						t.Errorf("%s: categories P or R under its floor %.2f / %.2f", name, fl[2], fl[3])
					}
				}
				if acc := float64(f.langOK) / float64(f.n); acc < fl[4] {
					if show {
						t.Errorf("%s: language detected right %.3f, want >= %.2f", name, acc, fl[4])
					} else {
						t.Errorf("%s: language detection under its floor %.2f", name, fl[4])
					}
				}
			}
		})
	}
}

// heldoutFloors: complaint P, R; categories P, R; language accuracy — just
// under the one run after freezing.
// Measured once at 31b295e: all P 0.712 R 0.654, categories P 0.615
// R 0.568; en P 0.673 R 0.611, categories P 0.571 R 0.515; ko P 0.746
// R 0.691, categories P 0.652 R 0.616; language right on every post.
var heldoutFloors = map[string][5]float64{
	"all": {0.70, 0.64, 0.60, 0.55, 0.99},
	"en":  {0.66, 0.60, 0.56, 0.50, 0.99},
	"ko":  {0.73, 0.68, 0.64, 0.60, 0.99},
}

// heldout2Floors: the same for the second blind set (623 posts, written
// 2026-12-07 by labels2). Measured once, with the recogniser frozen at the
// merge of recog (integ fca2b3e): all P 0.715 R 0.676, categories P 0.601
// R 0.599; en P 0.700 R 0.709, categories P 0.619 R 0.638; ko P 0.731
// R 0.646, categories P 0.584 R 0.564; language right on every post.
var heldout2Floors = map[string][5]float64{
	"all": {0.70, 0.66, 0.59, 0.58, 0.99},
	"en":  {0.69, 0.70, 0.61, 0.62, 0.99},
	"ko":  {0.72, 0.63, 0.57, 0.55, 0.99},
}

// heldout3Floors: the same for the third blind set (598 posts, written
// 2026-12-07 by blind3: Hacker News, Reddit, Mastodon, X, store reviews,
// Korean community posts). Measured once, on the recogniser as it stood
// at main b31f2f2: all P 0.563 R 0.723, categories P 0.499 R 0.652; en
// P 0.560 R 0.737, categories P 0.488 R 0.658; ko P 0.566 R 0.706,
// categories P 0.513 R 0.645; language right on 597 of 598 posts. Its
// non-complaints are full of problem words on purpose (137 of 356: other
// services' failures, fixed bugs, questions, news, jokes): 136 of the 356
// were read as complaints.
var heldout3Floors = map[string][5]float64{
	"all": {0.55, 0.71, 0.48, 0.64, 0.99},
	"en":  {0.55, 0.72, 0.47, 0.64, 0.99},
	"ko":  {0.55, 0.69, 0.50, 0.63, 0.99},
}

// heldout4Floors: the same for the fourth blind set (648 posts, written
// 2026-12-07 by blind4), measured once on the recogniser frozen after
// session 8's changes (developed on complaints-dev), recog8 fdfc321: all
// P 0.706 R 0.741, categories P 0.632 R 0.673; en P 0.673 R 0.760,
// categories P 0.601 R 0.677; ko P 0.748 R 0.721, categories P 0.669
// R 0.669; language right on every post. (The recogniser before the
// changes, b31f2f2, on the same set: all P 0.681 R 0.713, categories
// P 0.609 R 0.641.)
var heldout4Floors = map[string][5]float64{
	"all": {0.70, 0.73, 0.62, 0.66, 0.99},
	"en":  {0.66, 0.75, 0.59, 0.67, 0.99},
	"ko":  {0.74, 0.71, 0.66, 0.66, 0.99},
}

// heldout5Floors: the same for the fifth blind set (665 posts, written
// 2026-12-07 by blind5), measured once on the recogniser frozen after the
// second round of session 8 (developed on complaints-dev2), integ 5775074:
// all P 0.699 R 0.684, categories P 0.599 R 0.561; en P 0.656 R 0.660,
// categories P 0.559 R 0.545; ko P 0.752 R 0.712, categories P 0.649
// R 0.578; language right on every post. The earlier recognisers on the
// same set: b31f2f2 (the session's start) all P 0.658 R 0.628, categories
// P 0.565 R 0.513; 1d02aca (after the first round) P 0.687 R 0.677,
// categories P 0.590 R 0.554.
var heldout5Floors = map[string][5]float64{
	"all": {0.69, 0.67, 0.59, 0.55, 0.99},
	"en":  {0.65, 0.65, 0.55, 0.54, 0.99},
	"ko":  {0.74, 0.70, 0.64, 0.57, 0.99},
}

// heldout6Floors: the same for the sixth blind set (544 posts, written
// 2026-12-07 by blind6), measured once on the recogniser with the social
// complaint model (session 9, socmodel a6b6daf; the model never saw this
// set): all P 0.755 R 0.906, categories P 0.639 R 0.649; en P 0.776
// R 0.910, categories P 0.634 R 0.655; ko P 0.730 R 0.902, categories
// P 0.645 R 0.640; language right on every post. The rules alone on the
// same set (ENRICH_HELDOUT_RULES=1, the recogniser of main before the
// model): all P 0.707 R 0.698, categories P 0.638 R 0.633; en P 0.729
// R 0.707; ko P 0.680 R 0.686. Complaints heldout3–5 are training data of
// the social model since then: their floors are in-sample guards now.
var heldout6Floors = map[string][5]float64{
	"all": {0.74, 0.89, 0.62, 0.63, 0.99},
	"en":  {0.76, 0.90, 0.62, 0.64, 0.99},
	"ko":  {0.72, 0.89, 0.63, 0.62, 0.99},
}

// heldout8Floors: the same for the eighth blind set (815 posts, written
// 2026-12-08 by blind8, asked for more ordinary posts than the sets before),
// measured once on the frozen recogniser of session 9 (integ 0136951: the
// social model, adding only; the precision round changed nothing): all
// P 0.734 R 0.851, categories P 0.593 R 0.556; en P 0.739 R 0.838,
// categories P 0.614 R 0.568; ko P 0.729 R 0.866, categories P 0.570
// R 0.541; language right on every post. The rules alone on the same set
// (ENRICH_HELDOUT_RULES=1): all P 0.676 R 0.631; en P 0.685 R 0.620; ko
// P 0.667 R 0.644. (complaints-heldout7 is the judge's social tune set,
// detector/scenarios: not measured here.)
var heldout8Floors = map[string][5]float64{
	"all": {0.72, 0.84, 0.58, 0.54, 0.99},
	"en":  {0.72, 0.82, 0.60, 0.55, 0.99},
	"ko":  {0.71, 0.85, 0.55, 0.52, 0.99},
}

package enrich

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/aftershock/aftershock/signals/realdata"
)

// confusion counts a binary decision against a label.
type confusion struct{ tp, fp, fn, tn int }

func (c *confusion) add(got, want bool) {
	switch {
	case got && want:
		c.tp++
	case got:
		c.fp++
	case want:
		c.fn++
	default:
		c.tn++
	}
}

func (c confusion) prec() float64 { return float64(c.tp) / float64(max(c.tp+c.fp, 1)) }
func (c confusion) rec() float64  { return float64(c.tp) / float64(max(c.tp+c.fn, 1)) }
func (c confusion) String() string {
	return fmt.Sprintf("P %.3f R %.3f (tp %d fp %d fn %d tn %d)", c.prec(), c.rec(), c.tp, c.fp, c.fn, c.tn)
}

// appFigures are the measures on one part of the app reviews.
type appFigures struct {
	n                     int
	complaint             confusion // Enrichment.Negative, as the detector counts complaints
	category              confusion // any category found, against Complaint()
	bugCategory           confusion // any category found, against label Bug
	polarity              [3][3]int // [want][got] with neg, neu, pos = 0, 1, 2 (stars 1–2, 3, 4–5)
	sx, sy, sxx, syy, sxy float64   // for Pearson r of sentiment against stars
}

func class(score float64) int {
	switch {
	case score <= -0.05:
		return 0
	case score < 0.05:
		return 1
	}
	return 2
}

func (f *appFigures) acc() float64 {
	c := 0
	for i := range 3 {
		c += f.polarity[i][i]
	}
	return float64(c) / float64(max(f.n, 1))
}

// f1 is the F1 of one polarity class.
func (f *appFigures) f1(k int) float64 {
	tp := f.polarity[k][k]
	got, want := 0, 0
	for i := range 3 {
		got += f.polarity[i][k]
		want += f.polarity[k][i]
	}
	p, r := float64(tp)/float64(max(got, 1)), float64(tp)/float64(max(want, 1))
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func (f *appFigures) r() float64 {
	n := float64(f.n)
	return (n*f.sxy - f.sx*f.sy) / math.Sqrt((n*f.sxx-f.sx*f.sx)*(n*f.syy-f.sy*f.sy))
}

func appMeasure(a *Analyzer, set []realdata.AppReview) appFigures {
	var f appFigures
	for _, r := range set {
		e := a.Enrich(r.Text, "")
		f.n++
		want := r.Complaint()
		f.complaint.add(e.Negative(), want)
		f.category.add(len(e.Categories) > 0, want)
		f.bugCategory.add(len(e.Categories) > 0, r.Label == "Bug")
		wantClass := 1
		if r.Stars <= 2 {
			wantClass = 0
		} else if r.Stars >= 4 {
			wantClass = 2
		}
		f.polarity[wantClass][class(e.Sentiment)]++
		x, y := e.Sentiment, float64(r.Stars)
		f.sx += x
		f.sy += y
		f.sxx += x * x
		f.syy += y * y
		f.sxy += x * y
	}
	return f
}

// TestAppReviews measures, on English app reviews written and labelled by
// people none of us knows, whether a post is a complaint about the service
// (see realdata.AppReview.Complaint) and the English polarity against the
// stars. The tune part (fit and check) was used to build and choose the
// model; the held-out part was run once, after freezing, and its figures are
// held here just under what was measured.
func TestAppReviews(t *testing.T) {
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	a := newTestAnalyzer(t, Config{})
	parts := map[string][]realdata.AppReview{}
	for _, r := range all {
		p := realdata.AppSplit(r.Text)
		if p == realdata.AppCheck {
			p = realdata.AppFit
		}
		parts[p] = append(parts[p], r)
	}
	// minimums just under the measured figures: complaint P, R; polarity
	// accuracy, Pearson r
	floors := map[string][4]float64{
		realdata.AppFit:     {0.61, 0.61, 0.79, 0.63},
		realdata.AppHeldOut: {0.52, 0.57, 0.79, 0.60},
	}
	// The held-out part's figures are printed only when asked
	// (ENRICH_HELDOUT_PRINT=1, the one run after freezing): a failing floor
	// says which floor, not the figure, so that a -v run or a failure
	// while tuning shows nothing held out.
	printHeldOut := os.Getenv("ENRICH_HELDOUT_PRINT") != ""
	for _, p := range []string{realdata.AppFit, realdata.AppHeldOut} {
		f := appMeasure(a, parts[p])
		name := map[string]string{realdata.AppFit: "tune (fit+check)", realdata.AppHeldOut: "HELD-OUT"}[p]
		show := p != realdata.AppHeldOut || printHeldOut
		if show {
			t.Logf("%s: %d reviews", name, f.n)
			t.Logf("  complaint (Negative):             %s", f.complaint)
			t.Logf("  any category vs complaint:        %s", f.category)
			t.Logf("  any category vs label Bug:        %s", f.bugCategory)
			t.Logf("  polarity vs stars: accuracy %.3f, F1 neg %.3f neu %.3f pos %.3f, macro-F1 %.3f, Pearson r %.3f; confusion [want][got] %v",
				f.acc(), f.f1(0), f.f1(1), f.f1(2), (f.f1(0)+f.f1(1)+f.f1(2))/3, f.r(), f.polarity)
		}
		fl := floors[p]
		if f.complaint.prec() < fl[0] || f.complaint.rec() < fl[1] {
			if show {
				t.Errorf("%s: complaint P %.3f R %.3f, want >= %.2f / %.2f", name, f.complaint.prec(), f.complaint.rec(), fl[0], fl[1])
			} else {
				t.Errorf("%s: complaint P or R under its floor %.2f / %.2f", name, fl[0], fl[1])
			}
		}
		if f.acc() < fl[2] || f.r() < fl[3] {
			if show {
				t.Errorf("%s: polarity accuracy %.3f r %.3f, want >= %.2f / %.2f", name, f.acc(), f.r(), fl[2], fl[3])
			} else {
				t.Errorf("%s: polarity accuracy or r under its floor %.2f / %.2f", name, fl[2], fl[3])
			}
		}
	}
}

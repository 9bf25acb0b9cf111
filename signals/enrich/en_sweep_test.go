package enrich

import (
	"os"
	"slices"
	"testing"

	"github.com/aftershock/aftershock/signals/realdata"
)

// TestEnComplaintSweep compares, on the check part of the English app
// reviews only, the gates and thresholds of the learned English complaint
// model (ENRICH_EN_SWEEP=1). It also counts the hand-labelled posts that
// are not negative yet read as complaints, which must stay at what the rules
// alone give. Nothing is asserted: this is how enComplaintMin and enGateCues
// were chosen.
func TestEnComplaintSweep(t *testing.T) {
	if os.Getenv("ENRICH_EN_SWEEP") == "" {
		t.Skip("set ENRICH_EN_SWEEP=1 to compare gates on the check part")
	}
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	var check []realdata.AppReview
	for _, r := range all {
		if realdata.AppSplit(r.Text) == realdata.AppCheck {
			check = append(check, r)
		}
	}
	var calm []string
	for _, f := range []string{"testdata/labelled_en.tsv"} {
		for _, l := range loadLabelled(t, f) {
			if l.label != "neg" {
				calm = append(calm, l.text)
			}
		}
	}
	a := newTestAnalyzer(t, Config{})
	oldMin, oldGate := enComplaintMin, enGateCues
	defer func() { enComplaintMin, enGateCues = oldMin, oldGate }()
	gates := []struct {
		name string
		g    cueKind
	}{{"none", 0xff}, {"word", cueWord}, {"negative", cueNegative}, {"word|negative", cueWord | cueNegative},
		{"word|neg|topic", cueWord | cueNegative | cueTopic}}
	for _, bug := range []bool{false, true} {
		enModelBug = bug
		var c, cat, catBug confusion
		for _, r := range check {
			e := a.Enrich(r.Text, "")
			c.add(e.Negative(), r.Complaint())
			cat.add(len(e.Categories) > 0, r.Complaint())
			catBug.add(len(e.Categories) > 0, r.Label == "Bug")
		}
		t.Logf("shipped gate, model complaints bug %v: complaint %s; any category vs complaint %s; vs label Bug %s", bug, c, cat, catBug)
	}
	enModelBug = true
	for _, g := range gates {
		for _, min := range []float64{2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7} {
			enComplaintMin, enGateCues = min, g.g
			var c confusion
			for _, r := range check {
				e := a.Enrich(r.Text, "")
				c.add(e.Negative(), r.Complaint())
			}
			fired := 0
			for _, text := range calm {
				if e := a.Enrich(text, ""); e.Negative() {
					fired++
				}
			}
			p, rc := c.prec(), c.rec()
			t.Logf("gate %-18s p>=%.2f check %s F1 %.3f; calm posts called complaints %d/%d", g.name, min, c, 2*p*rc/max(p+rc, 1e-9), fired, len(calm))
		}
	}
}

// TestEnglishModelBehindCues checks the learned English complaint model
// speaks only behind a problem cue of the rules: release chatter and
// questions that it scores high stay calm, and paraphrased complaints the
// rules find no category in are counted.
func TestEnglishModelBehindCues(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	cases := []struct {
		text      string
		complaint bool
		modelHigh bool     // the model alone says complaint: the gate decides
		cats      []string // bug when a problem word let the model speak
	}{
		{"new version 5.0 is out today", false, true, nil},
		{"what's the difference between the app and the website?", false, true, nil},
		{"anyone know the customer service number?", false, true, nil},
		{"the notifications stopped since tuesday", true, true, nil},
		{"can't see my playlists anymore", true, true, []string{"bug"}},
		{"I can't find the settings page anymore", true, true, []string{"bug"}},
		// a complaint with no problem word: the price of the gate
		{"my messages show up twice", false, true, nil},
	}
	for _, c := range cases {
		e := a.Enrich(c.text, "")
		p := a.en.Prob(c.text)
		if (p >= enComplaintMin) != c.modelHigh {
			t.Errorf("%q: model p = %.2f, want high = %v", c.text, p, c.modelHigh)
		}
		if e.Negative() != c.complaint {
			t.Errorf("%q: complaint = %v, want %v (p %.2f, categories %q)", c.text, e.Negative(), c.complaint, p, e.Categories)
		}
		if !slices.Equal(e.Categories, c.cats) {
			t.Errorf("%q: categories %q, want %q", c.text, e.Categories, c.cats)
		}
	}
	// Korean posts never reach the English model.
	if e := a.Enrich("새 버전 나왔어요", ""); e.Negative() {
		t.Error("Korean release chatter is a complaint")
	}
}

// TestEnComplaintCheck holds the complaint figures on the check part of the
// English app reviews (where the gate and threshold were chosen; the model
// was fitted on the fit part), and checks that the models (the English
// one behind the cues, the social one when sure) add to what the rules
// alone find.
func TestEnComplaintCheck(t *testing.T) {
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	a := newTestAnalyzer(t, Config{})
	measure := func(rulesOnly bool) confusion {
		var c confusion
		for _, r := range all {
			if realdata.AppSplit(r.Text) == realdata.AppCheck {
				e := a.Enrich(r.Text, "")
				if rulesOnly {
					e = a.EnrichRules(r.Text, "") // no social model
				}
				c.add(e.Negative(), r.Complaint())
			}
		}
		return c
	}
	shipped := measure(false)
	old := enComplaintMin
	enComplaintMin = 2 // the model never speaks
	rules := measure(true)
	enComplaintMin = old
	f1 := func(c confusion) float64 { return 2 * c.prec() * c.rec() / max(c.prec()+c.rec(), 1e-9) }
	t.Logf("check part: rules alone %s F1 %.3f; with the model behind cues %s F1 %.3f", rules, f1(rules), shipped, f1(shipped))
	if shipped.prec() < 0.60 || shipped.rec() < 0.66 {
		t.Errorf("check complaint P %.3f R %.3f, want >= 0.60 / 0.66", shipped.prec(), shipped.rec())
	}
	if f1(shipped) < f1(rules)+0.02 {
		t.Errorf("the model adds too little: F1 %.3f vs %.3f by the rules alone", f1(shipped), f1(rules))
	}
}

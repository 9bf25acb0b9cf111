package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/aftershock/aftershock/signals/enrich"
	"github.com/aftershock/aftershock/signals/realdata"
	"github.com/aftershock/aftershock/signals/textmodel"
)

// EnComplaint is the frozen setting of the learned English complaint model,
// chosen on the check part of the app reviews (see -grid). Tried and not
// kept: each review's title as an extra short example (check, behind the
// rules' cues at 0.45: P 0.610 R 0.661 against P 0.619 R 0.670, and one more
// calm hand-labelled post called a complaint).
var EnComplaint = textmodel.TrainConfig{
	Features: textmodel.Features{Bits: 18, CharMin: 3, CharMax: 5, Words: true, WordBigrams: true},
	Epochs:   10, Rate: 0.2, NB: true, NBAlpha: 1, Seed: 1,
}

// enComplaint fits the English complaint model on the fit part of the app
// reviews that is in the scenarios' tune half (realdata.AppReview.ScenarioTune;
// the complaint label of realdata.AppReview.Complaint), calibrates
// it by Platt scaling on the check part and writes it for signals/enrich,
// which uses it only behind a problem cue of its rules (see enrich's
// enComplaintProb). With -grid it compares settings on the check part and
// writes nothing. The held-out part is never read here.
func enComplaint(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("en-complaint", flag.ContinueOnError)
	data := fs.String("data", "../shared/data", "folder with app-reviews/reviews.tsv")
	dst := fs.String("out", "signals/enrich/data/en_complaint.astm", "model file to write")
	grid := fs.Bool("grid", false, "compare settings on the check part, write nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	all, err := realdata.ReadAppReviews(*data)
	if err != nil {
		return err
	}
	var fit, check []textmodel.Example
	skipped := 0
	for _, r := range all {
		e := textmodel.Example{Text: r.Text, Label: r.Complaint()}
		switch realdata.AppSplit(r.Text) {
		case realdata.AppFit:
			// the judge's held-out scenarios replay the other half
			if !r.ScenarioTune() {
				skipped++
				continue
			}
			fit = append(fit, e)
		case realdata.AppCheck:
			check = append(check, e)
		}
	}
	fmt.Fprintf(out, "fit %d (%d more left out: the scenarios' held-out half), check %d (held out %d, not read here)\n",
		len(fit), skipped, len(check), len(all)-len(fit)-skipped-len(check))
	if *grid {
		return complaintGrid(fit, check, out)
	}
	cfg := EnComplaint
	m, err := textmodel.Train(textmodel.Hash(cfg.Features, fit), cfg)
	if err != nil {
		return err
	}
	ch := textmodel.Hash(cfg.Features, check)
	pa, pb := textmodel.Calibrate(m.Logits(ch), ch.Labels())
	m.Rescale(pa, pb)
	fmt.Fprintf(out, "Platt scaling on the check part: a=%.3f b=%.3f\n", pa, pb)
	for _, t := range []float64{0.3, 0.4, 0.5, 0.6, 0.7} {
		var c prf
		for _, e := range check {
			c.add(m.Prob(e.Text) >= t, e.Label)
		}
		fmt.Fprintf(out, "check, learned alone, p >= %.1f: %s\n", t, c)
	}
	if err := writeModel(m, *dst, out); err != nil {
		return err
	}
	return nil
}

type prf struct{ tp, fp, fn, tn int }

func (c *prf) add(got, want bool) {
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

func (c prf) String() string {
	p := float64(c.tp) / float64(max(c.tp+c.fp, 1))
	r := float64(c.tp) / float64(max(c.tp+c.fn, 1))
	return fmt.Sprintf("P %.3f R %.3f F1 %.3f (tp %d fp %d fn %d)", p, r, 2*p*r/max(p+r, 1e-9), c.tp, c.fp, c.fn)
}

// complaintGrid compares the rule-based recogniser (Enrichment.Negative as
// the detector counts it, and categories alone) with learned models and their
// combination, all fitted on fit and measured on check.
func complaintGrid(fit, check []textmodel.Example, out io.Writer) error {
	a, err := enrich.New(enrich.Config{})
	if err != nil {
		return err
	}
	var neg, cats prf
	rules := make([]bool, len(check))
	hasCat := make([]bool, len(check))
	for i, e := range check {
		en := a.Enrich(e.Text, "")
		rules[i] = en.Negative()
		hasCat[i] = len(en.Categories) > 0
		neg.add(rules[i], e.Label)
		cats.add(hasCat[i], e.Label)
	}
	fmt.Fprintf(out, "%-34s %s\n", "shipped: Negative()", neg)
	fmt.Fprintf(out, "%-34s %s\n", "shipped: any category", cats)
	base := EnComplaint
	with := func(f func(*textmodel.TrainConfig)) textmodel.TrainConfig {
		c := base
		f(&c)
		return c
	}
	cands := []struct {
		name string
		c    textmodel.TrainConfig
	}{
		{"frozen", base},
		{"bits 20", with(func(c *textmodel.TrainConfig) { c.Features.Bits = 20 })},
		{"bits 16", with(func(c *textmodel.TrainConfig) { c.Features.Bits = 16 })},
		{"words only", with(func(c *textmodel.TrainConfig) { c.Features.CharMin, c.Features.CharMax = 0, 0 })},
		{"chars 2-4", with(func(c *textmodel.TrainConfig) { c.Features.CharMin, c.Features.CharMax = 2, 4 })},
		{"no NB", with(func(c *textmodel.TrainConfig) { c.NB = false })},
		{"rate 0.05", with(func(c *textmodel.TrainConfig) { c.Rate = 0.05 })},
		{"epochs 20", with(func(c *textmodel.TrainConfig) { c.Epochs = 20 })},
	}
	for _, k := range cands {
		m, err := textmodel.Train(textmodel.Hash(k.c.Features, fit), k.c)
		if err != nil {
			return err
		}
		for _, t := range []float64{0.3, 0.4, 0.5, 0.6} {
			var learned, or, catOr prf
			for i, e := range check {
				p := m.Prob(e.Text) >= t
				learned.add(p, e.Label)
				or.add(p || rules[i], e.Label)
				catOr.add(p || hasCat[i], e.Label)
			}
			fmt.Fprintf(out, "%-20s t=%.1f learned   %s\n", k.name, t, learned)
			fmt.Fprintf(out, "%-20s t=%.1f OR rules  %s\n", k.name, t, or)
			fmt.Fprintf(out, "%-20s t=%.1f OR cats   %s\n", k.name, t, catOr)
		}
	}
	return nil
}

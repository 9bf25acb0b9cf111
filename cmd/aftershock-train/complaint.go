package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/aftershock/aftershock/signals/enrich"
	"github.com/aftershock/aftershock/signals/realdata"
	"github.com/aftershock/aftershock/signals/textmodel"
)

// EnComplaint is the learned English complaint model compared with the rules.
var EnComplaint = textmodel.TrainConfig{
	Features: textmodel.Features{Bits: 20, CharMin: 3, CharMax: 5, Words: true, WordBigrams: true},
	Epochs:   10, Rate: 0.2, NB: true, NBAlpha: 1, Seed: 1,
}

// enComplaint compares, on the check part of the English app reviews, the
// rule-based complaint recogniser with a learned one fitted on the fit part.
// It writes no model: the learned one helped on app reviews but called a
// third of the neutral English posts in signals/enrich/testdata complaints
// ("new version 5.0 is out today"), so the shipped recogniser is the rules.
func enComplaint(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("en-complaint", flag.ContinueOnError)
	data := fs.String("data", "../shared/data", "folder with app-reviews/reviews.tsv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	all, err := realdata.ReadAppReviews(*data)
	if err != nil {
		return err
	}
	var fit, check []textmodel.Example
	for _, r := range all {
		e := textmodel.Example{Text: r.Text, Label: r.Complaint()}
		switch realdata.AppSplit(r.Text) {
		case realdata.AppFit:
			fit = append(fit, e)
		case realdata.AppCheck:
			check = append(check, e)
		}
	}
	fmt.Fprintf(out, "fit %d, check %d (held out %d, not read here)\n", len(fit), len(check), len(all)-len(fit)-len(check))
	return complaintGrid(fit, check, out)
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
	fmt.Fprintf(out, "%-34s %s\n", "rules: Negative()", neg)
	fmt.Fprintf(out, "%-34s %s\n", "rules: any category", cats)
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

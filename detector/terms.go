package detector

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// termBaseline keeps decayed term counts of a service's posts, bounded:
// when it grows past maxTerms the rarest half is forgotten.
type termBaseline struct {
	counts    map[string]float64
	total     float64
	lastDecay time.Time
}

const (
	maxTerms       = 2000
	maxWindowTerms = 4000
	termHalfLife   = 24 * time.Hour
	minTermLen     = 3
)

func (b *termBaseline) add(t time.Time, tokens []string) {
	if b.counts == nil {
		b.counts = map[string]float64{}
		b.lastDecay = t
	}
	if dt := t.Sub(b.lastDecay); dt >= time.Hour {
		f := math.Pow(0.5, dt.Hours()/termHalfLife.Hours())
		for k, v := range b.counts {
			b.counts[k] = v * f
		}
		b.total *= f
		b.lastDecay = t
	}
	for _, tok := range tokens {
		if !usefulTerm(tok) {
			continue
		}
		b.counts[tok]++
		b.total++
	}
	if len(b.counts) > maxTerms {
		b.prune()
	}
}

func (b *termBaseline) prune() {
	vals := make([]float64, 0, len(b.counts))
	for _, v := range b.counts {
		vals = append(vals, v)
	}
	sort.Float64s(vals)
	cut := vals[len(vals)/2]
	for k, v := range b.counts {
		if v <= cut {
			delete(b.counts, k)
		}
	}
}

// functionWords carry no topic but are common in complaints, so they would
// "emerge" with any incident.
var functionWords = map[string]bool{
	"can't": true, "cant": true, "cannot": true, "don't": true, "dont": true, "won't": true, "wont": true,
	"isn't": true, "doesn't": true, "didn't": true, "not": true, "after": true, "since": true, "before": true,
	"again": true, "still": true, "just": true, "anyone": true, "keeps": true, "keep": true, "why": true,
	"what": true, "this": true, "that": true, "with": true, "all": true, "any": true, "now": true, "get": true,
	"app": true, "please": true, "even": true, "every": true, "time": true, "today": true,
}

// usefulTerm skips tokens that carry no topic: short and function words,
// numbers, emoji and punctuation, mentions and links.
func usefulTerm(tok string) bool {
	if len(tok) < minTermLen || strings.HasPrefix(tok, "@") || strings.Contains(tok, "://") || functionWords[tok] {
		return false
	}
	letters := 0
	for _, r := range tok {
		if r >= 'a' && r <= 'z' || r >= 0xAC00 && r <= 0xD7A3 || r >= 'A' && r <= 'Z' {
			letters++
		}
	}
	return letters >= 2
}

// windowTerms counts the terms of negative posts in one watch window.
type windowTerms struct {
	counts map[string]int32
	total  int32
}

func (w *windowTerms) add(tokens []string) {
	if w.counts == nil {
		w.counts = map[string]int32{}
	}
	for _, tok := range tokens {
		if !usefulTerm(tok) {
			continue
		}
		if _, ok := w.counts[tok]; !ok && len(w.counts) >= maxWindowTerms {
			continue
		}
		w.counts[tok]++
		w.total++
	}
}

// g2 is Dunning's log-likelihood ratio for a term seen a times among c
// window tokens and b times among d baseline tokens.
func g2(a, b, c, d float64) float64 {
	e1 := c * (a + b) / (c + d)
	e2 := d * (a + b) / (c + d)
	var g float64
	if a > 0 {
		g += a * math.Log(a/e1)
	}
	if b > 0 {
		g += b * math.Log(b/e2)
	}
	return 2 * g
}

type termsResult struct {
	result signals.SignalResult
	top    []string
}

// Critical values of the chi-squared distribution with one degree of freedom.
const (
	g2Emerging = 15.13 // p < 0.0001: worth naming
	g2Fail     = 30    // a term that clearly broke out
)

// emergingTerms names the words far more frequent in the window's negative
// posts than in the service's baseline, by log-likelihood ratio.
func (d *Detector) emergingTerms(w *watch, s *service) termsResult {
	r := signals.SignalResult{Name: "emerging_terms", Group: GroupSocial, Outcome: signals.OutcomePass}
	if w.terms.total < 20 || s.terms.total < 200 {
		r.Outcome = signals.OutcomeInsufficient
		r.Detail = fmt.Sprintf("emerging_terms: %d window and %.0f baseline terms: too few to judge", w.terms.total, s.terms.total)
		return termsResult{result: r}
	}
	type scored struct {
		term string
		g, a float64
	}
	var hits []scored
	c := float64(w.terms.total)
	for term, n := range w.terms.counts {
		a := float64(n)
		if a < 3 {
			continue
		}
		// The baseline also holds the window's own posts; take them out.
		b := max(s.terms.counts[term]-a, 0)
		dd := max(s.terms.total-c, 1)
		if a/c <= (b+1)/dd {
			continue
		}
		if g := g2(a, b, c, dd); g >= g2Emerging {
			hits = append(hits, scored{term, g, a})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		return hits[i].g > hits[j].g || hits[i].g == hits[j].g && hits[i].term < hits[j].term
	})
	var top, desc []string
	for i := 0; i < len(hits) && i < 5; i++ {
		top = append(top, hits[i].term)
		desc = append(desc, fmt.Sprintf("%q ×%.0f (G²=%.0f)", hits[i].term, hits[i].a, hits[i].g))
	}
	if len(hits) > 0 {
		r.Observed, r.Strength = hits[0].a, 1-math.Exp(-hits[0].g/2)
		if hits[0].g >= g2Fail && hits[0].a >= 5 {
			r.Outcome = signals.OutcomeFail
		}
		r.Detail = "emerging terms in complaints: " + strings.Join(desc, ", ")
	}
	return termsResult{result: r, top: top}
}

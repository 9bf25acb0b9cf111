package detector

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Sources going silent is the worst way to pass: a broken crawler looks
// like a quiet, happy release. The detector keeps, per service, the last
// post time of each source and the usual gap between posts (an
// exponentially weighted mean, in event time); a ring whose service has
// had no post from any source for far longer than usual waits and names
// the silent sources.

const (
	maxSources = 64   // per service; more sources are folded into "other"
	gapWeight  = 0.02 // weight of the newest gap in the usual gap
)

type sourceClock struct {
	last    map[string]time.Time // last post per source
	lastAny time.Time
	gap     float64 // usual gap between posts, seconds
}

func (c *sourceClock) post(p signals.Post) {
	if c.last == nil {
		c.last = map[string]time.Time{}
	}
	src := p.Source
	if _, ok := c.last[src]; !ok && len(c.last) >= maxSources {
		src = "other"
	}
	if p.Time.After(c.last[src]) {
		c.last[src] = p.Time
	}
	if !p.Time.After(c.lastAny) {
		return
	}
	if !c.lastAny.IsZero() {
		g := p.Time.Sub(c.lastAny).Seconds()
		if c.gap == 0 {
			c.gap = g
		} else {
			c.gap += gapWeight * (g - c.gap)
		}
	}
	c.lastAny = p.Time
}

// silence says why the service's sources count as silent at now, or "".
func (d *Detector) silence(s *service, now time.Time) string {
	c := &s.sources
	if c.lastAny.IsZero() {
		return ""
	}
	limit := max(d.cfg.SilenceAfter, time.Duration(d.cfg.SilenceGaps*c.gap*float64(time.Second)))
	quiet := now.Sub(c.lastAny)
	if quiet <= limit {
		return ""
	}
	names := make([]string, 0, len(c.last))
	for n := range c.last {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s (last post %s)", n, c.last[n].UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("sources silent since %s: no post from any source for %s (usually one every %s): %s; waiting",
		c.lastAny.UTC().Format(time.RFC3339), quiet.Round(time.Minute), time.Duration(c.gap*float64(time.Second)).Round(time.Second), strings.Join(parts, ", "))
}

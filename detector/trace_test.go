package detector

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
	"github.com/aftershock/aftershock/signals/enrich"
)

// TestTraceStream is a diagnostic, not a check: it replays a generated
// stream (AFTERSHOCK_TRACE=path.jsonl, e.g. a tune scenario kept with
// AFTERSHOCK_SCENARIOS_DIR) straight into a detector, minute by minute,
// and prints for the watch of AFTERSHOCK_TRACE_RING (default H3) every
// chart's count, expectation and statistic over its threshold, so one can
// see which chart would halt and where the time goes.
func TestTraceStream(t *testing.T) {
	path := os.Getenv("AFTERSHOCK_TRACE")
	if path == "" {
		t.Skip("set AFTERSHOCK_TRACE to a replay stream to trace its charts")
	}
	ring := os.Getenv("AFTERSHOCK_TRACE_RING")
	if ring == "" {
		ring = "H3"
	}
	release := os.Getenv("AFTERSHOCK_TRACE_RELEASE")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	an, err := enrich.New(enrich.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig(t)
	d := New(cfg, func(string) Enricher { return an })
	var prev [nCharts]chart
	var prevPosts int32
	var out strings.Builder
	names := chartSignals()
	// Summary mode (AFTERSHOCK_TRACE_SUMMARY=1, for a clean month): the
	// highest level (statistic over threshold) each chart reached in any
	// watch, where, and how many buckets it spent at or over its bar.
	summary := os.Getenv("AFTERSHOCK_TRACE_SUMMARY") != ""
	type peak struct {
		level   float64
		where   string
		over    int
		soaking bool
	}
	var peaks [nCharts]peak
	countPeaks := map[string]*peak{} // error-count charts, by pair name
	var top []string
	tick := func(now time.Time, o Output) {
		if summary {
			for _, k := range d.order {
				w := d.watches[k]
				if w.closed {
					continue
				}
				for i := range w.counts {
					cw, name := &w.counts[i], cfg.ErrorCounts[i].Name
					if cw.base == nil || !cw.base.ok {
						continue
					}
					p := countPeaks[name]
					if p == nil {
						p = &peak{}
						countPeaks[name] = p
					}
					if j := cw.c.alarm(); j >= 0 {
						p.over++
						if len(top) < 200 {
							top = append(top, fmt.Sprintf("%s %s %s soak=%v %s", now.Format("01-02 15:04"), k.release, k.ring, w.soaking, cw.describe(name, j)))
						}
					}
					if l := cw.c.level(); l > p.level {
						p.level, p.soaking = l, w.soaking
						p.where = fmt.Sprintf("%s %s %s (h %.1f, φ %.2f, share %.3f)", now.Format("01-02 15:04"), k.release, k.ring, cw.c.h, cw.base.phi, cw.share)
					}
				}
				if w.base == nil || !w.base.ok {
					continue
				}
				for i := range w.charts {
					c := &w.charts[i]
					l := c.level()
					if j := c.alarm(); j >= 0 {
						peaks[i].over++
						if len(top) < 200 {
							top = append(top, fmt.Sprintf("%s %s %s soak=%v %s", now.Format("01-02 15:04"), k.release, k.ring, w.soaking, c.describe(names[i], j)))
						}
					}
					if l > peaks[i].level {
						peaks[i].level, peaks[i].soaking = l, w.soaking
						peaks[i].where = fmt.Sprintf("%s %s %s", now.Format("01-02 15:04"), k.release, k.ring)
					}
				}
			}
			return
		}
		for _, v := range o.Verdicts {
			if v.Ring == ring && (release == "" || v.Release == release) {
				fmt.Fprintf(&out, "%s verdict %s/%s %.0f %s\n", now.Format("15:04"), v.Decision, v.Action, v.Score, strings.Join(v.Reasons, " | "))
			}
		}
		for _, k := range d.order {
			w := d.watches[k]
			if k.ring != ring || w.closed || release != "" && k.release != release {
				continue
			}
			for i := range w.counts {
				if cw := &w.counts[i]; cw.base != nil && cw.base.ok {
					fmt.Fprintf(&out, "%s %s: total %.0f/%.0f new, %.0f/%.0f old; level %.2f (h %.1f, p %.4f, φ %.2f→%.2f, bursts %d)\n", now.Format("15:04"),
						cfg.ErrorCounts[i].Name, cw.total.x, cw.total.n, cw.total.y, cw.total.m, cw.c.level(), cw.c.h, cw.base.p, cw.base.phi, cw.dispersion(), cw.base.bursts)
				}
			}
			if w.base == nil || !w.base.ok {
				continue
			}
			line := fmt.Sprintf("%s n=%3d dn=%2d f=%.2f rateE=%.2f", now.Format("15:04"), w.total.posts, w.total.posts-prevPosts, w.factor, w.base.negRate*w.factor)
			prevPosts = w.total.posts
			for i := range w.charts {
				c := &w.charts[i]
				x, e := c.total-prev[i].total, c.expected-prev[i].expected
				if i >= chCategory0 && c.total == 0 {
					continue
				}
				line += fmt.Sprintf(" | %s %.0f/%.2f %.2f", short(names[i]), x, e, c.level())
			}
			prev = w.charts
			out.WriteString(line + "\n")
		}
	}
	// a release event of the watched ring starts its per-minute differences again
	applied := func(v any) {
		if ev, ok := v.(*signals.ReleaseEvent); ok && ev.Ring == ring && (release == "" || ev.Release == release) {
			prev = [nCharts]chart{}
			prevPosts = 0
		}
	}
	if err := Play(f, d, tick, applied); err != nil {
		t.Fatal(err)
	}
	if summary {
		for i, p := range peaks {
			fmt.Fprintf(&out, "%-18s peak level %.2f at %s (soak %v), buckets over the bar %d\n", names[i], p.level, p.where, p.soaking, p.over)
		}
		for name, p := range countPeaks {
			fmt.Fprintf(&out, "%-18s peak level %.2f at %s (soak %v), buckets over the bar %d (error counts)\n", name, p.level, p.where, p.soaking, p.over)
		}
		for _, l := range top {
			out.WriteString(l + "\n")
		}
		t.Log("\n" + out.String())
		return
	}
	for _, k := range d.order {
		if w := d.watches[k]; k.ring == ring && w.base != nil {
			b := w.base
			fmt.Fprintf(&out, "baseline: %.0f min, %d posts, %d complaints, negRate %.3f negShare %.3f relRate %.3f φ %.2f φshare %.2f\n", b.minutes, b.posts, b.negative, b.negRate, b.negShare, b.relRate, b.phi, b.phiShare)
			for i := range w.charts {
				fmt.Fprintf(&out, "  %-18s h %.2f\n", names[i], w.charts[i].h)
			}
		}
	}
	t.Log("\n" + out.String())
}

func short(name string) string {
	switch name {
	case "complaint_volume":
		return "vol"
	case "negative_share":
		return "shr"
	case "release_complaints":
		return "rel"
	}
	if len(name) > 4 {
		return name[:4]
	}
	return name
}

package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/signals"
	"github.com/aftershock/aftershock/signals/enrich"
)

// TestTuneMonths replays extra clean months of the TUNE texts, one per
// seed of AFTERSHOCK_TUNE_MONTHS (e.g. 7,8,9,10,11,12; 7 is the tune set's
// own month), 30 days of 3 services each, in one process one after the
// other, and prints per month the false halts (which chart, live or in
// the soak) and the highest level each chart reached (its statistic over
// its bar; in a soak also over the soak's bar):
//
//	AFTERSHOCK_TUNE_MONTHS=7,8,9,10,11,12 go test ./detector/scenarios -run TestTuneMonths -v -timeout 60m
//
// It never touches a held-out set: a seed that is any other set's month
// seed, or in the range of a held-out set's scenario seeds, is refused.
// AFTERSHOCK_TUNE_MONTH_DAYS shortens the months (default 30). It is a
// measurement, not a check: the false halts are reported, not asserted
// (TestCleanReplay asserts the CI month).
func TestTuneMonths(t *testing.T) {
	v := os.Getenv("AFTERSHOCK_TUNE_MONTHS")
	if v == "" {
		t.Skip("set AFTERSHOCK_TUNE_MONTHS=8,9,10 to replay extra clean months of the tune texts")
	}
	seeds, err := tuneMonthSeeds(v)
	if err != nil {
		t.Fatal(err)
	}
	days := 30
	if d := os.Getenv("AFTERSHOCK_TUNE_MONTH_DAYS"); d != "" {
		if days, err = strconv.Atoi(d); err != nil || days < 2 {
			t.Fatalf("AFTERSHOCK_TUNE_MONTH_DAYS=%q: want a number of days ≥ 2", d)
		}
	}
	pools := loadPools(t, Tune)
	dir := corpusDir(t, Tune)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := reportOptions(t)
	total, soak := 0, 0
	var summary strings.Builder
	for _, seed := range seeds {
		spec := MonthSpec{Days: days, Services: 3, Seed: seed, Half: Tune}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		res, err := ScoreMonth(ctx, pools, spec, dir, opts)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		peaks, err := traceMonth(filepath.Join(dir, spec.Name()+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if err := WriteMonth(&out, res); err != nil {
			t.Fatal(err)
		}
		nSoak := writeHaltCharts(&out, res)
		writePeaks(&out, peaks)
		if path := os.Getenv("AFTERSHOCK_TUNE_RING_PEAKS"); path != "" {
			if err := appendRingPeaks(path, seed, peaks); err != nil {
				t.Fatal(err)
			}
		}
		t.Log("\n" + out.String())
		total += len(res.Halts)
		soak += nSoak
		fmt.Fprintf(&summary, "seed %d: %d false halts (%d in a soak)\n", seed, len(res.Halts), nSoak)
	}
	t.Logf("\n%s%d tune months of %d days: %d false halts, %d of them in a soak", summary.String(), len(seeds), days, total, soak)
}

// appendRingPeaks appends each ring's live negative_share peak (seed,
// release and ring, level of h), one a line, to path: two builds' files
// compare ring by ring (AFTERSHOCK_TUNE_RING_PEAKS).
func appendRingPeaks(path string, seed uint64, p monthPeaks) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("ring peaks: %w", err)
	}
	var keys []string
	for k := range p.shareRings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(f, "%d %s %.4f\n", seed, k, p.shareRings[k])
	}
	return f.Close()
}

// tuneMonthSeeds parses a list of seeds and refuses any that belongs to a
// held-out set.
func tuneMonthSeeds(v string) ([]uint64, error) {
	var seeds []uint64
	for _, f := range strings.Split(v, ",") {
		s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("AFTERSHOCK_TUNE_MONTHS=%q: %w", v, err)
		}
		if err := tuneSeedFree(s); err != nil {
			return nil, err
		}
		seeds = append(seeds, s)
	}
	return seeds, nil
}

// tuneSeedFree refuses a seed that is another set's clean month, or lies
// within a held-out set's scenario seeds (its first seed and the thousand
// after it).
func tuneSeedFree(seed uint64) error {
	for name, d := range sets {
		if d.texts == Tune {
			continue // a tune set: its seeds may be a tune month's too
		}
		if seed == d.month {
			return fmt.Errorf("seed %d is the clean month of %s: not a tune month", seed, name)
		}
		if seed >= d.base && seed < d.base+1000 {
			return fmt.Errorf("seed %d lies among %s's scenario seeds (%d…): not a tune month", seed, name, d.base)
		}
	}
	return nil
}

func TestTuneSeedFree(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		ok   bool
	}{
		{7, true}, {8, true}, {12, true}, {999, true},
		{1007, false}, {5007, false}, {21007, false}, {21001, false}, {13500, false},
	} {
		if err := tuneSeedFree(tc.seed); (err == nil) != tc.ok {
			t.Errorf("tuneSeedFree(%d) = %v, want ok %v", tc.seed, err, tc.ok)
		}
	}
	if _, err := tuneMonthSeeds("8, 9,1007"); err == nil {
		t.Error("a list with a held-out month seed was accepted")
	}
}

// writeHaltCharts prints, for every false halt, the reasons of its verdict
// and whether the release had completed (a soak); it returns how many were
// in a soak.
func writeHaltCharts(out *strings.Builder, res MonthResult) int {
	completed := map[string]time.Time{}
	for _, r := range res.Truth.Releases {
		completed[r.Release] = r.Completed
	}
	n := 0
	for i, h := range res.Halts {
		phase := "live"
		if c, ok := completed[h.Release]; ok && !h.Time.Before(c) {
			phase = fmt.Sprintf("soak (%s after completion)", h.Time.Sub(c).Round(time.Minute))
			n++
		}
		reason := ""
		for _, v := range res.Halting {
			if v.Release == h.Release && v.Ring == h.Ring && v.Time.Equal(h.Time) && v.Action == signals.ActionHalt {
				reason = strings.Join(v.Reasons, " | ")
			}
		}
		fmt.Fprintf(out, "  halt %d: %s %s %s, %s: %s\n", i+1, h.Release, h.Ring, h.Time.Format(time.RFC3339), phase, reason)
	}
	return n
}

// chartPeak is the highest level a chart reached in a month, live or in a
// soak.
type chartPeak struct {
	level float64
	where string
}

type monthPeaks struct {
	live, soak map[string]*chartPeak
	halts      int // halts of the direct replay (no broker)
	// shareRings is the highest live level of each ring's negative_share
	// chart (release and ring), for the distribution of near misses.
	shareRings map[string]float64
	// days holds each service's posts and complaints per UTC day (from
	// the detector's rollups).
	days map[string]map[time.Time][2]float64
}

// traceMonth feeds a month's stream straight into a detector
// (detector.Play: posts de-duplicated as the broker does), minute by minute,
// and records for each chart the highest level over its bar while live
// and over the soak's bar in a soak.
func traceMonth(path string) (monthPeaks, error) {
	p := monthPeaks{live: map[string]*chartPeak{}, soak: map[string]*chartPeak{}, days: map[string]map[time.Time][2]float64{}, shareRings: map[string]float64{}}
	f, err := os.Open(path)
	if err != nil {
		return p, err
	}
	defer f.Close()
	an, err := enrich.New(enrich.Config{})
	if err != nil {
		return p, err
	}
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		return p, err
	}
	d := detector.New(cfg, func(string) detector.Enricher { return an })
	var now time.Time
	note := func(m map[string]*chartPeak, l detector.ChartLevel, level float64) {
		c := m[l.Signal]
		if c == nil {
			c = &chartPeak{}
			m[l.Signal] = c
		}
		if level > c.level {
			c.level = level
			c.where = fmt.Sprintf("%s %s %s: %.0f vs %.1f expected since %s (×%.2f, chart ×%g)", now.Format("01-02 15:04"), l.Release, l.Ring,
				l.Observed, l.Expected, l.From.Format("01-02 15:04"), l.Observed/max(l.Expected, 1e-9), l.Rise)
		}
	}
	tick := func(at time.Time, o detector.Output) {
		now = at
		for _, v := range o.Verdicts {
			if v.Action == signals.ActionHalt {
				p.halts++
			}
		}
		for _, r := range o.Rollups {
			m := p.days[r.Service]
			if m == nil {
				m = map[time.Time][2]float64{}
				p.days[r.Service] = m
			}
			day := r.Time.UTC().Truncate(24 * time.Hour)
			c := m[day]
			c[0] += float64(r.Posts)
			c[1] += float64(r.Negative)
			m[day] = c
		}
		for _, l := range d.ChartLevels() {
			if l.Soaking {
				note(p.soak, l, l.SoakLevel)
			} else {
				note(p.live, l, l.Level)
				if l.Signal == "negative_share" {
					k := l.Release + " " + l.Ring
					p.shareRings[k] = max(p.shareRings[k], l.Level)
				}
			}
		}
	}
	return p, detector.Play(f, d, tick, nil)
}

func writePeaks(out *strings.Builder, p monthPeaks) {
	fmt.Fprintf(out, "  direct replay (no broker): %d halts\n", p.halts)
	var lv []float64
	sum := 0.0
	for _, v := range p.shareRings {
		lv = append(lv, v)
		sum += v
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(lv)))
	over := 0
	for _, v := range lv {
		if v >= 0.5 {
			over++
		}
	}
	if len(lv) > 0 {
		fmt.Fprintf(out, "  negative_share live peaks of %d rings: mean %.3f, %d ≥ 0.5 of h, highest %.2f\n", len(lv), sum/float64(len(lv)), over, lv[:min(5, len(lv))])
	}
	var svcs []string
	for s := range p.days {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	for _, s := range svcs {
		writeDays(out, s, p.days[s])
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  chart\tpeak live (of h)\twhere\tpeak in soak (of the soak's bar)\twhere")
	names := map[string]bool{}
	for n := range p.live {
		names[n] = true
	}
	for n := range p.soak {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		l, s := p.live[n], p.soak[n]
		if l == nil {
			l = &chartPeak{}
		}
		if s == nil {
			s = &chartPeak{}
		}
		fmt.Fprintf(tw, "  %s\t%.2f\t%s\t%.2f\t%s\n", n, l.level, l.where, s.level, s.where)
	}
	tw.Flush()
}

// writeDays prints how a service's complaint share varies from day to
// day: the range of the daily shares, the largest ratio between
// consecutive days, and the between-day dispersion (Pearson χ² of the
// daily complaints against the pooled share, over its degrees of freedom:
// 1 when the days differ only by binomial noise).
func writeDays(out *strings.Builder, svc string, m map[time.Time][2]float64) {
	var days []time.Time
	var n, x float64
	for d, c := range m {
		if c[0] < 200 { // a partial first or last day
			continue
		}
		days = append(days, d)
		n += c[0]
		x += c[1]
	}
	if len(days) < 3 {
		return
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Before(days[j]) })
	s := x / n
	var chi, lo, hi, worst float64
	lo = 1
	var shares []string
	for i, d := range days {
		c := m[d]
		sh := c[1] / c[0]
		lo, hi = min(lo, sh), max(hi, sh)
		mu := s * c[0]
		chi += (c[1] - mu) * (c[1] - mu) / (mu * (1 - s))
		if i > 0 {
			p := m[days[i-1]]
			r := sh / (p[1] / p[0])
			worst = max(worst, r, 1/r)
		}
		shares = append(shares, fmt.Sprintf("%.3f", sh))
	}
	fmt.Fprintf(out, "  %s: share %.3f over %d days (%.0f posts a day), daily %.3f–%.3f, largest day-to-day ratio ×%.2f, between-day dispersion %.2f\n    %s\n",
		svc, s, len(days), n/float64(len(days)), lo, hi, worst, chi/float64(len(days)-1), strings.Join(shares, " "))
}

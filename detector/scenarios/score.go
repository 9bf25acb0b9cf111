package scenarios

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aftershock/aftershock/internal/replay"
	"github.com/aftershock/aftershock/signals"
)

// Scenario is one generated scenario on disk.
type Scenario struct {
	Truth Truth
	// Path is the stream, NAME.jsonl (or NAME.jsonl.gz).
	Path string
}

// Build generates specs into dir as NAME.jsonl and NAME.truth.json and
// returns them in order. The pools must be of the specs' half.
func Build(pools *Pools, specs []Spec, dir string) ([]Scenario, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making scenario directory: %w", err)
	}
	var out []Scenario
	for _, spec := range specs {
		base := filepath.Join(dir, spec.Name())
		f, err := os.Create(base + ".jsonl")
		if err != nil {
			return nil, fmt.Errorf("writing scenario: %w", err)
		}
		truth, err := Generate(pools, spec, f)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing scenario %s: %w", spec.Name(), cerr)
		}
		if err != nil {
			return nil, err
		}
		tj, err := json.MarshalIndent(truth, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encoding truth of %s: %w", spec.Name(), err)
		}
		if err := os.WriteFile(base+".truth.json", append(tj, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("writing scenario truth: %w", err)
		}
		out = append(out, Scenario{Truth: truth, Path: base + ".jsonl"})
	}
	return out, nil
}

// Load reads the scenarios in dir (NAME.truth.json beside NAME.jsonl or
// NAME.jsonl.gz), in kind order, for replaying a kept corpus again.
func Load(dir string) ([]Scenario, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.truth.json"))
	if err != nil {
		return nil, fmt.Errorf("listing scenarios in %s: %w", dir, err)
	}
	var out []Scenario
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("reading scenario truth: %w", err)
		}
		var t Truth
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("reading scenario truth %s: %w", n, err)
		}
		stream := strings.TrimSuffix(n, ".truth.json") + ".jsonl"
		if _, err := os.Stat(stream); err != nil {
			stream += ".gz"
			if _, err := os.Stat(stream); err != nil {
				return nil, fmt.Errorf("scenario %s: no stream: %w", t.Name, err)
			}
		}
		out = append(out, Scenario{Truth: t, Path: stream})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenarios in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := kindIndex(out[i].Truth.Kind), kindIndex(out[j].Truth.Kind)
		return a < b || a == b && out[i].Truth.Seed < out[j].Truth.Seed
	})
	return out, nil
}

func kindIndex(kind string) int {
	return slices.IndexFunc(Kinds, func(k Kind) bool { return k.Name == kind })
}

// Replay runs a stream file through the real pipeline (internal/replay) in
// simulated time and returns the summary and every verdict line.
func Replay(ctx context.Context, path string, opts replay.Options) (replay.Summary, []replay.Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return replay.Summary{}, nil, fmt.Errorf("opening stream: %w", err)
	}
	defer f.Close()
	var in io.Reader = bufio.NewReaderSize(f, 256<<10)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return replay.Summary{}, nil, fmt.Errorf("stream %s: %w", path, err)
		}
		in = zr
	}
	opts.Speed = 0
	var out bytes.Buffer
	sum, err := replay.Run(ctx, in, &out, io.Discard, opts)
	if err != nil {
		return sum, nil, fmt.Errorf("replaying %s: %w", filepath.Base(path), err)
	}
	var lines []replay.Line
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var l replay.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return sum, nil, fmt.Errorf("reading verdict line of %s: %w", filepath.Base(path), err)
		}
		if l.Release != "" { // the summary line has none
			lines = append(lines, l)
		}
	}
	return sum, lines, sc.Err()
}

// Score replays one scenario and judges its halts and verdicts.
func Score(ctx context.Context, sc Scenario, opts replay.Options) (Result, error) {
	start := time.Now()
	sum, verdicts, err := Replay(ctx, sc.Path, opts)
	if err != nil {
		return Result{}, err
	}
	r := Judge(sc.Truth, sum.AllHalts, verdicts)
	r.Verdicts, r.Summary, r.Took = verdicts, sum, time.Since(start)
	return r, nil
}

// Result is how the detector did on one scenario.
type Result struct {
	Name string
	Kind string
	Half string
	// Expected is "halt RING", "no pass RING,…" or "none".
	Expected string
	// Got is the ring of the first halt that caught the incident, "none",
	// or for a clean scenario the rings halted; rings that must not pass
	// but did are added as "passed RING".
	Got string
	// Incident: the scenario has a halt to find. Detected: it was found (in
	// its ring or a later one, at or after the incident start). InRing:
	// found in its own ring. Correct: found in its own ring with no false
	// halt, or nothing expected and nothing halted; and no ring that must
	// not pass passed.
	Incident, Detected, InRing, Correct bool
	// Ring, Rise, Shape and Evidence describe the incident.
	Ring     string
	Rise     float64
	Shape    string
	Evidence string
	// Delay is the first explaining halt's time minus the incident start.
	Delay time.Duration
	// FalseHalts counts halts no incident explains: another release, an
	// earlier ring, or before the incident started.
	FalseHalts int
	// NoPass is how many rings have no evidence; NoPassPassed how many of
	// them passed anyway (the worst failure: a gate says proceed because
	// the crawlers are broken).
	NoPass, NoPassPassed int
	// Passable is how many rings of a clean release have evidence (all
	// but the NoPass ones) and Passed how many of them got a pass verdict:
	// a judge that never passes anything is no use either.
	Passable, Passed int
	// Verdicts are the replay's verdict lines, for looking into a result.
	Verdicts []replay.Line
	Summary  replay.Summary
	Took     time.Duration
}

// Judge compares halts and verdicts with the ground truth.
func Judge(t Truth, halts []replay.Halt, verdicts []replay.Line) Result {
	r := Result{Name: t.Name, Kind: t.Kind, Half: t.Half, Expected: "none", Got: "none", Correct: true}
	ringIdx := func(ring string) int {
		if i := slices.Index(t.Rings, ring); i >= 0 {
			return i
		}
		return len(t.Rings)
	}
	explains := func(w Want, h replay.Halt) bool {
		return h.Release == w.Release && !h.Time.Before(w.IncidentStart) && ringIdx(h.Ring) >= ringIdx(w.Ring)
	}
	var falseRings []string
	for _, h := range halts {
		if !slices.ContainsFunc(t.Halts, func(w Want) bool { return explains(w, h) }) {
			r.FalseHalts++
			falseRings = append(falseRings, h.Ring)
		}
	}
	var got []string
	if len(t.Halts) == 0 {
		r.Correct = len(halts) == 0
		if len(falseRings) > 0 {
			got = append(got, "halt "+strings.Join(falseRings, ","))
		}
	} else {
		// A scenario has one incident; judge the first.
		w := t.Halts[0]
		r.Incident, r.Correct = true, false
		r.Expected = "halt " + w.Ring
		r.Ring, r.Rise, r.Shape, r.Evidence = w.Ring, w.Rise, w.Shape, w.Evidence
		for _, h := range halts {
			if explains(w, h) {
				r.Detected = true
				r.InRing = h.Ring == w.Ring
				r.Correct = r.InRing && r.FalseHalts == 0
				r.Delay = h.Time.Sub(w.IncidentStart)
				got = append(got, "halt "+h.Ring)
				break
			}
		}
		if !r.Detected && len(falseRings) > 0 {
			got = append(got, "halt "+strings.Join(falseRings, ",")+" (early)")
		}
	}
	if len(t.NoPass) > 0 {
		var rings []string
		for _, np := range t.NoPass {
			rings = append(rings, np.Ring)
		}
		exp := "no pass " + strings.Join(rings, ",")
		if r.Expected == "none" {
			r.Expected = exp
		} else {
			r.Expected += "; " + exp
		}
	}
	var passed []string
	for _, np := range t.NoPass {
		r.NoPass++
		if slices.ContainsFunc(verdicts, func(v replay.Line) bool {
			return v.Release == np.Release && v.Ring == np.Ring && v.Decision == signals.DecisionPass
		}) {
			r.NoPassPassed++
			passed = append(passed, np.Ring)
		}
	}
	if len(t.Halts) == 0 {
		for _, ring := range t.Rings {
			if slices.ContainsFunc(t.NoPass, func(np RingRef) bool { return np.Release == t.Release && np.Ring == ring }) {
				continue
			}
			r.Passable++
			if slices.ContainsFunc(verdicts, func(v replay.Line) bool {
				return v.Release == t.Release && v.Ring == ring && v.Decision == signals.DecisionPass
			}) {
				r.Passed++
			}
		}
	}
	if len(passed) > 0 {
		r.Correct = false
		got = append(got, "passed "+strings.Join(passed, ","))
	}
	if len(got) > 0 {
		r.Got = strings.Join(got, "; ")
	}
	return r
}

// DelayStats summarises detection delays of a group of incidents.
type DelayStats struct {
	Incidents, Detected, InRing int
	Median, Max                 time.Duration
}

// Totals sums up results.
type Totals struct {
	Scenarios int
	Incidents int
	Detected  int
	// InRing counts incidents caught in their own ring.
	InRing int
	// Recall is Detected / Incidents.
	Recall float64
	// FalseHalts counts unexplained halts; Clean the scenarios without an
	// incident and CleanHalted those of them with at least one halt.
	FalseHalts  int
	Clean       int
	CleanHalted int
	Correct     int
	// Delay over all detected incidents.
	Delay DelayStats
	// ByRing is per ring of the incident; ByRise per rise factor (2, 5, 10).
	ByRing map[string]DelayStats
	ByRise map[float64]DelayStats
	// NoPass rings with no evidence; NoPassPassed of them passed.
	NoPass, NoPassPassed int
	// Passable rings of clean releases with evidence; Passed of them passed.
	Passable, Passed int
}

// Total sums results.
func Total(rs []Result) Totals {
	t := Totals{ByRing: map[string]DelayStats{}, ByRise: map[float64]DelayStats{}}
	var all []time.Duration
	byRing := map[string][]time.Duration{}
	byRise := map[float64][]time.Duration{}
	for _, r := range rs {
		t.Scenarios++
		t.FalseHalts += r.FalseHalts
		t.NoPass += r.NoPass
		t.NoPassPassed += r.NoPassPassed
		t.Passable += r.Passable
		t.Passed += r.Passed
		if r.Correct {
			t.Correct++
		}
		if !r.Incident {
			t.Clean++
			if r.FalseHalts > 0 {
				t.CleanHalted++
			}
			continue
		}
		t.Incidents++
		ring, rise := t.ByRing[r.Ring], t.ByRise[r.Rise]
		ring.Incidents++
		rise.Incidents++
		if r.Detected {
			t.Detected++
			ring.Detected++
			rise.Detected++
			all = append(all, r.Delay)
			byRing[r.Ring] = append(byRing[r.Ring], r.Delay)
			byRise[r.Rise] = append(byRise[r.Rise], r.Delay)
		}
		if r.InRing {
			t.InRing++
			ring.InRing++
			rise.InRing++
		}
		t.ByRing[r.Ring], t.ByRise[r.Rise] = ring, rise
	}
	if t.Incidents > 0 {
		t.Recall = float64(t.Detected) / float64(t.Incidents)
	}
	t.Delay = DelayStats{Incidents: t.Incidents, Detected: t.Detected, InRing: t.InRing}
	t.Delay.Median, t.Delay.Max = medianMax(all)
	for k, ds := range t.ByRing {
		ds.Median, ds.Max = medianMax(byRing[k])
		t.ByRing[k] = ds
	}
	for k, ds := range t.ByRise {
		ds.Median, ds.Max = medianMax(byRise[k])
		t.ByRise[k] = ds
	}
	return t
}

// medianMax is the median (the mean of the middle two for an even count)
// and the maximum; zero for none.
func medianMax(ds []time.Duration) (time.Duration, time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[n-1]
}

// WriteTable prints results and their totals.
func WriteTable(w io.Writer, title string, rs []Result) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "== %s ==\n", title)
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\texpected\tgot\trise\tdelay\tfalse halts\tok\tposts\tverdicts\ttook")
	for _, r := range rs {
		delay, rise := "-", "-"
		if r.Detected {
			delay = r.Delay.String()
		}
		if r.Incident {
			rise = fmt.Sprintf("×%g %s", r.Rise, r.Shape)
		}
		ok := "yes"
		if !r.Correct {
			ok = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\n", r.Name, r.Expected, r.Got, rise, delay, r.FalseHalts, ok,
			r.Summary.Posts, r.Summary.Verdicts, r.Took.Round(10*time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	buf.WriteString(Total(rs).String())
	_, err := w.Write(buf.Bytes())
	return err
}

// String is the totals as a few report lines.
func (t Totals) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recall %d/%d = %.2f, in own ring %d/%d; false halts %d (clean scenarios halted %d of %d); no-evidence rings passed %d of %d; correct %d/%d\n",
		t.Detected, t.Incidents, t.Recall, t.InRing, t.Incidents, t.FalseHalts, t.CleanHalted, t.Clean, t.NoPassPassed, t.NoPass, t.Correct, t.Scenarios)
	fmt.Fprintf(&b, "clean rings with evidence passed %d of %d; delay median %s max %s\n", t.Passed, t.Passable, t.Delay.Median, t.Delay.Max)
	rings := make([]string, 0, len(t.ByRing))
	for k := range t.ByRing {
		rings = append(rings, k)
	}
	slices.Sort(rings)
	for _, k := range rings {
		ds := t.ByRing[k]
		fmt.Fprintf(&b, "  ring %s: in ring %d/%d, detected %d, delay median %s max %s\n", k, ds.InRing, ds.Incidents, ds.Detected, ds.Median, ds.Max)
	}
	rises := make([]float64, 0, len(t.ByRise))
	for k := range t.ByRise {
		rises = append(rises, k)
	}
	slices.Sort(rises)
	for _, k := range rises {
		ds := t.ByRise[k]
		fmt.Fprintf(&b, "  rise ×%g: detected %d/%d (in ring %d), delay median %s max %s\n", k, ds.Detected, ds.Incidents, ds.InRing, ds.Median, ds.Max)
	}
	return b.String()
}

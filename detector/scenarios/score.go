package scenarios

import (
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
)

// Scenario is one corpus entry on disk.
type Scenario struct {
	Truth Truth
	Half  string
	Path  string // the stream, NAME.jsonl.gz
}

// Load reads the scenarios of one half (a directory of NAME.truth.json and
// NAME.jsonl.gz), in kind order.
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
		stream := strings.TrimSuffix(n, ".truth.json") + ".jsonl.gz"
		if _, err := os.Stat(stream); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", t.Name, err)
		}
		out = append(out, Scenario{Truth: t, Half: filepath.Base(dir), Path: stream})
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

// Result is how the detector did on one scenario.
type Result struct {
	Name string
	Kind string
	Half string
	// Expected is "halt RING" or "none".
	Expected string
	// Got is the ring of the first halt that caught the incident, "none",
	// or for a clean scenario the rings halted.
	Got string
	// Incident: the scenario has a halt to find. Detected: it was found (in
	// its ring or a later one, at or after the incident start). Correct:
	// found in its own ring, or nothing expected and nothing halted.
	Incident, Detected, Correct bool
	// Delay is the first halt time minus the incident start (when detected).
	Delay time.Duration
	// FalseHalts counts halts no incident explains: another release or an
	// earlier ring, or before the incident started.
	FalseHalts int
	Summary    replay.Summary
	Took       time.Duration
}

// Score replays one scenario in simulated time and judges the halts.
func Score(ctx context.Context, sc Scenario, opts replay.Options) (Result, error) {
	f, err := os.Open(sc.Path)
	if err != nil {
		return Result{}, fmt.Errorf("opening scenario: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return Result{}, fmt.Errorf("scenario %s: %w", sc.Truth.Name, err)
	}
	opts.Speed = 0
	start := time.Now()
	sum, err := replay.Run(ctx, zr, io.Discard, io.Discard, opts)
	if err != nil {
		return Result{}, fmt.Errorf("replaying scenario %s: %w", sc.Truth.Name, err)
	}
	r := Judge(sc.Truth, sum.AllHalts)
	r.Half, r.Summary, r.Took = sc.Half, sum, time.Since(start)
	return r, nil
}

// Judge compares halts with the ground truth.
func Judge(t Truth, halts []replay.Halt) Result {
	r := Result{Name: t.Name, Kind: t.Kind, Expected: "none", Got: "none", Correct: true}
	ringIdx := func(ring string) int {
		if i := slices.Index(t.Rings, ring); i >= 0 {
			return i
		}
		return len(t.Rings)
	}
	explained := func(h replay.Halt) *Want {
		for i := range t.Halts {
			w := &t.Halts[i]
			if h.Release == w.Release && !h.Time.Before(w.IncidentStart) && ringIdx(h.Ring) >= ringIdx(w.Ring) {
				return w
			}
		}
		return nil
	}
	var falseRings []string
	for _, h := range halts {
		if explained(h) == nil {
			r.FalseHalts++
			falseRings = append(falseRings, h.Ring)
		}
	}
	if len(t.Halts) == 0 {
		r.Correct = len(halts) == 0
		if len(falseRings) > 0 {
			r.Got = "halt " + strings.Join(falseRings, ",")
		}
		return r
	}
	// The corpus has one incident per scenario; judge the first.
	w := t.Halts[0]
	r.Incident = true
	r.Expected = "halt " + w.Ring
	r.Correct = false
	for _, h := range halts {
		if explained(h) == &t.Halts[0] {
			r.Detected = true
			r.Correct = h.Ring == w.Ring && r.FalseHalts == 0
			r.Delay = h.Time.Sub(w.IncidentStart)
			r.Got = "halt " + h.Ring
			break
		}
	}
	if !r.Detected && len(falseRings) > 0 {
		r.Got = "halt " + strings.Join(falseRings, ",") + " (early)"
	}
	return r
}

// Totals sums up one half.
type Totals struct {
	Scenarios int
	Incidents int
	Detected  int
	// InRing counts incidents caught in their own ring.
	InRing int
	// Recall is Detected / Incidents.
	Recall float64
	// FalseHalts counts unexplained halts; CleanHalted the clean scenarios
	// with at least one.
	FalseHalts  int
	CleanHalted int
	Correct     int
	MeanDelay   time.Duration
	MaxDelay    time.Duration
}

// Total sums results.
func Total(rs []Result) Totals {
	var t Totals
	var delay time.Duration
	for _, r := range rs {
		t.Scenarios++
		t.FalseHalts += r.FalseHalts
		if r.Correct {
			t.Correct++
		}
		if !r.Incident {
			if r.FalseHalts > 0 {
				t.CleanHalted++
			}
			continue
		}
		t.Incidents++
		if r.Detected {
			t.Detected++
			delay += r.Delay
			t.MaxDelay = max(t.MaxDelay, r.Delay)
			if strings.HasSuffix(r.Expected, strings.TrimPrefix(r.Got, "halt")) {
				t.InRing++
			}
		}
	}
	if t.Incidents > 0 {
		t.Recall = float64(t.Detected) / float64(t.Incidents)
	}
	if t.Detected > 0 {
		t.MeanDelay = (delay / time.Duration(t.Detected)).Round(time.Second)
	}
	return t
}

// WriteTable prints one half's results and totals.
func WriteTable(w io.Writer, half string, rs []Result) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "== %s ==\n", half)
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\texpected\tgot\tdelay\tfalse halts\tok\tposts\tverdicts\ttook")
	for _, r := range rs {
		delay := "-"
		if r.Detected {
			delay = r.Delay.String()
		}
		ok := "yes"
		if !r.Correct {
			ok = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\n", r.Name, r.Expected, r.Got, delay, r.FalseHalts, ok,
			r.Summary.Posts, r.Summary.Verdicts, r.Took.Round(10*time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t := Total(rs)
	fmt.Fprintf(&buf, "recall %d/%d = %.2f (in own ring %d); false halts %d (clean scenarios halted %d of %d); correct %d/%d; delay mean %s max %s\n",
		t.Detected, t.Incidents, t.Recall, t.InRing, t.FalseHalts, t.CleanHalted, t.Scenarios-t.Incidents, t.Correct, t.Scenarios, t.MeanDelay, t.MaxDelay)
	_, err := w.Write(buf.Bytes())
	return err
}

// Write generates one scenario into dir: NAME.jsonl.gz and NAME.truth.json.
// It returns the uncompressed stream size.
func Write(dir string, spec Spec) (int, error) {
	var raw bytes.Buffer
	truth, err := Generate(spec, &raw)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("making scenario directory: %w", err)
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	base := filepath.Join(dir, spec.Name())
	if err := os.WriteFile(base+".jsonl.gz", gz.Bytes(), 0o644); err != nil {
		return 0, fmt.Errorf("writing scenario: %w", err)
	}
	tj, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(base+".truth.json", append(tj, '\n'), 0o644); err != nil {
		return 0, fmt.Errorf("writing scenario truth: %w", err)
	}
	return raw.Len(), nil
}

package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/replay"
)

// What the detector must do on the CI part of the tune half (CISpecs: the
// first seed of every kind). The detector as it was before the issue-11
// rewrite (commit 129fbf2) halted 3 of 12 incidents (2 in their own ring),
// had no false halt, passed 4 of the 5 rings without evidence and 22 of 22
// clean rings with evidence (see README.md, "Baseline"). The bounds are
// what it achieves (the pass share is set at a half); tighten them as the
// judge improves, never loosen them to make a change pass. Tightened to
// the issue-11 judge (branch judge, commit 3ff7563): 9 of 10 incidents
// halted (8 in their own ring), no false halt, no ring without evidence
// passed, 22 of 22 clean rings with evidence passed. The CI part then
// gained two kinds the judge was never tuned on (a sudden ×2 rise in H3 and
// a ×5 incident under launch buzz); on the merged tree (judge + the learned
// complaint recogniser of issue 14) it halts 10 of 12 incidents, all in
// their own ring, missing the ×2 slow burn and the sudden ×2 in H3.
const (
	// MinCIRecall is the least share of incidents halted (in their ring
	// or a later one, after the incident started).
	MinCIRecall = 10.0 / 12
	// MaxCIFalseHalts is the most halts that no incident explains.
	MaxCIFalseHalts = 0
	// MaxCINoPassPassed is the most rings without evidence that passed.
	MaxCINoPassPassed = 0
	// MinCIPassedShare is the least share of clean rings with evidence
	// that pass (a judge that never passes is no use).
	MinCIPassedShare = 0.5
)

var (
	poolsMu sync.Mutex
	pools   = map[string]*Pools{}
)

// loadPools loads one half's real texts once, or skips the test when the
// shared data folder is absent.
func loadPools(t testing.TB, half string) *Pools {
	t.Helper()
	poolsMu.Lock()
	defer poolsMu.Unlock()
	social, share := socialMix(t)
	key := fmt.Sprintf("%s|%s|%g", half, social, share)
	if p := pools[key]; p != nil {
		return p
	}
	dir, err := DataDir()
	if errors.Is(err, ErrNoData) {
		t.Skipf("the scenarios are made of real texts from ../shared/data, which is absent: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPools(dir, half)
	if err != nil {
		t.Fatal(err)
	}
	if social != "" {
		if p, err = p.WithSocial(SocialDir, social, share); err != nil {
			t.Fatal(err)
		}
		t.Logf("social posts of %s mixed into %.0f %% of the complaint, neutral and Korean positive draws", social, 100*share)
	}
	pools[key] = p
	return p
}

// socialMix reads AFTERSHOCK_SOCIAL (a labelled social set under
// signals/testdata, e.g. complaints-dev) and AFTERSHOCK_SOCIAL_SHARE
// (default 0.5): the env-gated reports then mix that set's posts into the
// draws (WithSocial). A held-out social set is mixed in once, after the
// judge and the recogniser are frozen, like a held-out scenario set.
func socialMix(t testing.TB) (string, float64) {
	set := os.Getenv("AFTERSHOCK_SOCIAL")
	if set == "" {
		return "", 0
	}
	share := 0.5
	if v := os.Getenv("AFTERSHOCK_SOCIAL_SHARE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("AFTERSHOCK_SOCIAL_SHARE=%q: %v", v, err)
		}
		share = f
	}
	return set, share
}

// corpusDir is where a test writes its corpus: a temporary directory, or
// AFTERSHOCK_SCENARIOS_DIR/<half> to keep it for `aftershock replay`.
func corpusDir(t testing.TB, half string) string {
	if d := os.Getenv("AFTERSHOCK_SCENARIOS_DIR"); d != "" {
		return d + "/" + half
	}
	return t.TempDir()
}

// scoreSpecs builds and replays specs and returns the results.
func scoreSpecs(t testing.TB, half string, specs []Spec, opts replay.Options) []Result {
	t.Helper()
	scs, err := Build(loadPools(t, half), specs, corpusDir(t, half))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var rs []Result
	for _, sc := range scs {
		r, err := Score(ctx, sc, opts)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// slowUnderRace are clean kinds with 8 days of history; under the race
// detector (about five times slower) CI leaves them out. They have no
// incident, so recall and delay are unchanged and false halts can only be
// fewer.
var slowUnderRace = []string{"monday-surge", "weekend-lull"}

// CISpecs is the part of the tune half CI replays: the first seed of every
// kind (under the race detector without the slowest clean kinds).
func CISpecs() []Spec {
	var out []Spec
	for i, s := range Corpus(Tune) {
		if i%SeedsPerKind == 0 && !(raceEnabled && contains(slowUnderRace, s.Kind)) {
			out = append(out, s)
		}
	}
	return out
}

// TestTuneScenarios replays the tune half through the real pipeline and
// checks the detector is no worse than the bounds above.
func TestTuneScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("replays the tune half of the scenarios")
	}
	rs := scoreSpecs(t, Tune, CISpecs(), replay.Options{})
	var table strings.Builder
	if err := WriteTable(&table, "tune (CI)", rs); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	tot := Total(rs)
	if tot.Incidents == 0 || tot.Clean == 0 || tot.NoPass == 0 {
		t.Fatalf("the tune half needs incidents, clean releases and rings without evidence: %+v", tot)
	}
	if tot.Recall < MinCIRecall {
		t.Errorf("recall %.2f, want at least %.2f", tot.Recall, MinCIRecall)
	}
	if tot.FalseHalts > MaxCIFalseHalts {
		t.Errorf("%d false halts, want at most %d", tot.FalseHalts, MaxCIFalseHalts)
	}
	if float64(tot.Passed) < MinCIPassedShare*float64(tot.Passable) {
		t.Errorf("%d of %d clean rings with evidence passed, want at least %.0f%%", tot.Passed, tot.Passable, 100*MinCIPassedShare)
	}
	if tot.NoPassPassed > MaxCINoPassPassed {
		t.Errorf("%d rings without evidence passed, want at most %d", tot.NoPassPassed, MaxCINoPassPassed)
	}
}

// TestTuneReport prints the report of the tune half, the one to tune on
// (=tune2: the wider tune set, four seeds per kind from 101):
//
//	AFTERSHOCK_SCENARIOS=tune go test ./detector/scenarios -run TestTuneReport -v -timeout 30m
func TestTuneReport(t *testing.T) {
	switch v := os.Getenv("AFTERSHOCK_SCENARIOS"); v {
	case Tune, Tune2:
		report(t, v)
	default:
		t.Skip("set AFTERSHOCK_SCENARIOS=tune (or tune2) to print the tune report")
	}
}

// TestHeldOutReport prints the report of the held-out half. Run it ONCE,
// after the judge is frozen, and report that run with its commit:
//
//	AFTERSHOCK_SCENARIOS=heldout go test ./detector/scenarios -run 'TestHeldOutReport|TestCleanReplay' -v -timeout 60m
func TestHeldOutReport(t *testing.T) { heldOutReport(t, HeldOut) }

// TestHeldOut2Report prints the report of the fresh held-out set (the
// held-out texts with new seeds, 5001…; see HeldOut2). Run it ONCE, after
// the judge is frozen, with the fresh 30-day clean replay (seed 5007):
//
//	AFTERSHOCK_SCENARIOS=heldout2 go test ./detector/scenarios -run 'TestHeldOut2Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut2Report(t *testing.T) { heldOutReport(t, HeldOut2) }

// TestHeldOut3Report prints the report of the second fresh held-out set
// (held-out texts, four seeds per kind from 9001; see HeldOut3), fixed
// before session 4's tuning. Run it ONCE, after the judge is frozen, with
// its 30-day clean replay (seed 9007):
//
//	AFTERSHOCK_SCENARIOS=heldout3 go test ./detector/scenarios -run 'TestHeldOut3Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut3Report(t *testing.T) { heldOutReport(t, HeldOut3) }

// TestHeldOut4Report prints the report of the third fresh held-out set
// (held-out texts, four seeds per kind from 13001; see HeldOut4), fixed
// before session 5's tuning. Run it ONCE, after the judge is frozen, with
// its 30-day clean replay (seed 13007):
//
//	AFTERSHOCK_SCENARIOS=heldout4 go test ./detector/scenarios -run 'TestHeldOut4Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut4Report(t *testing.T) { heldOutReport(t, HeldOut4) }

// TestHeldOut5Report prints the report of the fourth fresh held-out set
// (held-out texts, four seeds per kind from 17001; see HeldOut5). Run it
// ONCE, after the judge is frozen, with its 30-day clean replay (seed
// 17007):
//
//	AFTERSHOCK_SCENARIOS=heldout5 go test ./detector/scenarios -run 'TestHeldOut5Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut5Report(t *testing.T) { heldOutReport(t, HeldOut5) }

// TestHeldOut6Report prints the report of the fifth fresh held-out set
// (held-out texts, four seeds per kind from 21001; see HeldOut6), fixed
// before session 6's tuning. Run it ONCE, after the judge is frozen, with
// its 30-day clean replay (seed 21007):
//
//	AFTERSHOCK_SCENARIOS=heldout6 go test ./detector/scenarios -run 'TestHeldOut6Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut6Report(t *testing.T) { heldOutReport(t, HeldOut6) }

// TestHeldOut7Report prints the report of the sixth fresh held-out set
// (held-out texts, four seeds per kind from 25001; see HeldOut7), fixed
// after heldout6 was run. Run it ONCE, after the judge is frozen, with its
// 30-day clean replay (seed 25007):
//
//	AFTERSHOCK_SCENARIOS=heldout7 go test ./detector/scenarios -run 'TestHeldOut7Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut7Report(t *testing.T) { heldOutReport(t, HeldOut7) }

// TestHeldOut8Report prints the report of the seventh fresh held-out set
// (held-out texts, four seeds per kind from 29001; see HeldOut8), fixed
// after heldout7 was run. Run it ONCE, after the judge is frozen, with its
// 30-day clean replay (seed 29007):
//
//	AFTERSHOCK_SCENARIOS=heldout8 go test ./detector/scenarios -run 'TestHeldOut8Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut8Report(t *testing.T) { heldOutReport(t, HeldOut8) }

// TestHeldOut9Report prints the report of the eighth fresh held-out set
// (held-out texts, four seeds per kind from 33001; see HeldOut9), fixed
// after heldout8 was run. Run it ONCE, after the judge is frozen, with its
// 30-day clean replay (seed 33007):
//
//	AFTERSHOCK_SCENARIOS=heldout9 go test ./detector/scenarios -run 'TestHeldOut9Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut9Report(t *testing.T) { heldOutReport(t, HeldOut9) }

// TestHeldOut10Report prints the report of the ninth fresh held-out set
// (held-out texts, four seeds per kind from 37001; see HeldOut10), fixed
// after heldout9 was run. Run it ONCE, after the judge is frozen, with its
// 30-day clean replay (seed 37007):
//
//	AFTERSHOCK_SCENARIOS=heldout10 go test ./detector/scenarios -run 'TestHeldOut10Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut10Report(t *testing.T) { heldOutReport(t, HeldOut10) }

// TestHeldOut11Report prints the report of the tenth fresh held-out set
// (held-out texts, four seeds per kind from 41001; see HeldOut11), fixed
// before heldout10 was run. Run it ONCE, after the judge is frozen, with
// its 30-day clean replay (seed 41007):
//
//	AFTERSHOCK_SCENARIOS=heldout11 go test ./detector/scenarios -run 'TestHeldOut11Report|TestCleanReplay' -v -timeout 60m
func TestHeldOut11Report(t *testing.T) { heldOutReport(t, HeldOut11) }

// heldOutReport prints the report of a held-out set when
// AFTERSHOCK_SCENARIOS names it, and skips otherwise: each set is run once,
// after the judge is frozen, and its figures are reported with the commit.
func heldOutReport(t *testing.T, half string) {
	if os.Getenv("AFTERSHOCK_SCENARIOS") != half {
		t.Skipf("set AFTERSHOCK_SCENARIOS=%s (once, after freezing the judge) to print the held-out report", half)
	}
	t.Logf("held-out run (%s): report these figures with the commit they ran at; a judge changed after this run has no held-out figure", half)
	report(t, half)
}

func report(t *testing.T, half string) {
	specs := Corpus(half)
	// AFTERSHOCK_SCENARIOS_RUN=regexp picks scenarios by name (tune half
	// only: the held-out half is run whole, once).
	if re := os.Getenv("AFTERSHOCK_SCENARIOS_RUN"); re != "" && half == Tune {
		rx, err := regexp.Compile(re)
		if err != nil {
			t.Fatalf("AFTERSHOCK_SCENARIOS_RUN: %v", err)
		}
		specs = slices.DeleteFunc(specs, func(s Spec) bool { return !rx.MatchString(s.Name()) })
	}
	rs := scoreSpecs(t, half, specs, reportOptions(t))
	var table strings.Builder
	if err := WriteTable(&table, half, rs); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
	// AFTERSHOCK_SCENARIOS_VERBOSE=1 prints every verdict line (tune half).
	if os.Getenv("AFTERSHOCK_SCENARIOS_VERBOSE") != "" && half == Tune {
		for _, r := range rs {
			var b strings.Builder
			for _, v := range r.Verdicts {
				fmt.Fprintf(&b, "  %s %s %s %.1f %s/%s %s\n", v.Time.Format(time.RFC3339), v.Release, v.Ring, v.Score, v.Decision, v.Action, strings.Join(v.Reasons, "; "))
			}
			t.Logf("%s (%s, got %s):\n%s", r.Name, r.Expected, r.Got, b.String())
		}
	}
}

// reportOptions are the replay options of the env-gated reports:
// AFTERSHOCK_SCENARIOS_CONFIG names an aftershock.yaml whose detector and
// services sections the replays use (as `aftershock replay -c`);
// unset means the defaults.
func reportOptions(t testing.TB) replay.Options {
	path := os.Getenv("AFTERSHOCK_SCENARIOS_CONFIG")
	if path == "" {
		return replay.Options{}
	}
	cfg, err := replay.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detector config from %s", path)
	return replay.Options{Config: cfg}
}

// TestNoStoredCorpus checks that no generated stream or data file is kept
// in the package: the scenarios hold real texts that stay in ../shared/data.
func TestNoStoredCorpus(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, ext := range []string{".jsonl", ".jsonl.gz", ".truth.json", ".tsv", ".csv"} {
			if strings.HasSuffix(path, ext) {
				t.Errorf("%s: generated streams and data must not be stored in the repository", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkGenerate measures generating one scenario (clean-day, about
// 14 hours of traffic) from the loaded pools.
func BenchmarkGenerate(b *testing.B) {
	p := loadPools(b, Tune)
	spec := Spec{Kind: "clean-day", Seed: 21, Half: Tune}
	var n int64
	for b.Loop() {
		var cw countWriter
		if _, err := Generate(p, spec, &cw); err != nil {
			b.Fatal(err)
		}
		n = int64(cw)
	}
	b.SetBytes(n)
}

// BenchmarkScoreScenario measures replaying and judging one scenario
// through the real pipeline.
func BenchmarkScoreScenario(b *testing.B) {
	scs, err := Build(loadPools(b, Tune), []Spec{{Kind: "sudden-x10-h3", Seed: 1, Half: Tune}}, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	posts := 0
	for b.Loop() {
		r, err := Score(context.Background(), scs[0], replay.Options{})
		if err != nil {
			b.Fatal(err)
		}
		posts = r.Summary.Posts
	}
	b.ReportMetric(float64(posts)*float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

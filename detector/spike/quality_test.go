package spike

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/detector/spike/windowscore"
)

// The quality evaluation follows EVALUATION.md: ASD services omi-1..6 and the
// generated tune half are for choosing; omi-7..12 and the generated held-out
// half are run once, after freezing.

const asdDir = "../../../shared/data/asd"

var (
	asdTune    = []string{"omi-1", "omi-2", "omi-3", "omi-4", "omi-5", "omi-6"}
	asdHeldOut = []string{"omi-7", "omi-8", "omi-9", "omi-10", "omi-11", "omi-12"}
)

// asdService is one ASD service: 19 metric columns, the index of the first
// test row and the labels of every row.
type asdService struct {
	name    string
	metrics [][]float64 // [metric][row]
	test    int
	labels  []bool
}

const asdStep = 5 * time.Minute

func loadASD(t testing.TB, name string) asdService {
	t.Helper()
	f, err := os.Open(filepath.Join(asdDir, name+".csv"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("ASD data not found at %s (the shared data folder sits beside the repository in CI)", asdDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var cols []int
	split, label := -1, -1
	for i, h := range head {
		switch {
		case strings.HasPrefix(h, "m"):
			cols = append(cols, i)
		case h == "split":
			split = i
		case h == "label":
			label = i
		}
	}
	s := asdService{name: name, metrics: make([][]float64, len(cols)), test: -1}
	for row := 0; ; row++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec[split] == "test" && s.test < 0 {
			s.test = row
		}
		for k, c := range cols {
			v, err := strconv.ParseFloat(rec[c], 64)
			if err != nil {
				t.Fatalf("%s row %d: %v", name, row, err)
			}
			s.metrics[k] = append(s.metrics[k], v)
		}
		s.labels = append(s.labels, strings.TrimSpace(rec[label]) == "1")
	}
	return s
}

// scoreService streams every metric through its own detector and returns the
// service's score per test row: the maximum over its metrics.
func scoreService(cfg Config, s asdService) []float64 {
	n := len(s.labels)
	out := make([]float64, n-s.test)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range s.metrics {
		d := New(cfg)
		for i, v := range m {
			r := d.Update(t0.Add(time.Duration(i)*asdStep), v)
			if i >= s.test {
				out[i-s.test] = max(out[i-s.test], r.Score)
			}
		}
	}
	return out
}

// asdCorpus scores the named services, in parallel.
func asdCorpus(t testing.TB, cfg Config, names []string) []windowscore.Series {
	out := make([]windowscore.Series, len(names))
	svcs := make([]asdService, len(names))
	for i, n := range names {
		svcs[i] = loadASD(t, n)
	}
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := svcs[i]
			lab := s.labels[s.test:]
			out[i] = windowscore.Series{Scores: scoreService(cfg, s), Windows: windowscore.Windows(len(lab), windowscore.EventsOf(lab))}
		}()
	}
	wg.Wait()
	return out
}

// generatedCorpus scores a split of the generated evaluation set.
func generatedCorpus(t testing.TB, cfg Config, split string) ([]windowscore.Series, []string) {
	sp := loadSplit(t, split)
	names := make([]string, 0, len(sp))
	for n := range sp {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]windowscore.Series, 0, len(names))
	for _, n := range names {
		pts := sp[n]
		d := New(cfg)
		s := windowscore.Series{Scores: make([]float64, len(pts))}
		for i, p := range pts {
			s.Scores[i] = d.Update(p.t, p.v).Score
		}
		for _, w := range windowsOf(pts) {
			s.Windows = append(s.Windows, windowscore.Window{Lo: w.lo, Hi: w.hi - 1})
		}
		out = append(out, s)
	}
	return out, names
}

func fmtResult(r windowscore.Result) string {
	return fmt.Sprintf("nab=%5.1f windows=%d detected=%d false_alarms=%d precision=%.3f recall=%.3f delay=%.2f thr=%.3f",
		r.NAB, r.Windows, r.Detected, r.FalseAlarms, r.Precision, r.Recall, r.MeanDelayFraction, r.Threshold)
}

// parseVariant reads "th=0.5,cd=100" into a Config.
func parseVariant(t testing.TB, spec string) Config {
	var c Config
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("variant %q: %v", spec, err)
		}
		switch k {
		case "th":
			c.Threshold = f
		case "z":
			c.MinZ = f
		case "w":
			c.Window = int(f)
		case "cd":
			c.Cooldown = int(f)
		case "wu":
			c.WarmUp = int(f)
		case "h":
			c.History = int(f)
		case "ntol":
			noveltyTolerance = f
		case "s2":
			// a second, slower shift scale: s2=N uses N points against ~20N
			shiftScales = []shiftScale{{10, 0.005}, {int(f), 1 / (20 * f)}}
		case "smz":
			shiftMinZ = f
		case "tf":
			c.TailFraction = f
		case "rs":
			runSlack = f
		case "rz":
			runZ = f
		default:
			t.Fatalf("variant %q: unknown key %q", spec, k)
		}
	}
	return c
}

// TestTuneQuality prints the window score of config variants on the tuning
// halves only (ASD omi-1..6, generated tune/), at the configured threshold
// and at the best threshold for these data. It is how the defaults were
// chosen. Run with
//
//	AFTERSHOCK_TUNE=1 AFTERSHOCK_TUNE_VARIANTS="th=0.5 th=0.6,cd=200" go test ./detector/spike -run TestTuneQuality -v
func TestTuneQuality(t *testing.T) {
	if os.Getenv("AFTERSHOCK_TUNE") == "" {
		t.Skip("set AFTERSHOCK_TUNE=1 to print tuning figures")
	}
	specs := append([]string{""}, strings.Fields(os.Getenv("AFTERSHOCK_TUNE_VARIANTS"))...)
	for _, spec := range specs {
		noveltyTolerance, shiftMinZ = 0.05, 6
		shiftScales = []shiftScale{{10, 0.005}}
		runSlack, runZ = 1.5, 0.5
		cfg := Config{}
		if spec != "" {
			cfg = parseVariant(t, spec)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		asd := asdCorpus(t, cfg, asdTune)
		gen, _ := generatedCorpus(t, cfg, "tune")
		t.Logf("%-24s asd-tune %s", spec, fmtResult(windowscore.Score(asd, cfg.Threshold, windowscore.Standard)))
		t.Logf("%-24s asd-tune best %s", spec, fmtResult(windowscore.Optimize(asd, windowscore.Standard)))
		t.Logf("%-24s gen-tune %s", spec, fmtResult(windowscore.Score(gen, cfg.Threshold, windowscore.Standard)))
		t.Logf("%-24s gen-tune best %s", spec, fmtResult(windowscore.Optimize(gen, windowscore.Standard)))
		both := append(append([]windowscore.Series{}, asd...), gen...)
		t.Logf("%-24s both best %s", spec, fmtResult(windowscore.Optimize(both, windowscore.Standard)))
	}
}

// TestASDDetail prints, per tuning service, each event window and the
// metrics whose alarms fall in it or outside every window.
func TestASDDetail(t *testing.T) {
	if os.Getenv("AFTERSHOCK_TUNE_DETAIL") == "" {
		t.Skip("set AFTERSHOCK_TUNE_DETAIL=1")
	}
	cfg := Config{}
	if spec := os.Getenv("AFTERSHOCK_TUNE_VARIANT"); spec != "" {
		cfg = parseVariant(t, spec)
	}
	cfg.Validate()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range asdTune {
		s := loadASD(t, name)
		lab := s.labels[s.test:]
		ws := windowscore.Windows(len(lab), windowscore.EventsOf(lab))
		t.Logf("%s events %v windows %v", name, windowscore.EventsOf(lab), ws)
		for k, m := range s.metrics {
			d := New(cfg)
			var in, out []string
			for i, v := range m {
				r := d.Update(t0.Add(time.Duration(i)*asdStep), v)
				if i < s.test || !r.Anomaly {
					continue
				}
				j := i - s.test
				inW := false
				for _, w := range ws {
					if j >= w.Lo && j <= w.Hi {
						inW = true
					}
				}
				tag := fmt.Sprintf("%d(%.2f)", j, r.Score)
				if inW {
					in = append(in, tag)
				} else {
					out = append(out, tag)
				}
			}
			t.Logf("   m%-2d in %v out %v", k, in, out)
		}
	}
}

// window is a labelled window of a generated series: [lo, hi), start the
// labelled anomaly.
type window struct{ lo, hi, start int }

// windowsOf returns the labelled windows of a generated series.

func windowsOf(pts []evalPoint) []window {
	var ws []window
	for i := 0; i < len(pts); i++ {
		if !pts[i].window {
			continue
		}
		w := window{lo: i, start: -1}
		for i < len(pts) && pts[i].window {
			if pts[i].start && w.start < 0 {
				w.start = i
			}
			i++
		}
		w.hi = i
		if w.start < 0 {
			w.start = w.lo
		}
		ws = append(ws, w)
	}
	return ws
}

package spike

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// The evaluation set is synthetic but shaped like real metric histories:
// 40 series of 2,000-5,000 points in six families, with rare labelled
// anomalies of several kinds and NAB-style windows (10% of the series
// length shared between its anomalies, centred on each anomaly's start).
// Odd seeds form the tuning half, even seeds the held-out half; each
// odd/even pair shares a family so both halves hold every family.
//
// Regenerate with: go test ./detector/spike -run TestGenerateEvalSet -update

var update = flag.Bool("update", false, "rewrite testdata/eval")

const evalSeeds = 40

var families = []string{"cpu", "requests", "errors", "adclicks", "tweets", "temperature"}

// evalPoint is one row of an evaluation series.
type evalPoint struct {
	t      time.Time
	v      float64
	window bool // inside a labelled anomaly window
	start  bool // first point of a labelled anomaly
}

type anomalyKind int

const (
	kindSpike anomalyKind = iota
	kindDip
	kindShift
	kindVariance
	kindBurst
)

// generate builds the series for one seed.
func generate(seed int) (string, []evalPoint) {
	name, pts, _, _ := generatePlan(seed)
	return name, pts
}

// generatePlan is generate that also returns the anomaly plan: the start
// index and kind of each anomaly.
func generatePlan(seed int) (string, []evalPoint, []int, []anomalyKind) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	fam := families[((seed-1)/2)%len(families)]
	n := 2000 + rng.IntN(3001)
	step := 5 * time.Minute
	if pair := (seed - 1) / 2; fam == "adclicks" && (pair/len(families))%2 == 0 {
		// some ad series are hourly, like NAB's realAdExchange
		step = time.Hour
		n = 1500 + rng.IntN(500)
	}
	start := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(7*24)) * time.Hour)

	// Anomaly plan: 1-3 anomalies after the first 20%, well apart.
	nA := 1 + rng.IntN(3)
	var starts []int
	for len(starts) < nA {
		s := n/5 + rng.IntN(n*3/4)
		ok := s < n-20
		for _, o := range starts {
			if abs(o-s) < n/8 {
				ok = false
			}
		}
		if ok {
			starts = append(starts, s)
		}
	}
	kinds := make([]anomalyKind, nA)
	lens := make([]int, nA)
	for i := range kinds {
		switch fam {
		case "errors":
			kinds[i] = []anomalyKind{kindBurst, kindShift, kindSpike}[rng.IntN(3)]
		case "tweets", "adclicks":
			kinds[i] = []anomalyKind{kindSpike, kindBurst, kindDip, kindShift}[rng.IntN(4)]
		default:
			kinds[i] = anomalyKind(rng.IntN(5))
		}
		switch kinds[i] {
		case kindSpike, kindDip:
			lens[i] = 1 + rng.IntN(3)
		case kindBurst:
			lens[i] = 6 + rng.IntN(18)
		case kindVariance:
			lens[i] = 100 + rng.IntN(200)
		case kindShift:
			lens[i] = n // to the end
		}
	}
	mag := make([]float64, nA)
	for i := range mag {
		mag[i] = 1 + rng.Float64() // 1..2, scaled per family below
	}

	pts := make([]evalPoint, n)
	level := 0.0
	ar := 0.0
	walk := 0.0
	// family parameters
	var base, amp, sd float64
	switch fam {
	case "cpu":
		base, amp, sd = 20+rng.Float64()*40, 5+rng.Float64()*15, 1+rng.Float64()*3
	case "requests":
		base, amp = 200+rng.Float64()*1800, 0.3+rng.Float64()*0.4
	case "errors":
		base, amp = 0.05+rng.Float64()*0.75, 0.5
	case "adclicks":
		base, amp = 5+rng.Float64()*45, 0.4+rng.Float64()*0.4
	case "tweets":
		base, amp = 5+rng.Float64()*25, 0.3+rng.Float64()*0.5
	case "temperature":
		base, sd = 70+rng.Float64()*20, 0.3+rng.Float64()*1.0
	}
	burstLeft, burstMul := 0, 1.0
	for i := range pts {
		t := start.Add(time.Duration(i) * step)
		h := float64(t.Hour()) + float64(t.Minute())/60
		daily := math.Sin(2 * math.Pi * (h - 9) / 24) // peak mid afternoon
		weekend := t.Weekday() == time.Saturday || t.Weekday() == time.Sunday
		// active anomalies at i
		shift, varMul, rateMul, dip := 0.0, 1.0, 1.0, false
		for a, s := range starts {
			if i < s || i >= s+lens[a] {
				continue
			}
			switch kinds[a] {
			case kindSpike:
				rateMul *= 3 + 4*mag[a]
				shift += (6 + 6*mag[a])
			case kindDip:
				dip = true
			case kindShift:
				rateMul *= 1.8 + mag[a]
				shift += (4 + 3*mag[a])
			case kindVariance:
				varMul = 3 + 2*mag[a]
			case kindBurst:
				rateMul *= 2.5 + 2*mag[a]
				shift += 5 + 3*mag[a]
			}
		}
		var v float64
		switch fam {
		case "cpu":
			busy := 0.0
			if h >= 8 && h < 19 && !weekend {
				busy = 1
			}
			ar = 0.7*ar + rng.NormFloat64()*sd*varMul
			level = base + amp*(0.5*daily+0.5*busy)
			v = level + ar + shift*sd
			if dip {
				v = level - (8+6*rng.Float64())*sd
			}
			v = math.Round(math.Max(0, math.Min(100, v))*100) / 100
		case "requests":
			wk := 1.0
			if weekend {
				wk = 0.6
			}
			lam := base * (1 + amp*daily) * wk * rateMul
			if dip {
				lam *= 0.2
			}
			v = math.Round(lam + rng.NormFloat64()*math.Sqrt(lam)*1.5*varMul)
			v = math.Max(0, v)
		case "errors":
			lam := base * (1 + amp*daily)
			lam = lam*rateMul + (rateMul-1)*1.5
			v = float64(poisson(rng, lam))
		case "adclicks":
			lam := base * (1 + amp*daily) * rateMul
			if dip {
				lam *= 0.1
			}
			g := gamma(rng, 8) / 8 // overdispersion
			v = float64(poisson(rng, lam*g))
		case "tweets":
			if burstLeft == 0 && rng.Float64() < 0.004 {
				// unlabelled natural burst: heavy-tailed, short
				burstLeft = 1 + rng.IntN(6)
				burstMul = math.Exp(rng.NormFloat64()*0.5 + 0.6)
			}
			m := 1.0
			if burstLeft > 0 {
				m = burstMul
				burstLeft--
			}
			lam := base * (1 + amp*daily) * rateMul * m
			if dip {
				lam *= 0.05
			}
			g := gamma(rng, 4) / 4
			v = float64(poisson(rng, lam*g))
		case "temperature":
			walk = 0.995*walk + rng.NormFloat64()*0.15
			ar = 0.8*ar + rng.NormFloat64()*sd*varMul
			v = base + 3*walk + ar + shift*sd
			if dip {
				v = base + 3*walk - (10+8*rng.Float64())*sd
			}
			v = math.Round(v*1000) / 1000
		}
		pts[i] = evalPoint{t: t, v: v}
	}
	// NAB windows.
	win := n / 10 / nA
	for _, s := range starts {
		pts[s].start = true
		for j := max(0, s-win/2); j < min(n, s+win-win/2); j++ {
			pts[j].window = true
		}
	}
	return fmt.Sprintf("%02d_%s", seed, fam), pts, starts, kinds
}

// poisson draws a Poisson count with mean lam.
func poisson(rng *rand.Rand, lam float64) int {
	return int(distuv.Poisson{Lambda: lam, Src: rng}.Rand())
}

// gamma draws Gamma(shape, 1).
func gamma(rng *rand.Rand, shape float64) float64 {
	return distuv.Gamma{Alpha: shape, Beta: 1, Src: rng}.Rand()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func splitDir(seed int) string {
	if seed%2 == 1 {
		return "tune"
	}
	return "heldout"
}

func TestGenerateEvalSet(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/eval")
	}
	for seed := 1; seed <= evalSeeds; seed++ {
		name, pts := generate(seed)
		writeSeries(t, filepath.Join("testdata", "eval", splitDir(seed)), name, pts)
	}
}

// extraSeeds are tuning-only series of shapes the paired families lack; the
// held-out half has no counterpart, so they can only make tuning harder.
var extraSeeds = []int{41, 43, 45, 47}

// TestGenerateExtraTune writes the extra tuning series.
// Regenerate with: go test ./detector/spike -run TestGenerateExtraTune -update-extra
func TestGenerateExtraTune(t *testing.T) {
	if !*updateExtra {
		t.Skip("run with -update-extra to regenerate the extra tuning series")
	}
	for _, seed := range extraSeeds {
		name, pts := generateExtra(seed)
		writeSeries(t, filepath.Join("testdata", "eval", "tune"), name, pts)
	}
}

var updateExtra = flag.Bool("update-extra", false, "rewrite the extra series of testdata/eval/tune")

// generateExtra builds one extra tuning series: "deploy" is a request rate
// with a daily rhythm whose level steps by 30-60% at a deploy (labelled),
// after a slow unlabelled drift; "drift" is a CPU-like gauge that drifts
// slowly over days and has frequent short heavy-tailed bursts that are
// normal (unlabelled), with one labelled much larger burst or dip.
func generateExtra(seed int) (string, []evalPoint) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xe47a))
	fam := []string{"deploy", "drift"}[(seed-41)/2%2]
	n := 2500 + rng.IntN(2500)
	step := 5 * time.Minute
	start := time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(7*24)) * time.Hour)
	s := n/3 + rng.IntN(n/2)
	pts := make([]evalPoint, n)
	base := 300 + rng.Float64()*1500
	up := rng.IntN(2) == 0
	mul := 1.3 + 0.3*rng.Float64()
	if !up {
		mul = 1 / mul
	}
	dipKind := rng.IntN(2) == 0
	ar, burstLeft, burstMul := 0.0, 0, 0.0
	for i := range pts {
		t := start.Add(time.Duration(i) * step)
		h := float64(t.Hour()) + float64(t.Minute())/60
		daily := math.Sin(2 * math.Pi * (h - 9) / 24)
		drift := 1 + 0.25*float64(i)/float64(n) // slow, not an anomaly
		var v float64
		switch fam {
		case "deploy":
			lam := base * (1 + 0.4*daily) * drift
			if i >= s {
				lam *= mul
			}
			v = math.Max(0, math.Round(lam+rng.NormFloat64()*math.Sqrt(lam)*1.5))
		case "drift":
			level := 30 + 10*math.Sin(2*math.Pi*float64(i)/float64(n)) + 8*daily
			ar = 0.6*ar + rng.NormFloat64()*1.5
			if burstLeft == 0 && rng.Float64() < 0.01 {
				burstLeft = 1 + rng.IntN(4)
				burstMul = math.Exp(rng.NormFloat64()*0.6 + 1.5) // heavy-tailed, normal
			}
			if burstLeft > 0 {
				ar += burstMul
				burstLeft--
			}
			v = level + ar
			if i >= s && i < s+10 {
				if dipKind {
					v = level - 25
				} else {
					v = level + ar + 45
				}
			}
			v = math.Round(math.Max(0, math.Min(100, v))*100) / 100
		}
		pts[i] = evalPoint{t: t, v: v}
	}
	win := n / 10
	pts[s].start = true
	for j := max(0, s-win/2); j < min(n, s+win-win/2); j++ {
		pts[j].window = true
	}
	return fmt.Sprintf("%02d_%s", seed, fam), pts
}

func writeSeries(t *testing.T, dir, name string, pts []evalPoint) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	w := csv.NewWriter(zw)
	w.Write([]string{"timestamp", "value", "window", "anomaly"})
	for _, p := range pts {
		w.Write([]string{p.t.Format(time.RFC3339), strconv.FormatFloat(p.v, 'f', -1, 64), b01(p.window), b01(p.start)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// loadSplit reads every series of one split ("tune" or "heldout").
func loadSplit(t testing.TB, split string) map[string][]evalPoint {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "eval", split, "*.csv.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no evaluation series in testdata/eval/%s (%v)", split, err)
	}
	out := make(map[string][]evalPoint, len(files))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bufio.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(zr).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pts := make([]evalPoint, 0, len(rows)-1)
		for _, r := range rows[1:] {
			ts, err := time.Parse(time.RFC3339, r[0])
			if err != nil {
				t.Fatal(err)
			}
			v, err := strconv.ParseFloat(r[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			pts = append(pts, evalPoint{t: ts, v: v, window: r[2] == "1", start: r[3] == "1"})
		}
		out[filepath.Base(name)] = pts
	}
	return out
}

package spike

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

const step = 5 * time.Minute

// series builds n points at 5-minute steps from f(i, rng).
func series(n int, seed uint64, f func(i int, rng *rand.Rand) float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i, rng)
	}
	return out
}

func TestEdgeCases(t *testing.T) {
	daily := func(i int) float64 { return 50 + 20*math.Sin(2*math.Pi*float64(i)/288) }
	tests := []struct {
		name   string
		values []float64
		times  func(i int) time.Time // nil: regular 5-minute steps
		// wantAt lists indices that must be labelled (or the next one).
		wantAt []int
		// quietFrom: no label at or after this index except wantAt (+1).
		quietFrom int
	}{
		{name: "constant", values: series(1500, 1, func(int, *rand.Rand) float64 { return 7.5 }), quietFrom: 0},
		{name: "all zeros", values: series(1500, 1, func(int, *rand.Rand) float64 { return 0 }), quietFrom: 0},
		{name: "constant then jump", values: series(1500, 1, func(i int, _ *rand.Rand) float64 {
			if i >= 1000 {
				return 8
			}
			return 7.5
		}), wantAt: []int{1000}, quietFrom: 0},
		{name: "NaN values skipped", values: series(1500, 2, func(i int, rng *rand.Rand) float64 {
			if i%97 == 0 {
				return math.NaN()
			}
			return 10 + rng.NormFloat64()
		}), quietFrom: 300},
		{name: "single spike after warm-up", values: series(1500, 3, func(i int, rng *rand.Rand) float64 {
			if i == 900 {
				return 100 + 12
			}
			return 100 + rng.NormFloat64()
		}), wantAt: []int{900}, quietFrom: 300},
		{name: "single dip after warm-up", values: series(1500, 4, func(i int, rng *rand.Rand) float64 {
			if i == 700 {
				return 100 - 12
			}
			return 100 + rng.NormFloat64()
		}), wantAt: []int{700}, quietFrom: 300},
		{name: "daily sine not flagged after two days", values: series(288*10, 5, func(i int, rng *rand.Rand) float64 {
			return daily(i) + 0.5*rng.NormFloat64()
		}), quietFrom: 2 * 288},
		{name: "spike on daily sine", values: series(288*6, 6, func(i int, rng *rand.Rand) float64 {
			v := daily(i) + 0.5*rng.NormFloat64()
			if i == 288*5+100 {
				v += 8
			}
			return v
		}), wantAt: []int{288*5 + 100}, quietFrom: 2 * 288},
		{name: "level shift flagged at start, not forever", values: series(2000, 7, func(i int, rng *rand.Rand) float64 {
			if i >= 1000 {
				return 60 + rng.NormFloat64()
			}
			return 50 + rng.NormFloat64()
		}), wantAt: []int{1000}, quietFrom: 300},
		{name: "sparse counts, burst caught", values: series(3000, 8, func(i int, rng *rand.Rand) float64 {
			if i >= 2000 && i < 2005 {
				return 9
			}
			if rng.Float64() < 0.05 {
				return 1
			}
			return 0
		}), wantAt: []int{2000}, quietFrom: 300},
		// Bounded noise: any label would come from the gap, not a true outlier.
		{name: "gap and irregular timestamps", values: series(1500, 9, func(i int, rng *rand.Rand) float64 {
			return 20 + 2*rng.Float64()
		}), times: func(i int) time.Time {
			d := time.Duration(i)*step + time.Duration(i%3)*time.Second
			if i >= 800 {
				d += 6 * time.Hour
			}
			return t0.Add(d)
		}, quietFrom: 300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Config{})
			labels := map[int]bool{}
			for i, v := range tc.values {
				ts := t0.Add(time.Duration(i) * step)
				if tc.times != nil {
					ts = tc.times(i)
				}
				r := d.Update(ts, v)
				if !(r.Score >= 0 && r.Score <= 1) {
					t.Fatalf("point %d: score %v outside [0, 1]", i, r.Score)
				}
				if i < DefaultWarmUp && (r.Anomaly || r.Score != 0) {
					t.Fatalf("point %d: scored %v (anomaly %v) during warm-up", i, r.Score, r.Anomaly)
				}
				if math.IsNaN(v) && (r.Score != 0 || r.Anomaly) {
					t.Fatalf("point %d: NaN scored %v", i, r.Score)
				}
				if r.Anomaly {
					labels[i] = true
				}
			}
			allowed := map[int]bool{}
			for _, w := range tc.wantAt {
				if !labels[w] && !labels[w+1] {
					t.Errorf("anomaly at %d not labelled within 1 point; labels %v", w, keys(labels))
				}
				allowed[w], allowed[w+1] = true, true
			}
			for i := range labels {
				if i >= tc.quietFrom && !allowed[i] {
					t.Errorf("unexpected label at %d (value %v); labels %v", i, tc.values[i], keys(labels))
				}
			}
		})
	}
}

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDirectionAndExpected(t *testing.T) {
	d := New(Config{})
	vals := series(600, 10, func(i int, rng *rand.Rand) float64 { return 100 + rng.NormFloat64() })
	for i, v := range vals {
		d.Update(t0.Add(time.Duration(i)*step), v)
	}
	up := d.Update(t0.Add(600*step), 150)
	if !up.Anomaly || up.Direction != 1 || math.Abs(up.Expected-100) > 2 || !up.Warm {
		t.Errorf("spike up: got %+v, want anomaly, direction +1, expected ~100, warm", up)
	}
}

func TestConfidence(t *testing.T) {
	for _, tc := range []struct{ score, want float64 }{{0, 0}, {0.1, 0.9}, {0.4, 0.9999}, {1, 1 - 1e-10}} {
		if got := (Result{Score: tc.score}).Confidence(); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Confidence of score %v = %v, want %v", tc.score, got, tc.want)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	vals := series(4000, 11, func(i int, rng *rand.Rand) float64 {
		return 30 + 10*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
	})
	whole := New(Config{})
	var want []Result
	for i, v := range vals {
		want = append(want, whole.Update(t0.Add(time.Duration(i)*step), v))
	}
	first := New(Config{})
	for i, v := range vals[:2500] {
		first.Update(t0.Add(time.Duration(i)*step), v)
	}
	b, err := first.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 200_000 {
		t.Errorf("state is %d bytes, want it bounded well under 200 kB", len(b))
	}
	second := New(Config{})
	if err := second.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := 2500; i < len(vals); i++ {
		if got := second.Update(t0.Add(time.Duration(i)*step), vals[i]); got != want[i] {
			t.Fatalf("point %d after restore: got %+v, want %+v", i, got, want[i])
		}
	}
	// NaN leaves state untouched.
	before, _ := second.MarshalBinary()
	second.Update(t0.Add(time.Duration(len(vals))*step), math.NaN())
	after, _ := second.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Error("a NaN value changed the state")
	}
	// State from another config is refused.
	other := New(Config{Window: 12})
	if err := other.UnmarshalBinary(b); err == nil {
		t.Error("state made with window 8 restored into a window 12 detector")
	}
	if err := other.UnmarshalBinary([]byte("{not json")); err == nil {
		t.Error("garbage state accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error, "" for valid
	}{
		{"zero value gets defaults", Config{}, ""},
		{"threshold too high", Config{Threshold: 1.5}, "threshold: must be in (0, 1)"},
		{"negative warm up", Config{WarmUp: -1}, "warm_up: must not be negative"},
		{"tiny window", Config{Window: 2}, "window: must be between 3 and 256"},
		{"short history", Config{History: 10}, "history: must be between 100"},
		{"tail fraction", Config{TailFraction: 0.5}, "tail_fraction: must be in (0, 0.2]"},
		{"bad period", Config{Periods: []time.Duration{time.Second}}, "periods[0]: must be between 1m and 366d"},
		{"negative cooldown", Config{Cooldown: -3}, "cooldown: must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if tc.cfg.Threshold != DefaultThreshold || tc.cfg.Window != DefaultWindow || len(tc.cfg.Periods) != 2 {
					t.Errorf("defaults not applied: %+v", tc.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSelectDesc(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	for trial := 0; trial < 200; trial++ {
		n := 2 + rng.IntN(300)
		a := make([]float64, n)
		for i := range a {
			a[i] = float64(rng.IntN(20)) // many ties
		}
		k := rng.IntN(n)
		sorted := append([]float64(nil), a...)
		insertionSort(sorted)
		want := sorted[n-1-k]
		selectDesc(a, k)
		if a[k] != want {
			t.Fatalf("n=%d k=%d: got %v, want %v", n, k, a[k], want)
		}
		for _, x := range a[:k] {
			if x < a[k] {
				t.Fatalf("n=%d k=%d: %v before the %d-th largest %v", n, k, x, k, a[k])
			}
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	vals := series(8192, 13, func(i int, rng *rand.Rand) float64 {
		return 30 + 10*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
	})
	d := New(Config{})
	// Warm up past allocation of the seasonal profiles.
	for i := 0; i < 3000; i++ {
		d.Update(t0.Add(time.Duration(i)*step), vals[i%len(vals)])
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := 3000 + i
		d.Update(t0.Add(time.Duration(j)*step), vals[j%len(vals)])
	}
	b.StopTimer()
	// The machine is shared: points per second of this process's CPU time
	// is the figure that means "on one core".
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "points/cpu-s")
	}
	b.ReportMetric(float64(d.Footprint()), "bytes/series")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestFootprintBounded checks that a detector's memory does not grow with
// the series and reports it.
func TestFootprintBounded(t *testing.T) {
	vals := series(30000, 14, func(i int, rng *rand.Rand) float64 {
		return 30 + 10*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
	})
	d := New(Config{})
	var at5k int
	for i, v := range vals {
		d.Update(t0.Add(time.Duration(i)*step), v)
		if i == 5000 {
			at5k = d.Footprint()
		}
	}
	end := d.Footprint()
	state, _ := d.MarshalBinary()
	t.Logf("default detector: %d bytes in memory after 5k points, %d after 30k; persisted state %d bytes", at5k, end, len(state))
	if end != at5k {
		t.Errorf("footprint grew from %d to %d bytes between 5k and 30k points", at5k, end)
	}
	if end > 256<<10 {
		t.Errorf("footprint %d bytes, want under 256 KiB", end)
	}
}

// TestNoLookAhead checks that the score at a point depends only on the
// points up to it: runs over prefixes give the full run's first rows.
func TestNoLookAhead(t *testing.T) {
	vals := series(3000, 15, func(i int, rng *rand.Rand) float64 {
		v := 30 + 10*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
		switch {
		case i == 1700:
			v += 15
		case i >= 2300:
			v += 6
		}
		return v
	})
	run := func(n int) []Result {
		d := New(Config{})
		out := make([]Result, n)
		for i := range out {
			out[i] = d.Update(t0.Add(time.Duration(i)*step), vals[i])
		}
		return out
	}
	full := run(len(vals))
	labelled := 0
	for _, r := range full {
		if r.Anomaly {
			labelled++
		}
	}
	if labelled == 0 {
		t.Fatal("the full run labels nothing; the test would not show a look-ahead")
	}
	for _, n := range []int{1, 290, 1700, 1701, 2301, 2999} {
		got := run(n)
		for i := range got {
			if got[i] != full[i] {
				t.Fatalf("prefix of %d points: point %d = %+v, full run %+v", n, i, got[i], full[i])
			}
		}
	}
}

package backtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/detector/spike"
)

func run(t *testing.T, in string) (rows [][]string, warn string) {
	t.Helper()
	var out, w bytes.Buffer
	if err := Run(context.Background(), strings.NewReader(in), &out, &w, spike.Config{}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, out.String())
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "timestamp,value,anomaly_score,label" {
		t.Fatalf("output header = %v", rows)
	}
	return rows[1:], w.String()
}

func TestRunRows(t *testing.T) {
	mixed, err := os.ReadFile("testdata/mixed.csv")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		in       string
		want     [][]string // timestamp, value, score, label
		wantWarn []string   // substrings, in order
	}{
		{
			name: "mixed formats, a gap and NaN",
			in:   string(mixed),
			want: [][]string{
				{"2024-03-04T00:00:00Z", "1.5", "0.000000", "0"},
				{"2024-03-04 00:05:00", "2", "0.000000", "0"},
				{"1709511000", "3", "0.000000", "0"},
				{"2024-03-04T00:15:00+01:00", "", "0.000000", "0"},
				{"2024-03-04T00:30:00Z", "NaN", "0.000000", "0"},
				{"2024-03-04T00:35:00Z", "7", "0.000000", "0"},
			},
			wantWarn: []string{"line 6: value \"NaN\" is not finite"},
		},
		{
			name: "no header",
			in:   "2024-03-04T00:00:00Z,1\n2024-03-04T00:05:00Z,2\n",
			want: [][]string{{"2024-03-04T00:00:00Z", "1", "0.000000", "0"}, {"2024-03-04T00:05:00Z", "2", "0.000000", "0"}},
		},
		{
			name: "header with BOM and CRLF",
			in:   "\ufefftime,count\r\n2024-03-04 00:00:00,1\r\n",
			want: [][]string{{"2024-03-04 00:00:00", "1", "0.000000", "0"}},
		},
		{
			name:     "single column row",
			in:       "2024-03-04T00:00:00Z\n",
			want:     [][]string{{"2024-03-04T00:00:00Z", "", "0.000000", "0"}},
			wantWarn: nil,
		},
		{name: "empty input", in: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, warn := run(t, tc.in)
			if fmt.Sprint(rows) != fmt.Sprint(tc.want) {
				t.Errorf("rows:\n got %v\nwant %v", rows, tc.want)
			}
			rest := warn
			for _, w := range tc.wantWarn {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("warnings %q lack %q", warn, w)
					break
				}
				rest = rest[i+len(w):]
			}
			if len(tc.wantWarn) == 0 && warn != "" {
				t.Errorf("unexpected warnings %q", warn)
			}
		})
	}
}

// TestRunUnreadable checks that an unparsable row stops the run with an
// error naming its line, after the rows before it were written.
func TestRunUnreadable(t *testing.T) {
	tests := []struct {
		name, in, want string
		rows           int // data rows written before the error
	}{
		{"bad timestamp", "timestamp,value\n2024-03-04T00:00:00Z,1\nnot-a-time,4\n", `line 3: timestamp "not-a-time"`, 1},
		{"bad value", "timestamp,value\n2024-03-04T00:00:00Z,1\n2024-03-04T00:05:00Z,2\n2024-03-04T00:10:00Z,abc\n", `line 4: value "abc" is not a number`, 2},
		{"bad quoting", "timestamp,value\n2024-03-04T00:00:00Z,1\n2024-03-04T00:05:00Z,\"2\n", "line 3", 1},
		{"bad first row is not a header when the value parses", "yesterday,1\n", `line 1: timestamp "yesterday"`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), strings.NewReader(tc.in), &out, nil, spike.Config{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run error = %v, want it to contain %q", err, tc.want)
			}
			rows, rerr := csv.NewReader(&out).ReadAll()
			if rerr != nil || len(rows) != 1+tc.rows {
				t.Errorf("output before the error: %v (%v), want header and %d rows", rows, rerr, tc.rows)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 3, 4, 1, 2, 3, 0, time.UTC)
	for _, s := range []string{"2024-03-04T01:02:03Z", "2024-03-04T02:02:03+01:00", "2024-03-04 01:02:03", "2024-03-04T01:02:03", "1709514123", "1709514123000", "1709514123.0"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "yesterday", "NaN", "2024-13-04 01:02:03"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) succeeded, want an error", s)
		}
	}
}

// synthetic returns n rows at 5-minute steps with a spike at index spike.
func synthetic(n, spike int) (string, []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = 40 + 10*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
		if i == spike {
			vals[i] += 15
		}
		fmt.Fprintf(&b, "%s,%s\n", t0.Add(time.Duration(i)*5*time.Minute).Format(time.RFC3339), strconv.FormatFloat(vals[i], 'f', 3, 64))
	}
	return b.String(), vals
}

// TestRunMatchesDetector checks that backtest labels are exactly what the
// daemon's detector gives, point by point.
func TestRunMatchesDetector(t *testing.T) {
	in, _ := synthetic(3000, 2500)
	rows, warn := run(t, in)
	if warn != "" {
		t.Fatalf("warnings: %s", warn)
	}
	if len(rows) != 3000 {
		t.Fatalf("got %d rows, want 3000", len(rows))
	}
	d := spike.New(spike.Config{})
	labelled := 0
	for i, r := range rows {
		ts, _ := ParseTime(r[0])
		v, _ := strconv.ParseFloat(r[1], 64)
		res := d.Update(ts, v)
		if want := strconv.FormatFloat(res.Score, 'f', 6, 64); r[2] != want {
			t.Fatalf("row %d score %s, detector says %s", i, r[2], want)
		}
		if (r[3] == "1") != res.Anomaly {
			t.Fatalf("row %d label %s, detector says %v", i, r[3], res.Anomaly)
		}
		if r[3] == "1" {
			labelled++
		}
	}
	if rows[2500][3] != "1" {
		t.Errorf("spike at row 2500 not labelled: %v", rows[2500])
	}
	if labelled > 3 {
		t.Errorf("%d labels on a clean daily series with one spike", labelled)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRunErrors(t *testing.T) {
	in, _ := synthetic(100, -1)
	if err := Run(context.Background(), strings.NewReader(in), failWriter{}, nil, spike.Config{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write failure: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, strings.NewReader(in), &bytes.Buffer{}, nil, spike.Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	if err := Run(context.Background(), strings.NewReader(in), &bytes.Buffer{}, nil, spike.Config{Window: 1}); err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("invalid config: got %v", err)
	}
}

func BenchmarkRun5000(b *testing.B) {
	in, _ := synthetic(5000, 4000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := Run(context.Background(), strings.NewReader(in), &bytes.Buffer{}, nil, spike.Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

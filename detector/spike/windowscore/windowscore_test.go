package windowscore

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEventsAndWindows(t *testing.T) {
	labels := make([]bool, 1000)
	for i := 300; i <= 320; i++ {
		labels[i] = true
	}
	labels[700] = true
	ev := EventsOf(labels)
	if len(ev) != 2 || ev[0] != (Event{300, 320}) || ev[1] != (Event{700, 700}) {
		t.Fatalf("EventsOf = %v", ev)
	}
	ws := Windows(1000, ev)
	// 10% of 1000 over 2 events: width 50, centred on each start.
	want := []Window{{275, 325}, {675, 725}}
	if len(ws) != 2 || ws[0] != want[0] || ws[1] != want[1] {
		t.Fatalf("Windows = %v, want %v", ws, want)
	}
	if got := Windows(100, []Event{{10, 12}, {12, 14}}); len(got) != 1 {
		t.Errorf("overlapping windows not merged: %v", got)
	}
}

func corpusWith(alarms ...int) []Series {
	s := make([]float64, 1000)
	for _, a := range alarms {
		s[a] = 1
	}
	return []Series{{Scores: s, Windows: []Window{{500, 599}}}}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name          string
		alarms        []int
		nab           float64 // want, within 0.5
		detected, fps int
	}{
		{"never fires", nil, 0, 0, 0},
		{"left edge", []int{500}, 100, 1, 0},
		{"middle of window", []int{550}, 100 * (1 + (2*sigmoid(2.5)-1)/scaledSigmoid(-1)) / 2, 1, 0},
		{"only the earliest counts", []int{560, 520, 590}, 100 * (1 + scaledSigmoid(-float64(80)/100)/scaledSigmoid(-1)) / 2, 1, 0},
		{"one false alarm far from windows", []int{300}, 100 * (-1 - 0.11 + 1) / 2, 0, 1},
		{"probation ignored", []int{100}, 0, 0, 0},
		{"just after the window costs little", []int{500, 601}, 100 * (2 + 0.11*scaledSigmoid(2.0/99)) / 2, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Score(corpusWith(tc.alarms...), 0.5, Standard)
			want := tc.nab
			if math.Abs(r.NAB-want) > 0.5 || r.Detected != tc.detected || r.FalseAlarms != tc.fps {
				t.Errorf("got NAB %.2f detected %d false alarms %d; want %.2f, %d, %d", r.NAB, r.Detected, r.FalseAlarms, want, tc.detected, tc.fps)
			}
		})
	}
}

// TestOptimizeIsBestThreshold checks the one-pass sweep against scoring
// every distinct threshold.
func TestOptimizeIsBestThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var corpus []Series
	for k := 0; k < 5; k++ {
		n := 500 + rng.IntN(500)
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Round(rng.Float64()*rng.Float64()*rng.Float64()*100) / 100
		}
		start := n/2 + rng.IntN(n/3)
		corpus = append(corpus, Series{Scores: s, Windows: Windows(n, []Event{{start, start + 5}})})
	}
	got := Optimize(corpus, Standard)
	best := math.Inf(-1)
	for th := 0.0; th <= 1.001; th += 0.01 {
		if r := Score(corpus, th, Standard); r.NAB > best {
			best = r.NAB
		}
	}
	if math.Abs(got.NAB-best) > 1e-9 {
		t.Errorf("Optimize NAB %.4f at %.2f, brute force best %.4f", got.NAB, got.Threshold, best)
	}
}

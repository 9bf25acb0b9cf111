// Package windowscore scores anomaly scores against labelled events the way
// the Numenta Anomaly Benchmark does (Lavin and Ahmad, "Evaluating real-time
// anomaly detection algorithms", 2015), for Aftershock's own evaluation on
// its own data: every event gets a window, the earliest detection inside a
// window earns a scaled sigmoid (about 1 at the window's left edge, 0 at its
// right edge), a missed window costs FN, every detection outside windows costs
// FP (less when it falls shortly after a window), and the first part of each
// series is probationary. It also reports event-level precision and recall.
package windowscore

import (
	"math"
	"slices"
)

// Profile weighs a scored series; Standard is NAB's standard profile.
type Profile struct {
	TP, FP, FN float64
	// Probation is the share of each series (capped at ProbationMax points)
	// in which detections are ignored.
	Probation    float64
	ProbationMax int
}

// Standard is NAB's standard profile.
var Standard = Profile{TP: 1, FP: 0.11, FN: 1, Probation: 0.15, ProbationMax: 750}

// Window is an inclusive index range [Lo, Hi] around one event.
type Window struct{ Lo, Hi int }

// Event is an inclusive index range [Start, End] labelled anomalous.
type Event struct{ Start, End int }

// EventsOf returns the maximal runs of true in labels.
func EventsOf(labels []bool) []Event {
	var ev []Event
	for i := 0; i < len(labels); i++ {
		if !labels[i] {
			continue
		}
		j := i
		for j+1 < len(labels) && labels[j+1] {
			j++
		}
		ev = append(ev, Event{i, j})
		i = j
	}
	return ev
}

// Windows gives each event a NAB window in a series of n points: 10% of n
// divided by the number of events, centred on the event's start, stretched
// to cover the event, clipped to the series; overlapping windows merge.
func Windows(n int, events []Event) []Window {
	if len(events) == 0 {
		return nil
	}
	width := int(0.1 * float64(n) / float64(len(events)))
	var ws []Window
	for _, e := range events {
		w := Window{Lo: max(0, e.Start-width/2), Hi: min(n-1, max(e.Start+width/2, e.End))}
		if k := len(ws); k > 0 && w.Lo <= ws[k-1].Hi {
			ws[k-1].Hi = max(ws[k-1].Hi, w.Hi)
			continue
		}
		ws = append(ws, w)
	}
	return ws
}

// Series is one scored series: a score per point and its windows, sorted.
type Series struct {
	Scores  []float64
	Windows []Window
}

// Result is the outcome of scoring a corpus at one threshold.
type Result struct {
	Threshold float64
	// NAB is the normalised score: 100 (raw - null) / (perfect - null),
	// where null never detects and perfect detects every window at its
	// left edge.
	NAB                 float64
	Raw, Null, Perfect  float64
	Windows, Detected   int
	FalseAlarms         int // alarm onsets outside windows, after probation
	Precision, Recall   float64
	MeanDelayFraction   float64 // mean (first detection - window start) / window width
	FalsePositivePoints int     // points at or above threshold outside windows (NAB's FP count)
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// scaledSigmoid is NAB's reward at a relative position: -1 is a window's
// left edge, 0 its right edge, positive past it.
func scaledSigmoid(pos float64) float64 {
	if pos > 3 {
		return -1
	}
	return 2*sigmoid(-5*pos) - 1
}

func probation(n int, p Profile) int {
	l := int(math.Floor(p.Probation * float64(n)))
	if p.ProbationMax > 0 {
		l = min(l, p.ProbationMax)
	}
	return l
}

// point is a scorable point: its anomaly score, the window it is in (-1 for
// none) and the weighted NAB score it earns if detected.
type point struct {
	score  float64
	window int // global window id, -1 outside
	sweep  float64
}

// sweepPoints computes, for every point after probation, what a detection
// there earns, exactly as NAB's sweeper does.
func sweepPoints(corpus []Series, p Profile) ([]point, int) {
	var pts []point
	wid := 0
	maxTP := scaledSigmoid(-1)
	for _, s := range corpus {
		n := len(s.Scores)
		prob := probation(n, p)
		wi := 0
		prevRight, prevWidth := -1, 0
		for i := 0; i < n; i++ {
			for wi < len(s.Windows) && s.Windows[wi].Hi < i {
				prevRight, prevWidth = s.Windows[wi].Hi, s.Windows[wi].Hi-s.Windows[wi].Lo+1
				wi++
			}
			in := wi < len(s.Windows) && s.Windows[wi].Lo <= i
			pt := point{score: s.Scores[i], window: -1}
			if in {
				w := s.Windows[wi]
				width := float64(w.Hi - w.Lo + 1)
				pt.window = wid + wi
				pt.sweep = scaledSigmoid(-float64(w.Hi-i+1)/width) * p.TP / maxTP
			} else {
				u := -1.0
				if prevRight >= 0 {
					u = scaledSigmoid(float64(i-prevRight) / float64(max(prevWidth-1, 1)))
				}
				pt.sweep = u * p.FP
			}
			if i >= prob {
				pts = append(pts, pt)
			}
		}
		wid += len(s.Windows)
	}
	return pts, wid
}

// Score scores the corpus at threshold: a point is a detection when its
// score is at or above threshold.
func Score(corpus []Series, threshold float64, p Profile) Result {
	r := Result{Threshold: threshold}
	var delays []float64
	raw := 0.0
	for _, s := range corpus {
		n := len(s.Scores)
		prob := probation(n, p)
		r.Windows += len(s.Windows)
		r.Null -= p.FN * float64(len(s.Windows))
		r.Perfect += p.TP * float64(len(s.Windows))
		one := Series{Scores: s.Scores, Windows: s.Windows}
		pts, _ := sweepPoints([]Series{one}, p)
		best := make([]float64, len(s.Windows))
		first := make([]int, len(s.Windows))
		for i := range best {
			best[i] = -p.FN
			first[i] = -1
		}
		prevAlarm := false
		for k, pt := range pts {
			i := prob + k
			alarm := pt.score >= threshold
			if alarm {
				if pt.window >= 0 {
					if first[pt.window] < 0 {
						first[pt.window] = i
					}
					best[pt.window] = math.Max(best[pt.window], pt.sweep)
				} else {
					raw += pt.sweep
					r.FalsePositivePoints++
					if !prevAlarm {
						r.FalseAlarms++
					}
				}
			}
			prevAlarm = alarm
		}
		for wi, b := range best {
			raw += b
			if first[wi] >= 0 {
				r.Detected++
				w := s.Windows[wi]
				delays = append(delays, float64(first[wi]-w.Lo)/float64(w.Hi-w.Lo+1))
			}
		}
	}
	r.Raw = raw
	if r.Perfect > r.Null {
		r.NAB = 100 * (raw - r.Null) / (r.Perfect - r.Null)
	}
	if r.Detected+r.FalseAlarms > 0 {
		r.Precision = float64(r.Detected) / float64(r.Detected+r.FalseAlarms)
	}
	if r.Windows > 0 {
		r.Recall = float64(r.Detected) / float64(r.Windows)
	}
	for _, d := range delays {
		r.MeanDelayFraction += d / float64(len(delays))
	}
	return r
}

// Optimize sweeps every distinct score as a threshold, as NAB's optimiser
// does, and returns the result at the best one. Use it only on data the
// figure is not reported for.
func Optimize(corpus []Series, p Profile) Result {
	pts, nw := sweepPoints(corpus, p)
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	win := make([]float64, nw)
	for i := range win {
		win[i] = -p.FN
	}
	total := -p.FN * float64(nw)
	bestScore, bestThr := total, math.Inf(1)
	fp := 0.0
	for k := 0; k < len(pts); k++ {
		pt := pts[k]
		if pt.window >= 0 {
			if pt.sweep > win[pt.window] {
				total += pt.sweep - win[pt.window]
				win[pt.window] = pt.sweep
			}
		} else {
			fp += pt.sweep
		}
		if k+1 < len(pts) && pts[k+1].score == pt.score {
			continue
		}
		if total+fp > bestScore {
			bestScore, bestThr = total+fp, pt.score
		}
	}
	if math.IsInf(bestThr, 1) {
		bestThr = math.Nextafter(1, 2)
	}
	return Score(corpus, bestThr, p)
}

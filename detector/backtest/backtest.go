// Package backtest runs the daemon's spike detector over a recorded time
// series, so a user can see, point by point, what the daemon would have
// scored and labelled. It backs `aftershock backtest [FILE|-]`.
package backtest

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/detector/spike"
)

// Header is the first line Run writes.
var Header = []string{"timestamp", "value", "anomaly_score", "label"}

// Run reads a CSV time series from in (rows of timestamp,value; extra
// columns are ignored; a header row is optional and recognised by a first
// row whose timestamp and value both fail to parse) and writes to out the
// header timestamp,value,anomaly_score,label and one row per input row, in
// order, with the timestamp and value text as they were given.
//
// Timestamps may be RFC 3339, "2006-01-02 15:04:05" or "2006-01-02T15:04:05"
// (both UTC), or unix seconds (milliseconds when larger than 1e11). Each
// point is scored by a spike.Detector made from cfg, whose score at a point
// depends only on the points up to it. A row whose value is empty (a gap) or
// NaN is still written, with score 0 and label 0, and leaves the detector
// unchanged. warn may be nil; it is kept for notes that do not stop the run.
//
// Run returns an error naming the input line when a row's timestamp or
// value cannot be parsed (rows before it have been written), and an error
// when the input cannot be read, the output cannot be written, cfg is
// invalid or ctx ends.
func Run(ctx context.Context, in io.Reader, out io.Writer, warn io.Writer, cfg spike.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("backtest config: %w", err)
	}
	if warn == nil {
		warn = io.Discard
	}
	det := spike.New(cfg)
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	w := csv.NewWriter(out)
	if err := w.Write(Header); err != nil {
		return fmt.Errorf("writing backtest header: %w", err)
	}
	row := make([]string, 4)
	first := true
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("backtest: %w", err)
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.Flush()
			return fmt.Errorf("reading backtest input: %w", err) // csv.ParseError names the line
		}
		line, _ := r.FieldPos(0)
		tsText := strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff"))
		valText := ""
		if len(rec) > 1 {
			valText = strings.TrimSpace(rec[1])
		}
		ts, tsErr := ParseTime(tsText)
		v, vErr := parseValue(valText)
		if first {
			first = false
			if tsErr != nil && vErr != nil && valText != "" {
				continue // header row
			}
		}
		score, label := "0.000000", "0"
		switch {
		case tsErr != nil:
			w.Flush()
			return fmt.Errorf("reading backtest input: line %d: %w", line, tsErr)
		case vErr != nil && valText == "":
			// a missing value: a gap, not an error
		case vErr != nil:
			w.Flush()
			return fmt.Errorf("reading backtest input: line %d: %w", line, vErr)
		case math.IsNaN(v) || math.IsInf(v, 0):
			fmt.Fprintf(warn, "line %d: value %q is not finite; row scored 0\n", line, valText)
		default:
			res := det.Update(ts, v)
			score = strconv.FormatFloat(res.Score, 'f', 6, 64)
			if res.Anomaly {
				label = "1"
			}
		}
		row[0], row[1], row[2], row[3] = tsText, valText, score, label
		if err := w.Write(row); err != nil {
			return fmt.Errorf("writing backtest line %d: %w", line, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("writing backtest output: %w", err)
	}
	return nil
}

// timeLayouts are the textual timestamp layouts ParseTime accepts, in order.
var timeLayouts = [...]string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999"}

// ParseTime parses a backtest timestamp: RFC 3339, "2006-01-02 15:04:05"
// (UTC, optionally with a fraction or a "T"), or unix seconds (milliseconds
// when the number is larger than 1e11).
func ParseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e15 {
		if math.Abs(f) > 1e11 {
			f /= 1000
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither RFC 3339, \"2006-01-02 15:04:05\" nor unix seconds", s)
}

func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN(), fmt.Errorf("value %q is not a number", s)
	}
	return v, nil
}

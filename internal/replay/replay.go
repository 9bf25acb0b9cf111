// Package replay runs a recorded stream of posts, metric samples and release
// events through the real detector pipeline (embedded broker, streams,
// enrichment, detector, verdict publishing) in event time, and prints every
// verdict change. It backs `aftershock replay`.
//
// Input is JSON lines in event-time order (plain or gzip), each an object with "type" and
// "time" (RFC 3339):
//
//	{"type":"release","time":"…","release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","event":"started"}
//	{"type":"post","time":"…","source":"mastodon","id":"109…","service":"shop","text":"…","lang":"en","url":"…","author":"…"}
//	{"type":"metric","time":"…","service":"shop","version":"4.2.0","ring":"H2","name":"error_rate","value":0.012}
//
// Unknown fields are ignored. A bad line is reported on the error writer with
// its line number and skipped. Output is one JSON line per verdict change
//
//	{"time":"…","release":"shop-4.2.0","service":"shop","ring":"H2","score":37.5,"decision":"fail","action":"halt","reasons":[…]}
//
// and a final summary line {"type":"summary",…}.
package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/internal/pipeline"
	"github.com/aftershock/aftershock/signals"
	"github.com/aftershock/aftershock/signals/enrich"
)

// MaxLineBytes is the longest input line Run accepts; a longer line is
// reported and skipped.
const MaxLineBytes = 1 << 20

// Options tune a replay.
type Options struct {
	// Config supplies the detector section and the per-service enrichment
	// (services[].enrich). Nil means detector defaults and default enrichment.
	Config *config.Config
	// Speed paces the replay in real time: N > 0 plays N seconds of event
	// time per wall-clock second. 0 replays in simulated time, as fast as
	// possible. Verdicts are the same either way.
	Speed float64
	// Log receives the pipeline's own log lines; nil logs warnings and
	// errors as text on the error writer.
	Log *slog.Logger
}

// Halt is a verdict that halted a ring.
type Halt struct {
	Release string    `json:"release"`
	Service string    `json:"-"`
	Ring    string    `json:"ring"`
	Time    time.Time `json:"time"`
}

// Summary counts what a replay read and produced.
type Summary struct {
	Lines    int // non-blank input lines
	BadLines int // lines reported and skipped
	Posts    int // posts fed to the detector (after de-duplication)
	Metrics  int
	Releases int
	// Duplicates is how many posts the broker dropped as already seen
	// (same source and id).
	Duplicates int
	// OutOfOrder is how many lines had a time before an earlier line's of
	// the same type: each was applied late, when the replay had passed its
	// time (the input must be in event-time order).
	OutOfOrder int
	// FirstOutOfOrder is the first such line's number.
	FirstOutOfOrder int
	Verdicts        int // verdict changes printed
	Halts           int
	FirstHalt       *Halt
	// Simulated is the event time covered, from the first message to the
	// last evaluation.
	Simulated time.Duration
	// AllHalts lists every halt in order (not part of the summary line).
	AllHalts []Halt
}

// MarshalJSON writes the summary line.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type       string `json:"type"`
		Lines      int    `json:"lines"`
		BadLines   int    `json:"bad_lines"`
		Posts      int    `json:"posts"`
		Metrics    int    `json:"metrics"`
		Releases   int    `json:"releases"`
		Verdicts   int    `json:"verdicts"`
		Halts      int    `json:"halts"`
		FirstHalt  *Halt  `json:"first_halt"`
		Simulated  string `json:"duration_simulated"`
		Duplicates int    `json:"duplicates"`
		OutOfOrder int    `json:"out_of_order"`
	}{"summary", s.Lines, s.BadLines, s.Posts, s.Metrics, s.Releases, s.Verdicts, s.Halts, s.FirstHalt, s.Simulated.String(), s.Duplicates, s.OutOfOrder})
}

// Line is one verdict line of the output.
type Line struct {
	Time     time.Time `json:"time"`
	Release  string    `json:"release"`
	Service  string    `json:"service"`
	Ring     string    `json:"ring"`
	Score    float64   `json:"score"`
	Decision string    `json:"decision"`
	Action   string    `json:"action"`
	Reasons  []string  `json:"reasons"`
}

// Run replays in through a fresh embedded broker and the detector and writes
// verdict lines and the summary line to out; bad input lines are reported on
// errOut ("line 7: …") and skipped. It returns an error only when the broker
// cannot be run, out cannot be written, the config is invalid or ctx ends,
// and when in cannot be read to its end — then after replaying and printing
// the lines before the cut, summary included; a replay that halts releases
// is still a clean run. A gzip input is read as the lines it holds.
func Run(ctx context.Context, in io.Reader, out, errOut io.Writer, opts Options) (Summary, error) {
	var sum Summary
	cfg := opts.Config
	if cfg == nil {
		cfg = &config.Config{}
		if err := cfg.Detector.Validate("detector"); err != nil {
			return sum, fmt.Errorf("default detector config: %w", err)
		}
	}
	if !(opts.Speed >= 0) { // NaN too
		return sum, fmt.Errorf("speed %g: must not be negative", opts.Speed)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	enricher, err := enricherFor(cfg)
	if err != nil {
		return sum, err
	}

	dir, err := os.MkdirTemp("", "aftershock-replay-")
	if err != nil {
		return sum, fmt.Errorf("making broker directory: %w", err)
	}
	defer os.RemoveAll(dir)
	bc := bus.Config{DataDir: dir}
	if err := bc.Validate(); err != nil {
		return sum, err
	}
	b, err := bus.Open(ctx, bc, log)
	if err != nil {
		return sum, fmt.Errorf("starting broker: %w", err)
	}
	defer b.Close()

	pub, err := bus.NewAsync(b.JS, loadInFlight, 0)
	if err != nil {
		return sum, err
	}
	in, err = inputText(in)
	if err != nil {
		return sum, err
	}
	// input that ends early still has its lines before the cut replayed
	var cut *cutShort
	if err := load(ctx, in, errOut, pub.Batch(), cfg.Detector.Rings, cfg.Detector.Bucket, &sum); err != nil && !errors.As(err, &cut) {
		return sum, err
	}

	r := &replayer{
		enricher: enricher,
		cfg:      cfg.Detector,
		out:      out,
		sum:      &sum,
		speed:    opts.Speed,
		open:     map[watchKey]time.Time{},
	}
	det := detector.New(cfg.Detector, enricher)
	r.pipe = pipeline.New(b.JS, det, func() time.Time { return r.now }, cfg.Detector.Bucket, log, nil)
	r.det = det
	if err := r.play(ctx, b.JS); err != nil {
		return sum, err
	}
	// samples naming a release the input never started (or disagreeing
	// with it) are said, not dropped silently: those set aside, and those
	// still waiting for their release event when the input ended
	for _, note := range append(det.SetAsideNotes(), det.HeldNotes()...) {
		fmt.Fprintf(errOut, "aftershock replay: %s\n", note)
	}
	if sum.OutOfOrder > 0 {
		fmt.Fprintf(errOut, "aftershock replay: %d line(s) out of event-time order (first: line %d): each was applied late, "+
			"when the replay had passed its time, so the verdicts may differ from the sorted input's; sort the input by time\n",
			sum.OutOfOrder, sum.FirstOutOfOrder)
	}
	if err := writeJSON(out, sum); err != nil {
		return sum, err
	}
	if cut != nil {
		return sum, cut
	}
	return sum, nil
}

// cutShort is input that could not be read to its end; the lines before
// were replayed.
type cutShort struct {
	after int // whole lines read
	err   error
}

func (e *cutShort) Error() string {
	return fmt.Sprintf("reading replay input: %v: the input ends early, after line %d (those lines were replayed)", e.err, e.after)
}
func (e *cutShort) Unwrap() error { return e.err }

// inputText reads a gzip input (known by its first two bytes) as what it
// holds (a kept corpus or a recording is often NAME.jsonl.gz), skips a
// UTF-8 byte order mark (files saved by Windows tools start with one), and
// refuses UTF-16 (PowerShell 5's ">") at once rather than line by line.
func inputText(in io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	if head, err := br.Peek(2); err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading replay input: gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return nil, errors.New("reading replay input: it is UTF-16 text; the replay reads UTF-8 JSON lines (convert it, e.g. iconv -f UTF-16 -t UTF-8)")
	}
	return br, nil
}

func enricherFor(cfg *config.Config) (func(string) detector.Enricher, error) {
	def, err := enrich.New(enrich.Config{})
	if err != nil {
		return nil, fmt.Errorf("building enrichment: %w", err)
	}
	per := map[string]*enrich.Analyzer{}
	for _, s := range cfg.Services {
		an, err := enrich.New(s.Enrich)
		if err != nil {
			return nil, fmt.Errorf("building enrichment for service %s: %w", s.Name, err)
		}
		per[s.Name] = an
	}
	return func(service string) detector.Enricher {
		if an, ok := per[service]; ok {
			return an
		}
		return def
	}, nil
}

// loadInFlight bounds the lines published and not yet acknowledged.
const loadInFlight = 1024

// lineError is a failure tied to one input line.
type lineError struct {
	n   int
	err error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.n, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// load reads the input and publishes every valid line to its stream,
// asynchronously (acks awaited in order, at most loadInFlight pending), and
// waits for every ack. What it reports on errOut keeps the input's order.
func load(ctx context.Context, in io.Reader, errOut io.Writer, batch *bus.Batch, rings []detector.RingConfig, bucket time.Duration, sum *Summary) error {
	br := bufio.NewReaderSize(in, 64<<10)
	say := func(n int, msg string) error {
		return batch.Then(ctx, func() { fmt.Fprintf(errOut, "line %d: %s\n", n, msg) })
	}
	bad := func(n int, format string, args ...any) error {
		sum.BadLines++
		return say(n, fmt.Sprintf(format, args...))
	}
	order := orderCheck{sum: sum, bucket: bucket, last: map[string]orderMark{}}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading replay input: %w", err)
		}
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			// a cut input (a gzip cut short): what was read before is
			// published; a line the cut went through is bad
			if len(bytes.TrimSpace(line)) > 0 || tooLong {
				sum.Lines++
				if e := bad(n, "the input ends early, inside this line (%v); skipped", err); e != nil {
					return e
				}
			} else if e := say(n, fmt.Sprintf("the input ends early (%v)", err)); e != nil {
				return e
			}
			if e := batch.Wait(ctx); e != nil {
				return e
			}
			return &cutShort{after: n - 1, err: err}
		}
		eof := errors.Is(err, io.EOF)
		line = bytes.TrimSpace(line)
		if len(line) == 0 && !tooLong {
			if eof {
				return batch.Wait(ctx)
			}
			continue
		}
		sum.Lines++
		switch {
		case tooLong:
			err = bad(n, "longer than %d bytes; skipped", MaxLineBytes)
		case !utf8.Valid(line):
			err = bad(n, "not valid UTF-8; skipped")
		default:
			var msg string
			msg, err = publishLine(ctx, batch, n, errOut, line, rings, sum, &order)
			switch {
			case errors.Is(err, signals.ErrInvalid):
				err = bad(n, "%v; skipped", err)
			case err == nil && msg != "":
				err = say(n, msg)
			}
		}
		if err != nil {
			var le *lineError
			if !errors.As(err, &le) {
				err = &lineError{n, err}
			}
			return err
		}
		if eof {
			return batch.Wait(ctx)
		}
	}
}

// readLine returns the next line without its newline. A line longer than
// MaxLineBytes is consumed and reported as too long.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			return nil, true, err
		}
		if len(bytes.TrimRight(buf, "\r\n")) > MaxLineBytes {
			return nil, true, err
		}
		return buf, false, err
	}
}

// publishLine validates line n and publishes it. It returns a warning to
// show (the line is still used), or an error wrapping signals.ErrInvalid for
// a bad line. A duplicate post is counted and reported once its ack says so.
func publishLine(ctx context.Context, batch *bus.Batch, n int, errOut io.Writer, line []byte, rings []detector.RingConfig, sum *Summary, order *orderCheck) (string, error) {
	v, err := signals.Decode(line)
	if err != nil {
		return "", err
	}
	// An accepted line moves its type's latest time on; one in an earlier
	// bucket is counted once it is known to be applied (a post the broker
	// drops as a duplicate is not: a redelivery comes late by nature).
	t, _ := timeOf(v)
	kind := typeOf(v)
	late, isLate := order.late(kind, t)
	failed := func(_ bool, err error) error {
		if err != nil {
			return &lineError{n, err}
		}
		return nil
	}
	var warn []string
	switch m := v.(type) {
	case *signals.Post:
		err := batch.PostJSON(ctx, *m, line, func(dup bool, err error) error {
			if err != nil {
				return &lineError{n, err}
			}
			if dup {
				sum.Duplicates++
				fmt.Fprintf(errOut, "line %d: duplicate post %s dropped\n", n, m.MsgID())
			} else if isLate {
				if msg := order.count(n, kind, t, late); msg != "" {
					fmt.Fprintf(errOut, "line %d: %s\n", n, msg)
				}
			}
			return nil
		})
		if err == nil {
			order.see(kind, t, n)
		}
		return "", err
	case *signals.MetricSample:
		// as the push API (internal/inbound): rates, counts and latencies
		// are never negative, and an infinite one is no measurement
		if m.Value < 0 || math.IsInf(m.Value, 0) {
			return "", fmt.Errorf("%w: metric value %v is negative or infinite (rates, counts and latencies cannot be)", signals.ErrInvalid, m.Value)
		}
		if err := batch.Metric(ctx, *m, failed); err != nil {
			return "", err
		}
	case *signals.ReleaseEvent:
		if err := batch.Release(ctx, *m, "", failed); err != nil {
			return "", err
		}
		if m.Ring != "" && !knownRing(rings, m.Ring) {
			warn = append(warn, fmt.Sprintf("ring %q is not configured; the detector judges it with default settings", m.Ring))
		}
	default:
		return "", fmt.Errorf("%w: type %q cannot be replayed (want post, metric or release)", signals.ErrInvalid, kind)
	}
	order.see(kind, t, n)
	if isLate {
		if msg := order.count(n, kind, t, late); msg != "" {
			warn = append([]string{msg}, warn...)
		}
	}
	return strings.Join(warn, "; "), nil
}

func knownRing(rings []detector.RingConfig, name string) bool {
	for _, r := range rings {
		if r.Name == name {
			return true
		}
	}
	return false
}

// maxOrderNotes is how many out-of-order lines are named one by one.
const maxOrderNotes = 10

// orderCheck finds lines whose time is in an earlier bucket than an
// earlier line's of the same type. The replay reads each stream (posts,
// metrics, releases) in input order and merges the streams by time, so
// only disorder within a type changes what the detector sees, and only
// across a bucket boundary: the detector judges a bucket when the replay
// passes its end, and a line of a bucket it has passed is applied late.
// Disorder within a bucket (recorded posts arrive seconds apart) is
// harmless.
type orderCheck struct {
	sum    *Summary
	bucket time.Duration
	last   map[string]orderMark // the latest time of each type so far
}

type orderMark struct {
	t    time.Time
	line int
}

// late reports whether a line of type kind at t is in an earlier bucket
// than the latest line of its type so far, and that line.
func (o *orderCheck) late(kind string, t time.Time) (orderMark, bool) {
	m, seen := o.last[kind]
	return m, seen && t.Truncate(o.bucket).Before(m.t.Truncate(o.bucket))
}

// see notes an accepted line of type kind at t.
func (o *orderCheck) see(kind string, t time.Time, n int) {
	if m, seen := o.last[kind]; !seen || t.After(m.t) {
		o.last[kind] = orderMark{t, n}
	}
}

// count counts line n, applied late (after the line of mark), and returns
// what to say about it: "" past the first maxOrderNotes.
func (o *orderCheck) count(n int, kind string, t time.Time, mark orderMark) string {
	o.sum.OutOfOrder++
	if o.sum.FirstOutOfOrder == 0 {
		o.sum.FirstOutOfOrder = n
	}
	if o.sum.OutOfOrder > maxOrderNotes {
		return ""
	}
	return fmt.Sprintf("%s at %s is before the %s at %s on line %d, in an earlier %s bucket: out of event-time order; applied late",
		kind, t.UTC().Format(time.RFC3339), kind, mark.t.UTC().Format(time.RFC3339), mark.line, o.bucket)
}

func typeOf(v any) string {
	switch v.(type) {
	case *signals.Post:
		return signals.TypePost
	case *signals.MetricSample:
		return signals.TypeMetric
	case *signals.ReleaseEvent:
		return signals.TypeRelease
	case *signals.Anomaly:
		return signals.TypeAnomaly
	case *signals.Verdict:
		return signals.TypeVerdict
	case *signals.Rollup:
		return signals.TypeRollup
	}
	return fmt.Sprintf("%T", v)
}

func writeJSON(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding output: %w", err)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aftershock/aftershock/detector/backtest"
	"github.com/aftershock/aftershock/detector/spike"
)

// backtestUsage is `aftershock backtest --help`. It states the warm-up and
// what the score means; keep it in step with detector/spike.
var backtestUsage = fmt.Sprintf(`usage: aftershock backtest [FILE|-]

Scores a CSV time series point by point with the daemon's streaming anomaly
detector (detector/spike) and writes timestamp,value,anomaly_score,label, one
row per input row, timestamp and value as given. FILE "-" or no FILE reads stdin.

Input: rows of timestamp,value (extra columns ignored, a header row optional).
Timestamps: RFC 3339, "2006-01-02 15:04:05" (UTC) or unix seconds (milliseconds
when above 1e11). An empty value is a gap and NaN is skipped: both score 0.

anomaly_score is in [0, 1] and means the same on every series: it is the
evidence against "normal" in -log10 p units divided by 10, where p is the
learned probability of a point (or of the run of points ending at it) at
least this unusual, so 0.4 is about 1 in 10,000 and 0.5 about 1 in 100,000.
The score at a point depends only on the points up to it.
label is 1 where the score reaches %.2g (the default threshold). After a
label the next %d points score 0 (rest period), so an incident is labelled
once, at its start.

Warm-up: the first %d points (and at least the first ~110, until 100
residuals have been seen) score 0 and are never labelled. Meanwhile the
detector learns the series' time step, level, noise scale, daily and weekly
rhythm, tail shapes and value range; nothing before the end of the warm-up
is judged.

Exit status: 0 on success; 1 when FILE cannot be opened or a row cannot be
read or parsed (the message names the line; rows before it were written);
2 on bad usage.
`, spike.DefaultThreshold, spike.DefaultCooldown, spike.DefaultWarmUp)

// runBacktest scores a timestamp,value CSV point by point with the daemon's
// streaming spike logic.
func runBacktest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, backtestUsage)
			return 0
		}
		fmt.Fprintf(stderr, "aftershock backtest: %v\n%s", err, backtestUsage)
		return 2
	}
	in := stdin
	if fs.NArg() > 1 {
		fmt.Fprint(stderr, backtestUsage)
		return 2
	}
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "aftershock backtest: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	if err := backtest.Run(ctx, in, stdout, stderr, spike.Config{}); err != nil {
		fmt.Fprintf(stderr, "aftershock backtest: %v\n", err)
		return 1
	}
	return 0
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aftershock/aftershock/detector/backtest"
	"github.com/aftershock/aftershock/detector/spike"
)

// runBacktest scores a timestamp,value CSV point by point with the daemon's
// streaming spike logic.
func runBacktest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: aftershock backtest [FILE|-]  (CSV timestamp,value; writes timestamp,value,anomaly_score,label)")
	}
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	in := stdin
	if fs.NArg() > 1 {
		fs.Usage()
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

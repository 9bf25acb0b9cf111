package replay

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// RunCLI runs `aftershock replay [-c config.yaml] [--speed N] FILE|-` and
// returns the exit code: 0 for a clean run whatever the verdicts (and for
// --help), 1 when the replay could not run or every input line was bad, 2
// for a usage error.
func RunCLI(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "config file (detector section and services[].enrich); default: detector defaults")
	speed := fs.Float64("speed", 0, "replay in real time at N× (0: simulated time, as fast as possible)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: aftershock replay [-c config.yaml] [--speed N] FILE|-")
		fmt.Fprintln(stderr, "  replays JSON lines (post, metric, release; plain or gzip) through the detector; prints verdict changes and a summary line")
		fmt.Fprintln(stderr, "  (input and output: README.md, \"aftershock replay: input and output\")")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if !(*speed >= 0) { // NaN too
		fmt.Fprintf(stderr, "aftershock replay: --speed %g: must be a number, not negative\n", *speed)
		return 2
	}
	opts := Options{Speed: *speed}
	if *cfgPath != "" {
		cfg, err := LoadConfig(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "aftershock replay: %v\n", err)
			return 1
		}
		opts.Config = cfg
	}
	in := stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "aftershock replay: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	sum, err := Run(ctx, in, stdout, stderr, opts)
	if err != nil {
		fmt.Fprintf(stderr, "aftershock replay: %v\n", err)
		return 1
	}
	if sum.Lines > 0 && sum.BadLines == sum.Lines {
		fmt.Fprintf(stderr, "aftershock replay: every input line (%d) was bad; nothing was replayed\n", sum.Lines)
		return 1
	}
	return 0
}

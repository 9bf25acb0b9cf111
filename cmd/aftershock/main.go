// Command aftershock watches releases as they roll out and halts a ring when
// users start to complain. See README.md for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/aftershock/aftershock/deploy/client"
	"github.com/aftershock/aftershock/internal/buildinfo"
)

const usage = `aftershock: watch each release while it rolls out, stop it when users complain.

usage:
  aftershock serve -c aftershock.yaml     run the daemon
  aftershock demo                         run a complete release with an incident on loopback
  aftershock release start|promote|complete|halt|rollback|fix-forward|exposure|resume-store|get|list ...
                                          client for the release API (aftershock release --help)
  aftershock deliveries list|resend ID    failed deliveries (dead letters) and re-sending them
  aftershock sources check -c aftershock.yaml
                                          poll each configured source once, publish nothing
  aftershock analyze [--score-only]       enrich texts from stdin (one per line or JSON lines)
  aftershock backtest [FILE|-]            score a timestamp,value CSV point by point
  aftershock dashboards [-o DIR] [-bucket B] write the Grafana dashboards (JSON) for provisioning
  aftershock replay [-c FILE] [--speed N] FILE|-
                                          feed a recorded stream through the real pipeline, print verdicts
  aftershock version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "release":
		return runRelease(ctx, rest, stdout, stderr)
	case "deliveries":
		return client.RunDeliveriesCLI(ctx, rest, stdout, stderr, nil)
	case "dashboards":
		return runDashboards(ctx, rest, stdout, stderr)
	case "sources":
		return runSources(ctx, rest, stdout, stderr)
	case "analyze":
		return runAnalyze(ctx, rest, stdin, stdout, stderr)
	case "replay":
		return runReplay(ctx, rest, stdin, stdout, stderr)
	case "backtest":
		return runBacktest(ctx, rest, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "aftershock", buildinfo.Version(), runtime.Version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "aftershock: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// parseFailed is the exit code of a flag parse error: 0 when help was asked
// for (the usage is already printed), 2 otherwise.
func parseFailed(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

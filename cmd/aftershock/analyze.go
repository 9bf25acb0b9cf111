package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/aftershock/aftershock/signals/enrich"
)

// runAnalyze enriches texts read from stdin.
func runAnalyze(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scoreOnly := fs.Bool("score-only", false, "print only the sentiment score per line")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	a, err := enrich.New(enrich.Config{})
	if err != nil {
		fmt.Fprintf(stderr, "aftershock analyze: %v\n", err)
		return 1
	}
	if err := enrich.Analyze(ctx, stdin, stdout, a, *scoreOnly); err != nil {
		fmt.Fprintf(stderr, "aftershock analyze: %v\n", err)
		return 1
	}
	return 0
}

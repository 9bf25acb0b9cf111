package main

import (
	"context"
	"io"

	"github.com/aftershock/aftershock/internal/replay"
)

// runReplay feeds a recorded stream through the real pipeline.
func runReplay(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return replay.RunCLI(ctx, args, stdin, stdout, stderr)
}

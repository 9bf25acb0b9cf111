package main

import (
	"context"
	"io"

	"github.com/aftershock/aftershock/deploy/client"
)

// runRelease is the client of the release API.
func runRelease(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return client.RunCLI(ctx, args, stdout, stderr, nil)
}

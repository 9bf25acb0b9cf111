package main

import (
	"context"
	"io"

	"github.com/aftershock/aftershock/internal/demo"
)

// runDemo runs a complete release with an incident on loopback.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return demo.Main(ctx, args, stdout, stderr)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/aftershock/aftershock/internal/app"
	"github.com/aftershock/aftershock/internal/config"
)

// runServe runs the daemon until SIGINT or SIGTERM.
func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "aftershock.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "aftershock: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.Log)
	a, err := app.New(cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("configuring", "err", err)
		return 1
	}
	if err := a.Start(ctx); err != nil {
		log.Error("starting", "err", err)
		return 1
	}
	log.Info("aftershock running", "http", a.Addr(), "sources", len(cfg.Sources), "notifiers", len(cfg.Notifiers))
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-a.Err():
		log.Error("a part failed; shutting down", "err", err)
		code = 1
	}
	a.Stop()
	log.Info("stopped")
	return code
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

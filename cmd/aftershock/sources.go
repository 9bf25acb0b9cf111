package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/all"
	"github.com/aftershock/aftershock/internal/config"
)

// runSources implements `aftershock sources check`: one poll of each
// configured source, nothing published.
func runSources(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: aftershock sources check -c aftershock.yaml [--timeout 30s]"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("sources check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "aftershock.yaml", "config file")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed per source")
	if err := fs.Parse(args[1:]); err != nil {
		return parseFailed(err)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "aftershock: %v\n", err)
		return 2
	}
	insts, err := all.DefaultRegistry().Build(cfg.Sources, crawlers.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintf(stderr, "aftershock: %v\n", err)
		return 2
	}
	if len(insts) == 0 {
		fmt.Fprintln(stdout, "no sources configured")
		return 0
	}
	failed := 0
	for _, inst := range insts {
		if !checkSource(ctx, stdout, inst, *timeout) {
			failed++
		}
	}
	fmt.Fprintf(stdout, "\n%d of %d sources ok\n", len(insts)-failed, len(insts))
	if failed > 0 {
		return 1
	}
	return 0
}

func checkSource(ctx context.Context, w io.Writer, inst *crawlers.Instance, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	page, err := crawlers.CheckOnce(ctx, inst)
	took := time.Since(start).Round(time.Millisecond)
	fmt.Fprintf(w, "%s (%s, service %s): ", inst.Spec.Name, inst.Spec.Type, inst.Spec.Service)
	if err != nil {
		fmt.Fprintf(w, "FAILED after %s\n    %v\n", took, err)
		return false
	}
	fmt.Fprintf(w, "ok in %s: would publish %d posts, %d metric samples", took, len(page.Posts), len(page.Metrics))
	if page.Skipped > 0 {
		fmt.Fprintf(w, ", %d malformed items skipped", page.Skipped)
	}
	if page.More {
		fmt.Fprint(w, ", more pages waiting")
	}
	fmt.Fprintln(w)
	if len(page.Posts) > 0 {
		posts := append(page.Posts[:0:0], page.Posts...)
		sort.Slice(posts, func(i, j int) bool { return posts[i].Time.After(posts[j].Time) })
		p := posts[0]
		text := p.Text
		if r := []rune(text); len(r) > 100 {
			text = string(r[:100]) + "…"
		}
		fmt.Fprintf(w, "    newest: %s %s %q\n", p.Time.Format(time.RFC3339), p.URL, text)
	}
	if len(page.Metrics) > 0 {
		m := page.Metrics[len(page.Metrics)-1]
		fmt.Fprintf(w, "    sample: %s version=%q ring=%q %g at %s\n", m.Name, m.Version, m.Ring, m.Value, m.Time.Format(time.RFC3339))
	}
	if rl := page.RateLimit; rl != nil {
		fmt.Fprintf(w, "    rate limit: %d of %d left, resets %s\n", rl.Remaining, rl.Limit, rl.Reset.Format(time.RFC3339))
	}
	return true
}

package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/httptls"
	"github.com/aftershock/aftershock/signals"
)

// Exit codes of RunCLI.
const (
	ExitOK    = 0
	ExitError = 1 // the request failed; the server's error is printed
	ExitUsage = 2
)

const usage = `usage: aftershock release [--server URL] [--token TOKEN] [--ca FILE] COMMAND [ARGS]

commands:
  start --service S --version V [--id ID] [--ring R] [--team T]
        [--author A]... [--feature F]... [--time RFC3339]
                         register a release (id defaults to S-V), started on R if given
  promote ID --ring R    move the release to ring R
  complete ID            the rollout finished
  halt ID [--ring R]     the rollout stopped (ring defaults to the current one)
  rollback ID            the release was rolled back
  fix-forward ID         the release was fixed by a later one
  exposure ID --share F [--ring R]
                         the ring now reaches share F of the users (a staged
                         rollout moved on; store notifiers report their own)
  resume-store ID [--notifier N]
                         resume the App Store phased release / Play staged
                         rollout a halt paused (needs an sre-admin token)
  get ID                 show a release
  list [--service S] [--status S] [--limit N]

--server (a URL, or host:port for plain HTTP) defaults to $AFTERSHOCK_SERVER
or http://127.0.0.1:8080,
--token to $AFTERSHOCK_TOKEN, --ca (PEM certificates to trust for an https
server with a private CA) to $AFTERSHOCK_CA. The resulting release is printed
as JSON.
`

// eventOf maps the simple event commands to their event names.
func eventOf(cmd string) string {
	switch cmd {
	case "promote":
		return signals.EventPromoted
	case "complete":
		return signals.EventCompleted
	case "halt":
		return signals.EventHalted
	case "rollback":
		return signals.EventRolledBack
	case "fix-forward":
		return signals.EventFixedForward
	}
	return ""
}

// usageError marks a usage problem (exit 2); its text is printed with the usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// RunCLI runs `aftershock release ARGS…` where args are the words after
// "release" (a leading "release" is skipped too). It prints the resulting
// release (or list) as indented JSON on stdout and returns ExitOK; on a
// failed request it prints the server's error on stderr and returns
// ExitError; on bad usage ExitUsage. env looks up AFTERSHOCK_SERVER,
// AFTERSHOCK_TOKEN and AFTERSHOCK_CA (nil means os.Getenv).
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	if env == nil {
		env = os.Getenv
	}
	if len(args) > 0 && args[0] == "release" {
		args = args[1:]
	}
	server := env("AFTERSHOCK_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	token := env("AFTERSHOCK_TOKEN")
	ca := env("AFTERSHOCK_CA")

	top := newFlags("release", stderr, &server, &token, &ca)
	if err := top.Parse(args); err != nil {
		return usageExit(err, stdout, stderr)
	}
	args = top.Args()
	if len(args) == 0 {
		return usageExit(usagef("missing command"), stdout, stderr)
	}
	cmd, args := args[0], args[1:]
	var run func(c *Client) (any, error)
	fs := newFlags(cmd, stderr, &server, &token, &ca)
	switch cmd {
	case "start":
		var s Start
		var id, at string
		var authors, features listFlag
		fs.StringVar(&s.Service, "service", "", "service name (required)")
		fs.StringVar(&s.Version, "version", "", "version (required)")
		fs.StringVar(&id, "id", "", "release id (default SERVICE-VERSION)")
		fs.StringVar(&s.Ring, "ring", "", "ring to start on")
		fs.StringVar(&s.Team, "team", "", "owning team")
		fs.Var(&authors, "author", "author (repeatable, or comma-separated)")
		fs.Var(&features, "feature", "feature touched (repeatable, or comma-separated)")
		fs.StringVar(&at, "time", "", "time of the start, RFC 3339 (default now)")
		if err := parseExact(fs, args, 0); err != nil {
			return usageExit(err, stdout, stderr)
		}
		if s.Service == "" || s.Version == "" {
			return usageExit(usagef("start: --service and --version are required"), stdout, stderr)
		}
		s.Release = id
		if s.Release == "" {
			s.Release = s.Service + "-" + s.Version
		}
		s.Authors, s.Features = authors, features
		if at != "" {
			t, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				return usageExit(usagef("start: --time: %q is not an RFC 3339 time", at), stdout, stderr)
			}
			s.Time = t
		}
		run = func(c *Client) (any, error) { return c.Start(ctx, s) }
	case "promote", "complete", "halt", "rollback", "fix-forward":
		var ring string
		fs.StringVar(&ring, "ring", "", "ring (required for promote)")
		pos, err := parse(fs, args)
		if err == nil && len(pos) != 1 {
			err = usagef("%s: want exactly one release id, got %d", cmd, len(pos))
		}
		if err == nil && cmd == "promote" && ring == "" {
			err = usagef("promote: --ring is required")
		}
		if err != nil {
			return usageExit(err, stdout, stderr)
		}
		run = func(c *Client) (any, error) { return c.Event(ctx, pos[0], eventOf(cmd), ring) }
	case "exposure":
		var ring string
		var share float64
		fs.StringVar(&ring, "ring", "", "ring (default the current one)")
		fs.Float64Var(&share, "share", 0, "share of users the ring reaches now, in (0, 1] (required)")
		pos, err := parse(fs, args)
		if err == nil && len(pos) != 1 {
			err = usagef("exposure: want exactly one release id, got %d", len(pos))
		}
		if err == nil && !(share > 0 && share <= 1) {
			err = usagef("exposure: --share must be in (0, 1], e.g. 0.05 for 5%%")
		}
		if err != nil {
			return usageExit(err, stdout, stderr)
		}
		run = func(c *Client) (any, error) { return c.Exposure(ctx, pos[0], ring, share) }
	case "resume-store":
		var notifier string
		fs.StringVar(&notifier, "notifier", "", "only this store notifier (default every one covering the release)")
		pos, err := parse(fs, args)
		if err == nil && len(pos) != 1 {
			err = usagef("resume-store: want exactly one release id, got %d", len(pos))
		}
		if err != nil {
			return usageExit(err, stdout, stderr)
		}
		run = func(c *Client) (any, error) { return c.ResumeStore(ctx, pos[0], notifier) }
	case "get":
		pos, err := parse(fs, args)
		if err == nil && len(pos) != 1 {
			err = usagef("get: want exactly one release id, got %d", len(pos))
		}
		if err != nil {
			return usageExit(err, stdout, stderr)
		}
		run = func(c *Client) (any, error) { return c.Get(ctx, pos[0]) }
	case "list":
		var f releases.Filter
		var limit int
		fs.StringVar(&f.Service, "service", "", "only this service")
		fs.StringVar(&f.Status, "status", "", "only this status (watching, promoted, halted, …)")
		fs.IntVar(&limit, "limit", 0, "at most this many (server default 100)")
		if err := parseExact(fs, args, 0); err != nil {
			return usageExit(err, stdout, stderr)
		}
		run = func(c *Client) (any, error) {
			rels, err := c.List(ctx, f, limit)
			if rels == nil {
				rels = []releases.Release{}
			}
			return rels, err
		}
	case "help":
		_, _ = io.WriteString(stdout, usage)
		return ExitOK
	default:
		return usageExit(usagef("unknown command %q", cmd), stdout, stderr)
	}

	c := &Client{BaseURL: withScheme(server), Token: token}
	if ca != "" {
		hc, err := httpsClient(ca)
		if err != nil {
			fmt.Fprintf(stderr, "aftershock release %s: %v\n", cmd, err)
			return ExitError
		}
		c.HTTP = hc
	}
	out, err := run(c)
	if err != nil {
		fmt.Fprintf(stderr, "aftershock release %s: %v\n", cmd, err)
		return ExitError
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "aftershock release %s: encoding answer: %v\n", cmd, err)
		return ExitError
	}
	_, _ = stdout.Write(append(data, '\n'))
	return ExitOK
}

func newFlags(name string, stderr io.Writer, server, token, ca *string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // usageExit prints the one usage text
	fs.StringVar(server, "server", *server, "release API base URL")
	fs.StringVar(token, "token", *token, "bearer token")
	fs.StringVar(ca, "ca", *ca, "PEM file of the certificates to trust for an https server")
	return fs
}

// httpsClient trusts the certificates of the PEM file path (a private CA
// the server's certificate is signed by), besides none other.
func httpsClient(path string) (*http.Client, error) {
	pool, err := httptls.CAPool(path)
	if err != nil {
		return nil, fmt.Errorf("reading the CA file: %w", err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}, nil
}

// parse parses flags that may come before, between or after positional
// arguments ("promote ID --ring H2") and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func parseExact(fs *flag.FlagSet, args []string, n int) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != n {
		return usagef("%s: unexpected argument %q", fs.Name(), pos[n])
	}
	return nil
}

func usageExit(err error, stdout, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		_, _ = io.WriteString(stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(stderr, "aftershock release: %v\n\n%s", err, usage)
	return ExitUsage
}

// listFlag collects a repeatable flag; commas also separate values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// withScheme lets --server name just host:port ("127.0.0.1:8080"), which
// means plain HTTP.
func withScheme(server string) string {
	if strings.Contains(server, "://") {
		return server
	}
	return "http://" + server
}

// Package influxtest starts a real InfluxDB 1.8 (influxd) for tests, with the
// v2 write API and Flux queries enabled, and stops it when the test ends.
//
// The binary is looked up in this order: the AFTERSHOCK_INFLUXD environment
// variable, <repo root>/.bin/influxd (where `make test` installs it), then
// PATH. Without it the test is skipped, except under CI=true, where a missing
// binary fails the test: CI must never skip.
package influxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
)

// EnvBinary names the environment variable that points at an influxd binary.
const EnvBinary = "AFTERSHOCK_INFLUXD"

// Database is the database every Server creates; Bucket is its v2 name.
const (
	Database = "aftershock"
	Bucket   = Database + "/autogen"
)

// Server is a running influxd.
type Server struct {
	// URL is the base HTTP URL, e.g. http://127.0.0.1:41234.
	URL string
	// Database is the 1.x database created at start.
	Database string
	// Bucket is the v2-compatible bucket name ("database/retention-policy").
	Bucket string

	cmd    *exec.Cmd
	bin    string // influxd and its config, to start it again
	conf   string
	done   chan struct{}
	logs   *lockedBuffer
	client influxdb2.Client
}

// Row is one record of a Flux result: the columns by name (_time, _value,
// _field, _measurement and the tags).
type Row map[string]any

// Start starts influxd on free loopback ports with its data in t.TempDir(),
// waits until it answers, creates the database and registers its shutdown
// with t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("influxd not installed (CI must not skip): %v", err)
		}
		t.Skip("influxd not installed: run `make test` (it installs influxd 1.8.10 into .bin/)")
	}
	// A free port can be taken between probing and binding; retry a few times.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(t, bin)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("starting influxd: %v", lastErr)
	return nil
}

// Binary finds the influxd binary.
func Binary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, ".bin", "influxd")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("influxd")
	if err != nil {
		return "", fmt.Errorf("no %s, no .bin/influxd and none on PATH: %w", EnvBinary, err)
	}
	return p, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

const configTemplate = `reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = %q
  logging-enabled = false

[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:%d"
  auth-enabled = false
  log-enabled = false
  flux-enabled = true
  pprof-enabled = false

[logging]
  level = "error"
  suppress-logo = true
`

func start(t testing.TB, bin string) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "influxdb.conf")
	body := fmt.Sprintf(configTemplate, ports[0],
		filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), ports[1])
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, fmt.Errorf("writing config: %w", err)
	}

	s := &Server{
		URL:      "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		Database: Database,
		Bucket:   Bucket,
		done:     make(chan struct{}),
		logs:     &lockedBuffer{},
	}
	s.bin, s.conf = bin, conf
	if err := s.run(); err != nil {
		return nil, err
	}
	if err := s.createDatabase(); err != nil {
		s.stop()
		return nil, err
	}
	s.client = influxdb2.NewClient(s.URL, "")
	t.Cleanup(func() {
		s.client.Close()
		s.stop()
	})
	return s, nil
}

// readyLimit bounds the wait for a starting influxd to answer; on a loaded
// machine its start has been seen to take 17s.
const readyLimit = 60 * time.Second

// run starts influxd on the server's config and waits until it answers.
func (s *Server) run() error {
	s.done = make(chan struct{})
	s.cmd = exec.Command(s.bin, "run", "-config", s.conf)
	s.cmd.Env = append(os.Environ(), "INFLUXDB_DATA_QUERY_LOG_ENABLED=false")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", s.bin, err)
	}
	done := s.done
	go func() { _ = s.cmd.Wait(); close(done) }()
	if err := s.waitReady(readyLimit); err != nil {
		s.stop()
		return fmt.Errorf("%w\ninfluxd output:\n%s", err, s.logs.String())
	}
	return nil
}

// Restart starts a stopped influxd again on the same ports and data (a
// running one is stopped first): the database is back with what it held.
func (s *Server) Restart() error {
	s.stop()
	return s.run()
}

// Logs returns what influxd printed so far (useful in failure messages).
func (s *Server) Logs() string { return s.logs.String() }

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("influxd exited during start")
		default:
		}
		resp, err := hc.Get(s.URL + "/ping")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("influxd not answering /ping after %s", limit)
}

// Exec runs one InfluxQL statement through the 1.x /query endpoint (POST).
func (s *Server) Exec(ctx context.Context, statement string) error {
	form := url.Values{"q": {statement}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/query", bytes.NewBufferString(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("influxql %q: %w", statement, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"error"`)) {
		return fmt.Errorf("influxql %q: %s: %s", statement, resp.Status, body)
	}
	return nil
}

func (s *Server) createDatabase() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Exec(ctx, "CREATE DATABASE "+strconv.Quote(s.Database))
}

// Query runs a Flux query through /api/v2/query and returns every record of
// every table.
func (s *Server) Query(ctx context.Context, flux string) ([]Row, error) {
	res, err := s.client.QueryAPI("").Query(ctx, flux)
	if err != nil {
		return nil, fmt.Errorf("flux query: %w", err)
	}
	defer res.Close()
	var rows []Row
	for res.Next() {
		row := Row{}
		for k, v := range res.Record().Values() {
			row[k] = v
		}
		rows = append(rows, row)
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("reading flux result: %w", err)
	}
	return rows, nil
}

// Stop stops influxd now (the cleanup also does; stopping twice is fine).
// Tests use it to simulate a dead database.
func (s *Server) Stop() { s.stop() }

func (s *Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// lockedBuffer collects influxd's output; the process writes from other goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil // keep the head; enough to diagnose a failed start
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

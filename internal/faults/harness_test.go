package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/logbuf"
	"github.com/aftershock/aftershock/signals"
)

// binary is the aftershock daemon built once for the suite.
var binary string

const token = "fault-suite-token-0123456789"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aftershock-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "aftershock")
	build := exec.Command("go", "build", "-o", binary, "./cmd/aftershock")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building aftershock: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	printTable()
	os.RemoveAll(dir)
	os.Exit(code)
}

// row is one line of the fault table.
type row struct {
	scenario                              string
	sent, acked, stored, lost, duplicated int
	halts                                 string
}

var (
	tableMu sync.Mutex
	table   []row
)

func record(t *testing.T, r row) {
	t.Helper()
	t.Logf("%-28s sent %6d  acknowledged %6d  stored %6d  lost %d  duplicated %d  %s", r.scenario, r.sent, r.acked, r.stored, r.lost, r.duplicated, r.halts)
	tableMu.Lock()
	table = append(table, r)
	tableMu.Unlock()
}

func printTable() {
	tableMu.Lock()
	defer tableMu.Unlock()
	if len(table) == 0 {
		return
	}
	fmt.Println("| scenario | sent | acknowledged | stored | lost | duplicated | halts, notes |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	for _, r := range table {
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %s |\n", r.scenario, r.sent, r.acked, r.stored, r.lost, r.duplicated, r.halts)
	}
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// daemon is one aftershock process; it may be killed and started again on
// the same config (same ports, same data).
type daemon struct {
	t    *testing.T
	cfg  string
	addr string
	logs *logbuf.Buffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	exit error
}

// newDaemon writes the config (with {{HTTP}} replaced by a free port) and
// starts the daemon.
func newDaemon(t *testing.T, config string) *daemon {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	path := filepath.Join(t.TempDir(), "aftershock.yaml")
	config = strings.ReplaceAll(config, "{{HTTP}}", addr)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cfg: path, addr: addr, logs: &logbuf.Buffer{}}
	d.start()
	t.Cleanup(func() {
		d.signal(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("daemon log (last 4000 bytes):\n%s", tail(d.logs.String(), 4000))
		}
	})
	return d
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// start runs the binary and waits until /readyz answers 200.
func (d *daemon) start() {
	d.t.Helper()
	cmd := exec.Command(binary, "serve", "-c", d.cfg)
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("starting aftershock: %v", err)
	}
	done := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.done, d.exit = cmd, done, nil
	d.mu.Unlock()
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		d.exit = err
		d.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-done:
			d.t.Fatalf("aftershock exited at start (%v):\n%s", d.exitErr(), tail(d.logs.String(), 4000))
		default:
		}
		if res, err := c.Get("http://" + d.addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("aftershock not ready after 30s:\n%s", tail(d.logs.String(), 4000))
}

func (d *daemon) exitErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exit
}

// running reports whether the process is alive.
func (d *daemon) running() bool {
	d.mu.Lock()
	done := d.done
	d.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// signal sends sig and waits for the process to end (SIGKILL after 20s).
func (d *daemon) signal(sig syscall.Signal) {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		d.t.Errorf("aftershock did not stop in 20s after %v; killing it", sig)
		_ = cmd.Process.Kill()
		<-done
	}
}

// kill is a crash: SIGKILL, no shutdown.
func (d *daemon) kill() { d.signal(syscall.SIGKILL) }

// stop is a clean shutdown; the daemon must exit 0.
func (d *daemon) stop() {
	d.t.Helper()
	d.signal(syscall.SIGTERM)
	if err := d.exitErr(); err != nil {
		d.t.Errorf("aftershock exited with %v after SIGTERM", err)
	}
}

// api makes one authorised JSON request to the daemon.
func (d *daemon) api(method, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, "http://"+d.addr+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// ledger tracks probe samples by id: which were sent and which the daemon
// acknowledged (202 for the whole batch).
type ledger struct {
	mu      sync.Mutex
	sent    map[int64]bool
	acked   map[int64]bool
	refused int // requests answered with an error or not at all
}

func newLedger() *ledger { return &ledger{sent: map[int64]bool{}, acked: map[int64]bool{}} }

// pushers runs n concurrent metric pushers against addr() until ctx ends.
// Each sends batches of batch probe samples with unique ids (the value)
// and unique times, and sends a batch again until it is acknowledged.
func pushers(ctx context.Context, n, batch int, pause time.Duration, addr func() string, l *ledger) *sync.WaitGroup {
	var wg sync.WaitGroup
	base := time.Now().UTC()
	client := &http.Client{Timeout: 3 * time.Second}
	for p := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := int64(0)
			for ctx.Err() == nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(pause):
				}
				var ids []int64
				var body bytes.Buffer
				body.WriteByte('[')
				for i := range batch {
					seq++
					id := int64(p+1)*1_000_000 + seq
					ids = append(ids, id)
					if i > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"service":"shop","version":"4.2.0","ring":"H1","name":"fault_probe","value":%d,"time":%q}`,
						id, base.Add(time.Duration(id)*time.Microsecond).Format(time.RFC3339Nano))
				}
				body.WriteByte(']')
				l.mu.Lock()
				for _, id := range ids {
					l.sent[id] = true
				}
				l.mu.Unlock()
				for ctx.Err() == nil {
					if pushOnce(ctx, client, addr(), body.Bytes(), len(ids)) {
						l.mu.Lock()
						for _, id := range ids {
							l.acked[id] = true
						}
						l.mu.Unlock()
						break
					}
					l.mu.Lock()
					l.refused++
					l.mu.Unlock()
					select {
					case <-ctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
				}
			}
		}()
	}
	return &wg
}

func pushOnce(ctx context.Context, c *http.Client, addr string, body []byte, n int) bool {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/v1/metrics", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var r struct {
		Accepted int `json:"accepted"`
	}
	if res.StatusCode != http.StatusAccepted || json.NewDecoder(res.Body).Decode(&r) != nil {
		return false
	}
	return r.Accepted == n
}

// storedProbes reads every probe sample in the METRICS stream: how many
// messages carry each id.
func storedProbes(t *testing.T, js jetstream.JetStream) map[int64]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.StreamMetrics)
	if err != nil {
		t.Fatalf("opening METRICS: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	if info.State.Msgs == 0 {
		return got
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.MetricSubject("shop")}})
	if err != nil {
		t.Fatal(err)
	}
	last, empty := info.State.LastSeq, 0
	for {
		batch, err := c.FetchNoWait(1000)
		if err != nil {
			t.Fatalf("reading METRICS: %v", err)
		}
		n := 0
		var seq uint64
		for m := range batch.Messages() {
			n++
			meta, _ := m.Metadata()
			seq = meta.Sequence.Stream
			var s signals.MetricSample
			if err := json.Unmarshal(m.Data(), &s); err == nil && s.Name == "fault_probe" {
				got[int64(s.Value)]++
			}
		}
		if batch.Error() != nil {
			t.Fatalf("reading METRICS: %v", batch.Error())
		}
		if n == 0 {
			empty++
		} else {
			empty = 0
		}
		if seq >= last || empty >= 5 || ctx.Err() != nil {
			return got
		}
		if n == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// count compares what was acknowledged with what is stored (id → copies).
func count(name string, l *ledger, stored map[int64]int) row {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := row{scenario: name, sent: len(l.sent), acked: len(l.acked), stored: len(stored)}
	for id := range l.acked {
		if stored[id] == 0 {
			r.lost++
		}
	}
	for _, n := range stored {
		r.duplicated += n - 1
	}
	return r
}

// lostIDs lists a few acknowledged ids that are not stored, for messages.
func lostIDs(l *ledger, stored map[int64]int) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int64
	for id := range l.acked {
		if stored[id] == 0 {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

// openData opens the daemon's stopped data dir in-process to count.
func openData(t *testing.T, dir string) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: dir, Retention: 336 * time.Hour, Replicas: 1}, quietLog())
	if err != nil {
		t.Fatalf("opening %s: %v", dir, err)
	}
	t.Cleanup(b.Close)
	return b
}

// connect is a client of a NATS server on url.
func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// pushDuring runs each step while four pushers send batches of ten
// samples with pause between batches (a pause of 50ms is a steady 200
// samples/s per pusher; the scenarios run in parallel on two cores), then
// stops them.
func pushDuring(t *testing.T, d *daemon, l *ledger, pause time.Duration, steps ...func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wg := pushers(ctx, 4, 10, pause, func() string { return d.addr }, l)
	for _, step := range steps {
		step()
	}
	cancel()
	wg.Wait()
}

const sigterm = syscall.SIGTERM

func sleep(d time.Duration) func() { return func() { time.Sleep(d) } }

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

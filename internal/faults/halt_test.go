package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy/webhook"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

const haltSecret = "a-raw-secret-of-32-bytes-length!"

// receiver is the deploy system's halt endpoint: it can be down (nothing
// listening), up and accepting, or up and refusing every halt with 400.
// It verifies every signature the way a receiver should.
type receiver struct {
	t    *testing.T
	addr string

	mu     sync.Mutex
	srv    *http.Server
	reject bool
	calls  []call
}

type call struct {
	id, release, ring string
	status            int
	verified          bool
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, addr: "127.0.0.1:" + strconv.Itoa(freePort(t))}
	t.Cleanup(r.down)
	return r
}

func (r *receiver) up(reject bool) {
	r.t.Helper()
	r.mu.Lock()
	r.reject = reject
	running := r.srv != nil
	r.mu.Unlock()
	if running {
		return
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatalf("receiver: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var p webhook.Payload
	_ = json.Unmarshal(body, &p)
	err := webhook.Verify([]byte(haltSecret), req.Header, body, time.Now(), 0)
	r.mu.Lock()
	status := http.StatusOK
	if r.reject {
		status = http.StatusBadRequest
	}
	r.calls = append(r.calls, call{id: req.Header.Get(webhook.HeaderID), release: p.Release, ring: p.Ring, status: status, verified: err == nil})
	r.mu.Unlock()
	w.WriteHeader(status)
}

// effective counts, per release and ring, the halts the receiver accepted
// (2xx), and the attempts in all.
func (r *receiver) effective() (ok, attempts map[string]int, ids map[string]map[string]bool, unverified int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ok, attempts, ids = map[string]int{}, map[string]int{}, map[string]map[string]bool{}
	for _, c := range r.calls {
		k := c.release + "/" + c.ring
		attempts[k]++
		if ids[k] == nil {
			ids[k] = map[string]bool{}
		}
		ids[k][c.id] = true
		if c.status < 300 {
			ok[k]++
		}
		if !c.verified {
			unverified++
		}
	}
	return ok, attempts, ids, unverified
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFaultHaltReceiver sends two halts through the real dispatcher and
// delivery outbox while the receiver misbehaves: the first while it is down
// (and the daemon is SIGKILLed and restarted meanwhile, and the verdict is
// computed again), delivered once it is up; the second refused with a 400,
// listed as failed by GET /v1/deliveries?state=failed, and delivered once
// the receiver is fixed and `aftershock deliveries resend` sends it again. Each release and ring is halted exactly once, always
// under the same webhook-id, and every request's signature verifies.
func TestFaultHaltReceiver(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	data := filepath.Join(t.TempDir(), "data")
	natsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	d := newDaemon(t, `
log: {level: info, format: json}
http:
  listen: {{HTTP}}
  tokens: [{name: faults, token: "`+token+`", role: sre-admin}]
nats: {data_dir: "`+data+`", listen: "`+natsAddr+`"}
services: [{name: shop}]
notifiers:
  - name: deploy
    type: webhook
    webhook: {url: "http://`+rcv.addr+`/halt", secret: "`+haltSecret+`", timeout: 2s}
delivery: {base_backoff: 100ms, max_backoff: 500ms, deadline: 1h, attempt_timeout: 2s}
`)
	js := connect(t, "nats://"+natsAddr)
	sent := 0
	halt := func(release string) {
		t.Helper()
		v := signals.Verdict{Type: signals.TypeVerdict, Time: time.Now().UTC(), Release: release, Service: "shop", Version: strings.TrimPrefix(release, "shop-"),
			Ring: "H2", Score: 12, Decision: signals.DecisionFail, Action: signals.ActionHalt, Reasons: []string{"fault suite"}}
		data, _ := json.Marshal(v)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := js.Publish(ctx, bus.VerdictSubject("shop"), data); err != nil {
			t.Fatalf("publishing verdict: %v", err)
		}
		sent++
	}
	attempts := func(k string) int { _, a, _, _ := rcv.effective(); return a[k] }
	accepted := func(k string) int { ok, _, _, _ := rcv.effective(); return ok[k] }

	// 1. Receiver down; the daemon crashes while the halt waits; the
	// verdict is reached again after the restart; the receiver comes up.
	halt("shop-4.2.0")
	time.Sleep(1500 * time.Millisecond)
	d.kill()
	d.start()
	js = connect(t, "nats://"+natsAddr)
	halt("shop-4.2.0")
	rcv.up(false)
	waitFor(t, "the first halt to be accepted", 30*time.Second, func() bool { return accepted("shop-4.2.0/H2") > 0 })

	// 2. The receiver refuses (400): the halt becomes a dead letter, not a loss.
	rcv.up(true)
	halt("shop-4.3.0")
	waitFor(t, "the second halt to be refused", 30*time.Second, func() bool { return attempts("shop-4.3.0/H2") > 0 })
	// Seen as failed in the API (not silently dropped) …
	const id = "deploy:halt:shop-4.3.0:H2"
	waitFor(t, "the refused halt in GET /v1/deliveries?state=failed", 15*time.Second, func() bool {
		code, body, err := d.api("GET", "/v1/deliveries?state=failed", "")
		return err == nil && code == http.StatusOK && strings.Contains(body, `"id": "`+id+`"`)
	})

	// 3. … the receiver is fixed and the halt re-sent by command: delivered
	// once, under the same webhook-id.
	rcv.up(false)
	resend := exec.Command(binary, "deliveries", "--server", d.addr, "--token", token, "resend", id)
	if out, err := resend.CombinedOutput(); err != nil {
		t.Fatalf("aftershock deliveries resend %s: %v\n%s", id, err, out)
	}
	waitFor(t, "the re-sent halt to be accepted", 30*time.Second, func() bool { return accepted("shop-4.3.0/H2") > 0 })
	time.Sleep(time.Second) // room for a duplicate to show
	d.stop()

	ok, att, ids, unverified := rcv.effective()
	keys := []string{"shop-4.2.0/H2", "shop-4.3.0/H2"}
	r := row{scenario: "halt receiver down→up→4xx→fixed", sent: sent, acked: sent}
	var parts []string
	for _, k := range keys {
		if ok[k] > 0 {
			r.stored++
		} else {
			r.lost++
		}
		r.duplicated += max(ok[k]-1, 0)
		parts = append(parts, fmt.Sprintf("%s: %d effective of %d received", k, ok[k], att[k]))
	}
	sort.Strings(parts)
	r.halts = strings.Join(parts, "; ")
	record(t, r)
	for _, k := range keys {
		if ok[k] != 1 {
			t.Errorf("%s halted %d times, want exactly once", k, ok[k])
		}
		if len(ids[k]) != 1 {
			t.Errorf("%s sent under %d webhook-ids %v, want one", k, len(ids[k]), ids[k])
		}
	}
	if len(ok) != len(keys) {
		t.Errorf("halts for unexpected releases: %v", ok)
	}
	if unverified > 0 {
		t.Errorf("%d requests failed signature verification", unverified)
	}
}

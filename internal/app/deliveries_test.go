package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy/client"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// TestHaltRefusedThenResent: the halt receiver answers 400; the halt is
// kept as a dead letter, visible in GET /v1/deliveries?state=failed and in
// aftershock_delivery_dead_letters, and `aftershock deliveries resend ID`
// sends it again with the same webhook-id once the receiver is fixed.
func TestHaltRefusedThenResent(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusBadRequest
	var ids []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, r.Header.Get("webhook-id"))
		w.WriteHeader(status)
	}))
	defer rcv.Close()
	a := startWith(t, rolesConfig(t.TempDir())+`
notifiers:
  - name: deploy
    type: webhook
    webhook: {url: "`+rcv.URL+`", secret: "a-raw-secret-of-32-bytes-length!", timeout: 2s}
`)
	base := "http://" + a.Addr()
	ctx := context.Background()
	v := signals.Verdict{Time: time.Now(), Release: "shop-4.2.0", Service: "shop", Ring: "H2", Decision: "fail", Action: "halt", Score: 20}
	if err := (bus.Publisher{JS: a.Bus().JS}).Verdict(ctx, v); err != nil {
		t.Fatal(err)
	}
	const id = "deploy:halt:shop-4.2.0:H2"
	deadline := time.Now().Add(15 * time.Second)
	var body string
	for {
		var code int
		code, body = do(t, "GET", base+"/v1/deliveries?state=failed", readToken, "")
		if code == 200 && strings.Contains(body, `"id": "`+id+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, `"reason": "rejected"`) || !strings.Contains(body, "400") {
		t.Errorf("dead letter %s", body)
	}
	_, metrics := do(t, "GET", base+"/metrics", "", "")
	if !strings.Contains(metrics, `aftershock_delivery_dead_letters{kind="deploy"} 1`) {
		t.Errorf("metrics lack aftershock_delivery_dead_letters 1")
	}
	if code, _ := do(t, "POST", base+"/v1/deliveries/"+id+"/resend", readToken, ""); code != 403 {
		t.Errorf("resend with a read-only token: %d, want 403", code)
	}
	if code, _ := do(t, "GET", base+"/v1/deliveries?state=pending", readToken, ""); code != 400 {
		t.Errorf("state=pending: %d, want 400", code)
	}

	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	var out, errb bytes.Buffer
	env := func(k string) string {
		return map[string]string{"AFTERSHOCK_SERVER": a.Addr(), "AFTERSHOCK_TOKEN": token}[k]
	}
	if code := client.RunDeliveriesCLI(ctx, []string{"resend", id}, &out, &errb, env); code != 0 {
		t.Fatalf("deliveries resend: exit %d: %s", code, errb.String())
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(ids)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook requests, want 2", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	if ids[0] != "halt:shop-4.2.0:H2" || ids[1] != ids[0] {
		t.Errorf("webhook-ids %q, want halt:shop-4.2.0:H2 twice", ids)
	}
	mu.Unlock()
	out.Reset()
	if code := client.RunDeliveriesCLI(ctx, []string{"list"}, &out, &errb, env); code != 0 {
		t.Fatalf("deliveries list: exit %d: %s", code, errb.String())
	}
	var list []json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != 0 {
		t.Errorf("dead letters after the resend: %s (%v)", out.String(), err)
	}
}

package integration

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestStandardWebhooksVerifiesHalt captures the halt webhook the daemon
// sends for a halt verdict and verifies it with the Standard Webhooks
// reference library.
func TestStandardWebhooksVerifiesHalt(t *testing.T) {
	d := start(t)
	ctx := context.Background()
	id := "shop-4.7.0"
	if _, err := newClient(d).Start(ctx, startReq(id)); err != nil {
		t.Fatal(err)
	}
	if err := d.publish(ctx, verdict(id, "H2", 22, "fail", "halt", "error_rate 3.1% vs 0.4% expected")); err != nil {
		t.Fatal(err)
	}
	var hook capturedHook
	deadline := time.Now().Add(15 * time.Second)
	for hook.body == nil {
		d.mu.Lock()
		for _, h := range d.captured {
			var body struct {
				Release string `json:"release"`
				Action  string `json:"action"`
			}
			if json.Unmarshal(h.body, &body) == nil && body.Release == id && body.Action == "halt" {
				hook = h
			}
		}
		d.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("no halt webhook for " + id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wh, err := standardwebhooks.NewWebhook(d.secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(hook.body, hook.header); err != nil {
		t.Fatalf("Standard Webhooks library refuses the halt webhook: %v\nheaders %v\nbody %s", err, hook.header, hook.body)
	}
	tampered := append([]byte(nil), hook.body...)
	tampered[len(tampered)/2] ^= 1
	if err := wh.Verify(tampered, hook.header); err == nil {
		t.Fatal("a tampered body verified")
	}
}

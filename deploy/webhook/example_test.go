package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aftershock/aftershock/deploy/webhook"
)

// A receiver checks the signature on the raw body before decoding it, and
// drops repeats on webhook-id.
func ExampleVerify() {
	key, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "reading body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(key, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		// Seen r.Header.Get("webhook-id") before? Answer 200 and do nothing.
		// Otherwise decode body into webhook.Payload and halt the rollout.
		w.WriteHeader(http.StatusNoContent)
	}
	_ = handler

	// The signature for a fixed id, time and body (the Standard Webhooks
	// specification's own example):
	at := time.Unix(1614265330, 0)
	fmt.Println(webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", at, []byte(`{"test": 2432232314}`)))
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

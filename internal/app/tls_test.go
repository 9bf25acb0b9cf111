package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/internal/httptls/tlstest"
)

// TestServesTLSAndReloads runs the whole app with http.tls: the API answers
// over HTTPS with tokens, plain HTTP gets no answer, and a replaced
// certificate is served without a restart.
func TestServesTLSAndReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	certA, keyA := tlstest.SelfSigned(t, "first")
	writePair(t, certFile, certA, keyFile, keyA, 0)
	cfg, err := config.Parse([]byte(`
http:
  listen: 127.0.0.1:0
  tokens: [{name: t, token: "`+token+`", role: deploy-system}]
  tls: {cert_file: "`+certFile+`", key_file: "`+keyFile+`"}
nats: {data_dir: "`+filepath.Join(dir, "data")+`"}
services: [{name: shop}]
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TLSCheckEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	base := "https://" + a.Addr()

	req, _ := http.NewRequest("POST", base+"/v1/releases", strings.NewReader(`{"release":"shop-1.0","service":"shop","version":"1.0","ring":"H1"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := tlstest.Client(t, certA).Do(req)
	if err != nil {
		t.Fatalf("POST over TLS: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || res.TLS.PeerCertificates[0].Subject.CommonName != "first" {
		t.Fatalf("POST over TLS: %d from %q", res.StatusCode, res.TLS.PeerCertificates[0].Subject.CommonName)
	}

	plain := &http.Client{Timeout: 5 * time.Second}
	if res, err := plain.Get("http://" + a.Addr() + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode < 400 {
			t.Fatalf("plain HTTP answered %d on a TLS listener", res.StatusCode)
		}
	}

	// The replaced pair is served once the next check (every 20ms here)
	// has seen the files change; until then the client, trusting only the
	// new certificate, fails its handshake.
	certB, keyB := tlstest.SelfSigned(t, "second")
	writePair(t, certFile, certB, keyFile, keyB, 2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err = tlstest.Client(t, certB).Get(base + "/healthz")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after replacing the certificate: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.Body.Close()
	if cn := res.TLS.PeerCertificates[0].Subject.CommonName; cn != "second" {
		t.Fatalf("after replacing the certificate the app serves %q", cn)
	}
	// The reload is counted on /metrics.
	res, err = tlstest.Client(t, certB).Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `aftershock_tls_reloads_total{listener="http"} 1`) {
		t.Errorf("/metrics has no reload of the http listener's certificate")
	}
}

// TestRefusesPlaintextTokensOnNetwork: tokens on a non-loopback plain-HTTP
// address stop the start with an error saying how to fix it, unless the
// config allows them explicitly.
func TestRefusesPlaintextTokensOnNetwork(t *testing.T) {
	doc := func(extra string) string {
		return `
http:
  listen: 0.0.0.0:0
  tokens: [{name: t, token: "` + token + `", role: deploy-system}]
` + extra + `
nats: {data_dir: "` + t.TempDir() + `"}
`
	}
	none := func(string) (string, bool) { return "", false }
	_, err := config.Parse([]byte(doc("")), none)
	if err == nil || !strings.Contains(err.Error(), "http.tls") || !strings.Contains(err.Error(), "allow_plaintext_tokens") {
		t.Fatalf("tokens over plain HTTP on 0.0.0.0: %v, want an error naming http.tls and allow_plaintext_tokens", err)
	}
	if _, err := config.Parse([]byte(doc("  allow_plaintext_tokens: true")), none); err != nil {
		t.Fatalf("explicitly allowed: %v", err)
	}
}

func writePair(t *testing.T, certFile string, cert []byte, keyFile string, key []byte, step int) {
	t.Helper()
	mt := time.Now().Add(time.Duration(step) * time.Second)
	for _, f := range []struct {
		path string
		data []byte
	}{{certFile, cert}, {keyFile, key}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

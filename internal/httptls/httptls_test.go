package httptls

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/httptls/tlstest"
)

// write replaces a file and moves its modification time on by step, so a
// change is seen even on file systems with coarse timestamps.
func write(t *testing.T, path string, data []byte, step int) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(time.Duration(step) * time.Second)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

// serve runs an HTTPS server with the reloader and returns its address.
func serve(t *testing.T, r *Reloader) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })}
	go func() { _ = srv.Serve(tls.NewListener(ln, r.TLSConfig())) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// servedCN connects with a fresh connection, trusting exactly trust, and
// returns the common name the server presented.
func servedCN(t *testing.T, addr string, trust []byte) string {
	t.Helper()
	res, err := tlstest.Client(t, trust).Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	return res.TLS.PeerCertificates[0].Subject.CommonName
}

func TestReloadsChangedCertificate(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")}
	certA, keyA := tlstest.SelfSigned(t, "first")
	certB, keyB := tlstest.SelfSigned(t, "second")
	write(t, cfg.CertFile, certA, 0)
	write(t, cfg.KeyFile, keyA, 0)
	if err := cfg.ValidateAt("http.tls"); err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r)
	if cn := servedCN(t, addr, certA); cn != "first" {
		t.Fatalf("served %q, want first", cn)
	}

	// Half a rotation (new certificate, old key) keeps the old pair.
	write(t, cfg.CertFile, certB, 1)
	if cn := servedCN(t, addr, certA); cn != "first" {
		t.Fatalf("mismatched pair: served %q, want the previous certificate", cn)
	}
	// The key arrives: the new pair is served without a restart.
	write(t, cfg.KeyFile, keyB, 2)
	if cn := servedCN(t, addr, certB); cn != "second" {
		t.Fatalf("after rotation served %q, want second", cn)
	}
	// Files gone: keep serving what is loaded.
	if err := os.Remove(cfg.CertFile); err != nil {
		t.Fatal(err)
	}
	if cn := servedCN(t, addr, certB); cn != "second" {
		t.Fatalf("after removal served %q, want second", cn)
	}
}

func TestValidateAt(t *testing.T) {
	dir := t.TempDir()
	cert, key := tlstest.SelfSigned(t, "x")
	_, otherKey := tlstest.SelfSigned(t, "y")
	write(t, filepath.Join(dir, "c"), cert, 0)
	write(t, filepath.Join(dir, "k"), key, 0)
	write(t, filepath.Join(dir, "other"), otherKey, 0)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", Config{CertFile: filepath.Join(dir, "c"), KeyFile: filepath.Join(dir, "k")}, ""},
		{"missing both", Config{}, "http.tls.cert_file: required\nhttp.tls.key_file: required"},
		{"no such file", Config{CertFile: filepath.Join(dir, "nope"), KeyFile: filepath.Join(dir, "k")}, "no such file"},
		{"key of another cert", Config{CertFile: filepath.Join(dir, "c"), KeyFile: filepath.Join(dir, "other")}, "private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.ValidateAt("http.tls")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckPlaintext(t *testing.T) {
	tests := []struct {
		listen               string
		tls, tokens, allowed bool
		ok                   bool
	}{
		{"127.0.0.1:8080", false, true, false, true},
		{"[::1]:8080", false, true, false, true},
		{"localhost:8080", false, true, false, true},
		{"0.0.0.0:8080", false, true, false, false},
		{":8080", false, true, false, false},
		{"[::]:8080", false, true, false, false},
		{"10.1.2.3:8080", false, true, false, false},
		{"aftershock.internal:8080", false, true, false, false},
		{"0.0.0.0:8080", true, true, false, true},   // TLS
		{"0.0.0.0:8080", false, false, false, true}, // no tokens to leak (insecure_no_auth)
		{"0.0.0.0:8080", false, true, true, true},   // said so explicitly
	}
	for _, tt := range tests {
		err := CheckPlaintext(tt.listen, tt.tls, tt.tokens, tt.allowed)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPlaintext(%q, tls=%v, tokens=%v, allow=%v) = %v, want ok=%v", tt.listen, tt.tls, tt.tokens, tt.allowed, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "http.allow_plaintext_tokens") {
			t.Errorf("error does not say how to fix it: %v", err)
		}
	}
}

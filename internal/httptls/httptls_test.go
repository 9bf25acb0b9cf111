package httptls

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aftershock/aftershock/internal/httptls/tlstest"
)

// serve runs an HTTPS server with the reloader and returns its address.
func serve(t *testing.T, r *Reloader) string {
	t.Helper()
	return serveConfig(t, r.TLSConfig())
}

// serveConfig runs an HTTPS server with the configuration tc and returns
// its address.
func serveConfig(t *testing.T, tc *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ErrorLog: log.New(io.Discard, "", 0)} // refused handshakes are what the tests look at
	go func() { _ = srv.Serve(tls.NewListener(ln, tc)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// served connects with a fresh connection, trusting exactly trust, and
// returns the certificate the server presented.
func served(t *testing.T, addr string, trust []byte) *x509.Certificate {
	t.Helper()
	res, err := tlstest.Client(t, trust).Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	return res.TLS.PeerCertificates[0]
}

// serial is the serial number of the first certificate in a PEM block.
func serial(t *testing.T, certPEM []byte) string {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.String()
}

// clock is a test clock moved on by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestReloadsChangedCertificate: a real HTTPS listener serves a new pair
// once the files change and the check interval has passed, keeps the
// previous pair (logged and counted once) while the files are a mismatched
// pair, garbage or gone, and serves the next good pair after that.
func TestReloadsChangedCertificate(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")}
	certA, keyA := tlstest.SelfSigned(t, "first")
	certB, keyB := tlstest.SelfSigned(t, "second")
	certC, keyC := tlstest.SelfSigned(t, "third")
	tlstest.Rotate(t, cfg.CertFile, certA, 0)
	tlstest.Rotate(t, cfg.KeyFile, keyA, 0)
	if err := cfg.ValidateAt("http.tls"); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clk := &clock{t: time.Now()}
	r, err := New(cfg, slog.New(slog.DiscardHandler), Options{Listener: "http", Every: 5 * time.Second, Metrics: m, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r)
	errs := func() float64 { return testutil.ToFloat64(m.Errors("http")) }
	reloads := func() float64 { return testutil.ToFloat64(m.Reloads("http")) }
	want := func(step string, trust, cert []byte, nErrs, nReloads float64) {
		t.Helper()
		if got := served(t, addr, trust).SerialNumber.String(); got != serial(t, cert) {
			t.Fatalf("%s: served serial %s, want %s", step, got, serial(t, cert))
		}
		if errs() != nErrs || reloads() != nReloads {
			t.Fatalf("%s: %v reload errors and %v reloads counted, want %v and %v", step, errs(), reloads(), nErrs, nReloads)
		}
	}
	want("start", certA, certA, 0, 0)

	// A new pair within the interval is not looked at yet.
	tlstest.Rotate(t, cfg.CertFile, certB, 1)
	tlstest.Rotate(t, cfg.KeyFile, keyB, 1)
	clk.add(4 * time.Second)
	want("within the interval", certA, certA, 0, 0)
	// Once the interval has passed it is served without a restart.
	clk.add(time.Second)
	want("after rotation", certB, certB, 0, 1)

	// Half a rotation (new certificate, old key): the old pair stays, and
	// it is no error while the key follows before the next look.
	tlstest.Rotate(t, cfg.CertFile, certC, 2)
	clk.add(5 * time.Second)
	want("half a rotation", certB, certB, 0, 1)
	tlstest.Rotate(t, cfg.KeyFile, keyC, 2)
	clk.add(5 * time.Second)
	want("rotation completed", certC, certC, 0, 2)
	// A pair that stays mismatched is reported at the next look, once.
	tlstest.Rotate(t, cfg.CertFile, certA, 3)
	clk.add(5 * time.Second)
	want("mismatched pair, first look", certC, certC, 0, 2)
	clk.add(5 * time.Second)
	want("mismatched pair", certC, certC, 1, 2)
	// Garbage, then the file gone: the old pair stays.
	badFile(t, clk, cfg.CertFile, 4, func(step string, nErrs float64) { want(step, certC, certC, 1+nErrs, 2) })
	// A complete new pair arrives.
	tlstest.Rotate(t, cfg.CertFile, certB, 5)
	tlstest.Rotate(t, cfg.KeyFile, keyB, 5)
	clk.add(5 * time.Second)
	want("new pair", certB, certB, 3, 3)
	if got := testutil.ToFloat64(m.notAfter.WithLabelValues("http")); got != float64(r.Certificate().Leaf.NotAfter.Unix()) {
		t.Errorf("not_after gauge %v, want the served certificate's %v", got, r.Certificate().Leaf.NotAfter.Unix())
	}
	if n, err := testutil.GatherAndCount(reg, "aftershock_tls_reload_errors_total", "aftershock_tls_reloads_total"); err != nil || n != 2 {
		t.Errorf("registered series %d (%v), want 2", n, err)
	}
}

// badFile writes garbage into path (a half-written file that stays so),
// then removes it, moving clk on by 5s before each look: the garbage is
// counted once, at the second look however many follow, and the removal
// once. want checks a look, given the errors counted since the garbage.
func badFile(t *testing.T, clk *clock, path string, step int, want func(step string, nErrs float64)) {
	t.Helper()
	tlstest.Rotate(t, path, []byte("-----BEGIN CERTIFICATE-----\nnot base64"), step)
	for _, look := range []struct {
		step  string
		nErrs float64
	}{{"garbage, first look", 0}, {"garbage", 1}, {"garbage, checked again", 1}} {
		clk.add(5 * time.Second)
		want(look.step, look.nErrs)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clk.add(5 * time.Second)
	want("removed", 2)
}

func TestValidateAt(t *testing.T) {
	dir := t.TempDir()
	cert, key := tlstest.SelfSigned(t, "x")
	_, otherKey := tlstest.SelfSigned(t, "y")
	tlstest.Rotate(t, filepath.Join(dir, "c"), cert, 0)
	tlstest.Rotate(t, filepath.Join(dir, "k"), key, 0)
	tlstest.Rotate(t, filepath.Join(dir, "other"), otherKey, 0)
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

func TestCAPool(t *testing.T) {
	dir := t.TempDir()
	cert, _ := tlstest.SelfSigned(t, "ca")
	tlstest.Rotate(t, filepath.Join(dir, "ca.pem"), cert, 0)
	tlstest.Rotate(t, filepath.Join(dir, "junk"), []byte("not a certificate"), 0)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"a certificate", filepath.Join(dir, "ca.pem"), ""},
		{"no certificate", filepath.Join(dir, "junk"), "holds no PEM certificate"},
		{"missing", filepath.Join(dir, "absent"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool, err := CAPool(tc.path)
			switch {
			case tc.want == "" && (err != nil || pool == nil):
				t.Fatalf("CAPool: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CAPool error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

package httptls

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aftershock/aftershock/internal/httptls/tlstest"
)

// get makes one HTTPS request to addr on a new connection with the client
// configuration cfg: an error when either side refuses the handshake.
func get(addr string, cfg *tls.Config) error {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	res, err := c.Get("https://" + addr + "/")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.ReadAll(res.Body)
	return err
}

// TestReloadsChangedCA: a CA file replaced while the process runs is
// trusted once the check interval has passed, with real handshakes on both
// sides. A server that requires client certificates (RequireClients)
// refuses a client whose certificate the new CA signed until then and
// accepts it after, while the old CA's client is refused from then on; a
// dialling side (VerifyServers) refuses a server the new CA signed until
// then and accepts it after, and still checks the name dialled. A file
// that stays garbage or goes away keeps the loaded CA (counted once); a
// file with both CAs trusts both.
func TestReloadsChangedCA(t *testing.T) {
	dir := t.TempDir()
	oldCA, newCA := tlstest.NewCA(t, "old CA"), tlstest.NewCA(t, "new CA")
	caFile := filepath.Join(dir, "ca.pem")
	tlstest.Rotate(t, caFile, oldCA.PEM, 0)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	clk := &clock{t: time.Now()}
	keyPair := func(certPEM, keyPEM []byte) tls.Certificate {
		t.Helper()
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ca, err := NewCA(caFile, slog.New(slog.DiscardHandler), Options{Listener: "test-ca", Every: 5 * time.Second, Metrics: m, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}

	// The accepting side: its own certificate from the old CA, clients
	// checked against the CA file.
	cfg := Config{CertFile: filepath.Join(dir, "server.crt"), KeyFile: filepath.Join(dir, "server.key")}
	serverCert, serverKey := oldCA.Issue(t, "server", x509.ExtKeyUsageServerAuth)
	tlstest.Rotate(t, cfg.CertFile, serverCert, 0)
	tlstest.Rotate(t, cfg.KeyFile, serverKey, 0)
	r, err := New(cfg, slog.New(slog.DiscardHandler), Options{Listener: "server", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tc := r.TLSConfig()
	ca.RequireClients(tc)
	accepting := serveConfig(t, tc)
	trustOld := x509.NewCertPool()
	trustOld.AppendCertsFromPEM(oldCA.PEM)
	clientOld := keyPair(oldCA.Issue(t, "client of the old CA", x509.ExtKeyUsageClientAuth))
	clientNew := keyPair(newCA.Issue(t, "client of the new CA", x509.ExtKeyUsageClientAuth))
	// The client shows its certificate whatever CAs the server asks for,
	// so that the server's check is what refuses it.
	asClient := func(c tls.Certificate) error {
		return get(accepting, &tls.Config{RootCAs: trustOld, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }})
	}

	// The dialling side: a server whose certificate the new CA signed.
	dialled := serveConfig(t, &tls.Config{Certificates: []tls.Certificate{keyPair(newCA.Issue(t, "dialled", x509.ExtKeyUsageServerAuth))}})
	dialler := &tls.Config{}
	ca.VerifyServers(dialler)
	dial := func(name string) error {
		c := dialler.Clone()
		c.ServerName = name
		return get(dialled, c)
	}

	errs := func() float64 { return testutil.ToFloat64(m.Errors("test-ca")) }
	reloads := func() float64 { return testutil.ToFloat64(m.Reloads("test-ca")) }
	want := func(step string, oldOK, newOK bool, nErrs, nReloads float64) {
		t.Helper()
		for _, c := range []struct {
			who string
			ok  bool
			err error
		}{
			{"the old CA's client", oldOK, asClient(clientOld)},
			{"the new CA's client", newOK, asClient(clientNew)},
			{"dialling the new CA's server", newOK, dial("localhost")},
		} {
			if (c.err == nil) != c.ok {
				t.Errorf("%s: %s: handshake error %v, want accepted %v", step, c.who, c.err, c.ok)
			}
		}
		if errs() != nErrs || reloads() != nReloads {
			t.Errorf("%s: %v reload errors and %v reloads counted, want %v and %v", step, errs(), reloads(), nErrs, nReloads)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	want("start", true, false, 0, 0)

	// The new CA within the interval is not looked at yet.
	tlstest.Rotate(t, caFile, newCA.PEM, 1)
	clk.add(4 * time.Second)
	want("within the interval", true, false, 0, 0)
	// Once the interval has passed it is trusted, and the old one not.
	clk.add(time.Second)
	want("after the CA file was replaced", false, true, 0, 1)
	if err := dial("elsewhere.example"); err == nil {
		t.Error("dialling a name the server's certificate does not hold: accepted")
	}

	// Garbage, then the file gone: the loaded CA stays.
	badFile(t, clk, caFile, 2, func(step string, nErrs float64) { want(step, false, true, nErrs, 1) })
	// Both CAs in the file (the first step of a rotation): both trusted.
	tlstest.Rotate(t, caFile, append(append([]byte{}, oldCA.PEM...), newCA.PEM...), 3)
	clk.add(5 * time.Second)
	want("both CAs", true, true, 2, 2)
}

func TestNewCAErrors(t *testing.T) {
	dir := t.TempDir()
	tlstest.Rotate(t, filepath.Join(dir, "junk"), []byte("not a certificate"), 0)
	for _, path := range []string{filepath.Join(dir, "junk"), filepath.Join(dir, "absent")} {
		if _, err := NewCA(path, slog.New(slog.DiscardHandler), Options{}); err == nil {
			t.Errorf("NewCA(%s): no error", path)
		}
	}
}

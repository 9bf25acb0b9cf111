// Package httptls serves the HTTP API over TLS from a certificate and key
// file that may be replaced while the daemon runs (cert-manager, certbot,
// a mounted secret): a handshake checks the files' modification times and
// sizes (at most every few seconds) and re-reads the pair when they
// changed. A pair that does not load (say the certificate was replaced but
// the key not yet, or a file is half written) keeps the previous one in
// service, is logged and counted once, and is tried again when the files
// change again. The same Reloader serves the embedded NATS listener and
// routes, and a CA re-reads a CA file the same way (the NATS listener's
// client CA, the routes' CA).
//
// It also holds the rule that bearer tokens never cross a network in clear
// text by accident: see CheckPlaintext.
package httptls

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is the http.tls section.
type Config struct {
	CertFile string `yaml:"cert_file"` // PEM certificate chain, leaf first
	KeyFile  string `yaml:"key_file"`  // PEM private key
}

// ValidateAt checks the section; path prefixes the field names. The pair
// is loaded, so a missing or mismatched file fails at start-up.
func (c *Config) ValidateAt(path string) error {
	var errs []error
	if c.CertFile == "" {
		errs = append(errs, fmt.Errorf("%s.cert_file: required", path))
	}
	if c.KeyFile == "" {
		errs = append(errs, fmt.Errorf("%s.key_file: required", path))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
		return fmt.Errorf("%s: loading %s and %s: %w", path, c.CertFile, c.KeyFile, err)
	}
	return nil
}

// CheckPlaintext refuses a listen address that bearer tokens would reach
// in clear text over a network: tokens are configured, TLS is not, the
// address is not loopback, and allow (http.allow_plaintext_tokens, for a
// mesh or ingress that terminates TLS in front) is not set.
func CheckPlaintext(listen string, tlsOn, tokens, allow bool) error {
	if tlsOn || !tokens || allow || Loopback(listen) {
		return nil
	}
	return fmt.Errorf("http.listen: %q is reachable from the network and http.tls is not set, so bearer tokens would travel in clear text; "+
		"set http.tls.cert_file and http.tls.key_file, listen on 127.0.0.1, or set http.allow_plaintext_tokens: true if a mesh or ingress terminates TLS in front", listen)
}

// Loopback reports whether a host:port listen address accepts connections
// only from this machine: "localhost" or a loopback IP. An empty host or
// an unspecified address (0.0.0.0, ::) listens on every interface.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DefaultEvery is how often a Reloader looks at the files at most.
const DefaultEvery = 5 * time.Second

// Metrics counts certificate and CA reloads per listener ("http", "nats",
// "nats-client-ca"):
// aftershock_tls_reloads_total, aftershock_tls_reload_errors_total (a new
// pair that did not load, or files that cannot be read: the previous pair
// stays in service) and aftershock_tls_certificate_not_after_seconds (the
// served certificate's expiry, for an alert well before it).
type Metrics struct {
	reloads, errors *prometheus.CounterVec
	notAfter        *prometheus.GaugeVec
}

// NewMetrics makes the metrics and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_tls_reloads_total", Help: "Certificate pairs loaded after a change of the files, per listener.",
		}, []string{"listener"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_tls_reload_errors_total", Help: "Changed certificate files that did not load (or could not be read); the previous pair stays in service.",
		}, []string{"listener"}),
		notAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aftershock_tls_certificate_not_after_seconds", Help: "Expiry (unix seconds) of the certificate a listener serves.",
		}, []string{"listener"}),
	}
	if reg != nil {
		reg.MustRegister(m.reloads, m.errors, m.notAfter)
	}
	return m
}

// Errors is the reload error counter of one listener.
func (m *Metrics) Errors(listener string) prometheus.Counter {
	return m.errors.WithLabelValues(listener)
}

// Reloads is the reload counter of one listener.
func (m *Metrics) Reloads(listener string) prometheus.Counter {
	return m.reloads.WithLabelValues(listener)
}

// Options tune a Reloader.
type Options struct {
	// Listener names it in logs and metrics ("http", "nats").
	Listener string
	// Every is how often at most a handshake looks at the files (default
	// DefaultEvery); the handshakes in between serve the loaded pair
	// without touching the disk.
	Every time.Duration
	// Metrics, if set, count reloads and errors.
	Metrics *Metrics
	// Now is the clock (default time.Now); tests move it on.
	Now func() time.Time
}

// Reloader hands out the current certificate, re-reading the files when
// they change.
type Reloader struct {
	cfg Config
	w   watch

	// cert is the pair in service; a reload swaps it whole, so a handshake
	// sees the old pair or the new one, never half of each.
	cert atomic.Pointer[tls.Certificate]
}

// New loads the pair once; an error names the files.
func New(cfg Config, log *slog.Logger, opt Options) (*Reloader, error) {
	opt.Listener = cmp.Or(opt.Listener, "http")
	r := &Reloader{cfg: cfg}
	r.w = watch{
		paths: []string{cfg.CertFile, cfg.KeyFile}, files: []any{"cert_file", cfg.CertFile, "key_file", cfg.KeyFile},
		what: "certificate", keeps: "serving the loaded one", log: log, opt: opt, load: r.load,
	}
	if err := r.w.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// TLSConfig is a server configuration serving the reloaded certificate.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// Certificate is the pair in service.
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

// GetCertificate is tls.Config.GetCertificate: the loaded pair, re-read
// first when the last look at the files is Every ago and either file
// changed since. A pair that does not load leaves the loaded one in
// service.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.w.check()
	return r.cert.Load(), nil
}

// GetClientCertificate is tls.Config.GetClientCertificate, for a
// connection this side dials (a NATS route): the same pair as
// GetCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	r.w.check()
	return r.cert.Load(), nil
}

// load reads the pair and puts it into service; it returns what to log.
func (r *Reloader) load() ([]any, error) {
	cert, err := tls.LoadX509KeyPair(r.cfg.CertFile, r.cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: loading %s and %s: %w", r.cfg.CertFile, r.cfg.KeyFile, err)
	}
	r.cert.Store(&cert)
	if m := r.w.opt.Metrics; m != nil {
		m.notAfter.WithLabelValues(r.w.opt.Listener).Set(float64(cert.Leaf.NotAfter.Unix()))
	}
	return []any{"serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter}, nil
}

// CAPool reads the PEM certificates of the file path into a pool (a
// private CA to trust, or to require of clients); an error when the file
// cannot be read or holds no certificate.
func CAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

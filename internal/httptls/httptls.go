// Package httptls serves the HTTP API over TLS from a certificate and key
// file that may be replaced while the daemon runs (cert-manager, certbot,
// a mounted secret): every handshake checks the files' modification times
// and sizes and re-reads the pair when they changed. A pair that does not
// load (say the certificate was replaced but the key not yet) keeps the
// previous one in service and is tried again on the next handshake.
//
// It also holds the rule that bearer tokens never cross a network in clear
// text by accident: see CheckPlaintext.
package httptls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
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

// Reloader hands out the current certificate, re-reading the files when
// they change.
type Reloader struct {
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	cert *tls.Certificate
	seen stamp
	// failed is the version of the files that last failed to load, so a
	// bad pair is reported once, not on every handshake.
	failed stamp
}

// stamp is what identifies one version of the two files.
type stamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// New loads the pair once; an error names the files.
func New(cfg Config, log *slog.Logger) (*Reloader, error) {
	r := &Reloader{cfg: cfg, log: log}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	if err := r.load(st); err != nil {
		return nil, err
	}
	return r, nil
}

// TLSConfig is a server configuration serving the reloaded certificate.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// GetCertificate is tls.Config.GetCertificate: the cached pair, re-read
// first when either file changed since it was loaded.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stat()
	if err != nil {
		r.log.Warn("tls: checking certificate files; serving the loaded certificate", "err", err)
		return r.cert, nil
	}
	if st != r.seen && st != r.failed {
		if err := r.load(st); err != nil {
			r.failed = st
			r.log.Warn("tls: reloading certificate failed; serving the previous one", "err", err)
		} else {
			r.log.Info("tls: certificate reloaded", "cert_file", r.cfg.CertFile, "not_after", r.cert.Leaf.NotAfter)
		}
	}
	return r.cert, nil
}

func (r *Reloader) stat() (stamp, error) {
	c, err := os.Stat(r.cfg.CertFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls: %w", err)
	}
	k, err := os.Stat(r.cfg.KeyFile)
	if err != nil {
		return stamp{}, fmt.Errorf("tls: %w", err)
	}
	return stamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// load reads the pair; on success it becomes current and st is remembered.
func (r *Reloader) load(st stamp) error {
	cert, err := tls.LoadX509KeyPair(r.cfg.CertFile, r.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: loading %s and %s: %w", r.cfg.CertFile, r.cfg.KeyFile, err)
	}
	r.cert, r.seen = &cert, st
	return nil
}

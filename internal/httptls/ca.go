package httptls

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"sync/atomic"
)

// CA is a CA certificate file (PEM, one certificate or several) that is
// re-read when it changes, looked at as a Reloader looks at its pair: by a
// handshake, at most every Every, the new pool swapped in whole, a file
// that does not load reported once (if the next look finds it unchanged)
// while the previous pool stays in service. A TLS configuration set up
// with RequireClients or VerifyServers checks every handshake against the
// pool in service, so a CA rotated by cert-manager or by hand takes effect
// without a restart. To rotate without refusing anyone, put the new CA
// into the file next to the old one first, then move the certificates to
// the new CA, then remove the old one.
type CA struct {
	path string
	w    watch
	pool atomic.Pointer[x509.CertPool]
}

// NewCA loads the CA file once; an error names it. opt.Listener names it
// in logs and metrics ("nats-client-ca").
func NewCA(path string, log *slog.Logger, opt Options) (*CA, error) {
	opt.Listener = cmp.Or(opt.Listener, "ca")
	c := &CA{path: path}
	c.w = watch{paths: []string{path}, files: []any{"ca_file", path}, what: "CA", keeps: "trusting the loaded one", log: log, opt: opt, load: c.load}
	if err := c.w.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// Pool is the pool in service, re-read first when it is time to look at
// the file and it changed.
func (c *CA) Pool() *x509.CertPool {
	c.w.check()
	return c.pool.Load()
}

func (c *CA) load() ([]any, error) {
	pool, err := CAPool(c.path)
	if err != nil {
		return nil, err
	}
	c.pool.Store(pool)
	return nil, nil
}

// RequireClients makes tc, a server's configuration, require a client
// certificate the CA signs. crypto/tls verifies clients against a fixed
// ClientCAs, so tc.GetConfigForClient hands each handshake a copy of tc
// with the pool in service (and without session tickets, so that no
// session made under a previous CA resumes). tc.ClientCAs and
// tc.ClientAuth are set too, for code that reads them (nats-server tells
// its clients that it verifies them). A handshake on the accepting side
// does not run tc.VerifyConnection: VerifyServers' check is for the side
// that dials.
func (c *CA) RequireClients(tc *tls.Config) {
	tc.ClientAuth, tc.ClientCAs = tls.RequireAndVerifyClientCert, c.pool.Load()
	tc.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		hc := tc.Clone()
		hc.GetConfigForClient, hc.VerifyConnection = nil, nil
		hc.ClientCAs, hc.SessionTicketsDisabled = c.Pool(), true
		return hc, nil
	}
}

// VerifyServers makes tc, for connections this side dials (a NATS route),
// accept only a server whose certificate the CA signs. crypto/tls verifies
// servers against a fixed RootCAs, so tc skips that
// (InsecureSkipVerify) and tc.VerifyConnection does the same verification
// against the pool in service, as crypto/tls's documented example of
// VerifyConnection does: the chain up to the CA, server use, and the name
// dialled when it is a host name. crypto/tls tells VerifyConnection no
// name when the address dialled is an IP (it sends no SNI then), so a
// route to an IP accepts any certificate the CA signs, as the accepting
// side accepts any client certificate it signs.
func (c *CA) VerifyServers(tc *tls.Config) {
	tc.RootCAs, tc.InsecureSkipVerify = nil, true
	tc.VerifyConnection = c.verifyServer
}

func (c *CA) verifyServer(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server showed no certificate")
	}
	opts := x509.VerifyOptions{Roots: c.Pool(), DNSName: cs.ServerName, Intermediates: x509.NewCertPool()}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// Package tlstest makes certificates for tests of the HTTPS API, the NATS
// listener and the NATS routes (self-signed ones, and a CA that signs
// others), and rotates their files.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// SelfSigned makes a certificate for 127.0.0.1, ::1 and localhost named
// cn, valid for an hour around now, and its key, both PEM encoded.
func SelfSigned(t testing.TB, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	tmpl := template(t, cn, x509.ExtKeyUsageServerAuth)
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	cert, key := create(t, tmpl, nil, nil)
	return encode(t, cert, key)
}

// CA is a certificate authority for tests: it signs certificates with
// Issue; PEM is its own certificate, the CA file to trust.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
}

// NewCA makes a CA named cn, valid for an hour around now.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	tmpl := template(t, cn)
	tmpl.KeyUsage = x509.KeyUsageCertSign
	tmpl.IPAddresses, tmpl.DNSNames = nil, nil
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	cert, key := create(t, tmpl, nil, nil)
	certPEM, _ := encode(t, cert, key)
	return &CA{cert: cert, key: key, PEM: certPEM}
}

// Issue makes a certificate the CA signs for 127.0.0.1, ::1 and localhost
// named cn, valid for an hour around now, for the given uses (none: both
// server and client use, as a NATS route's), and its key, PEM encoded.
func (ca *CA) Issue(t testing.TB, cn string, usage ...x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	if len(usage) == 0 {
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	cert, key := create(t, template(t, cn, usage...), ca.cert, ca.key)
	return encode(t, cert, key)
}

// template is a leaf certificate named cn for 127.0.0.1, ::1 and
// localhost with a random serial, valid for an hour around now.
func template(t testing.TB, cn string, usage ...x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usage,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:     []string{"localhost"},
	}
}

// create makes a key and signs tmpl with it, by parent and its key (nil:
// self-signed).
func create(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// encode is the certificate and key as PEM.
func encode(t testing.TB, cert *x509.Certificate, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte) {
	t.Helper()
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// Client trusts exactly the given PEM certificate and opens a new
// connection for every request (so each one sees the current certificate).
func Client(t testing.TB, trust []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(trust) {
		t.Fatal("tlstest: no certificate in trust PEM")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
	}}
}

// Rotate replaces a certificate or key file and moves its modification
// time on by step seconds, so a reloader sees the change even on file
// systems with coarse timestamps.
func Rotate(t testing.TB, path string, data []byte, step int) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(time.Duration(step) * time.Second)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

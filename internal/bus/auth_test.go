package bus

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aftershock/aftershock/internal/httptls"
	"github.com/aftershock/aftershock/internal/httptls/tlstest"
	"github.com/aftershock/aftershock/signals"
)

// writeFile writes a test file (a secret or a PEM) under dir.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openListener starts an embedded server with a loopback listener on a
// free port, configured by with.
func openListener(t *testing.T, with func(*Config)) *Bus {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Retention: time.Hour, Replicas: 1}
	with(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	b, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("opening the embedded server: %v", err)
	}
	t.Cleanup(b.Close)
	if b.ListenURL() == "" {
		t.Fatal("no listen URL")
	}
	return b
}

// roundTrip publishes a post through remote and reads it back from the
// POSTS stream through local (the embedded server's own connection).
func roundTrip(t *testing.T, remote, local *Bus, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := signals.Post{Time: time.Now(), Source: "mastodon", ID: id, Service: "shop", Text: "checkout broken"}
	if _, err := (Publisher{JS: remote.JS}).Post(ctx, p); err != nil {
		t.Fatalf("publishing over the listener: %v", err)
	}
	var msg *jetstream.RawStreamMsg
	if err := settled(ctx, func() (err error) {
		s, err := local.JS.Stream(ctx, StreamPosts)
		if err == nil {
			msg, err = s.GetLastMsgForSubject(ctx, "posts.mastodon")
		}
		return err
	}); err != nil {
		t.Fatalf("reading the post back: %v", err)
	}
	if !strings.Contains(string(msg.Data), id) {
		t.Fatalf("stored post %s, want id %s", msg.Data, id)
	}
	// And the other way: the remote side consumes what the server holds.
	// An ordered consumer is created on the server at its first Next, so
	// that call too may meet the API with no responder yet.
	var c jetstream.Consumer
	if err := settled(ctx, func() (err error) {
		c, err = remote.JS.OrderedConsumer(ctx, StreamPosts, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"posts.mastodon"}})
		return err
	}); err != nil {
		t.Fatalf("consuming over the listener: %v", err)
	}
	var m jetstream.Msg
	if err := settled(ctx, func() (err error) {
		m, err = c.Next(jetstream.FetchMaxWait(5 * time.Second))
		return err
	}); err != nil {
		t.Fatalf("consuming over the listener: %v", err)
	}
	if !strings.Contains(string(m.Data()), id) {
		t.Fatalf("consumed %s, want id %s", m.Data(), id)
	}
}

// settled runs f until it does not fail with "no responders" or ctx ends:
// in a cluster just formed the JetStream API can have no responder for a
// moment while its leaders settle, and a client asks again.
func settled(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || !errors.Is(err, nats.ErrNoResponders) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func dialRefused(t *testing.T, url string, opts ...nats.Option) {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.Timeout(5 * time.Second), nats.MaxReconnects(0)}, opts...)...)
	if err == nil {
		nc.Close()
		t.Fatal("connected, want refused")
	}
}

func TestListenAuth(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "s3cret-Pass_word\n")
	wrongPW := writeFile(t, dir, "wrong-pw", "not-the-password\n")
	tok := writeFile(t, dir, "token", "tok-0123456789abcdef\n")
	wrongTok := writeFile(t, dir, "wrong-token", "tok-nope\n")
	tests := []struct {
		name   string
		server func(*Config)
		right  func(*Config)
		wrong  []func(*Config)
	}{
		{
			name:   "user and password",
			server: func(c *Config) { c.ListenUser, c.ListenPasswordFile = "crawler", pw },
			right:  func(c *Config) { c.User, c.PasswordFile = "crawler", pw },
			wrong: []func(*Config){
				func(c *Config) {},
				func(c *Config) { c.User, c.PasswordFile = "crawler", wrongPW },
				func(c *Config) { c.User, c.PasswordFile = "someone", pw },
				func(c *Config) { c.TokenFile = tok },
			},
		},
		{
			name:   "token",
			server: func(c *Config) { c.ListenTokenFile = tok },
			right:  func(c *Config) { c.TokenFile = tok },
			wrong: []func(*Config){
				func(c *Config) {},
				func(c *Config) { c.TokenFile = wrongTok },
				func(c *Config) { c.User, c.PasswordFile = "crawler", pw },
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := openListener(t, tc.server)
			url := srv.ListenURL()
			for i, w := range tc.wrong {
				cfg := Config{URL: url, Retention: time.Hour, Replicas: 1}
				w(&cfg)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				b, err := Open(ctx, cfg, slog.New(slog.DiscardHandler))
				cancel()
				if err == nil {
					b.Close()
					t.Fatalf("wrong credentials %d: connected, want refused", i)
				}
				if !errors.Is(err, nats.ErrAuthorization) {
					t.Errorf("wrong credentials %d: %v, want an authorization violation", i, err)
				}
			}
			// A client with the right credentials is a second Aftershock
			// process: it declares the streams and publishes and consumes.
			cfg := Config{URL: url, Retention: time.Hour, Replicas: 1}
			tc.right(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			remote, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("right credentials: %v", err)
			}
			defer remote.Close()
			roundTrip(t, remote, srv, "post-"+strings.ReplaceAll(tc.name, " ", "-"))
		})
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherCA                                              string // a CA that signed none of them
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "aftershock test CA")
	p := testPKI{caFile: writeFile(t, dir, "ca.pem", string(ca.PEM)), otherCA: writeFile(t, dir, "other-ca.pem", string(tlstest.NewCA(t, "someone else's CA").PEM))}
	cert, key := ca.Issue(t, "server", x509.ExtKeyUsageServerAuth)
	p.serverCert, p.serverKey = writeFile(t, dir, "server.pem", string(cert)), writeFile(t, dir, "server.key", string(key))
	cert, key = ca.Issue(t, "client", x509.ExtKeyUsageClientAuth)
	p.clientCert, p.clientKey = writeFile(t, dir, "client.pem", string(cert)), writeFile(t, dir, "client.key", string(key))
	return p
}

func TestListenTLS(t *testing.T) {
	pki := newTestPKI(t)
	tok := writeFile(t, t.TempDir(), "token", "tok-0123456789abcdef")
	srv := openListener(t, func(c *Config) {
		c.ListenTokenFile = tok
		c.ListenTLSCert, c.ListenTLSKey = pki.serverCert, pki.serverKey
	})
	url := srv.ListenURL()
	if !strings.HasPrefix(url, "tls://") {
		t.Fatalf("listen URL %s, want tls://", url)
	}
	plain := strings.Replace(url, "tls://", "nats://", 1)
	t.Run("plain text refused", func(t *testing.T) { dialRefused(t, plain, nats.Token("tok-0123456789abcdef")) })
	t.Run("unknown CA refused", func(t *testing.T) {
		dialRefused(t, url, nats.Token("tok-0123456789abcdef"), nats.RootCAs(pki.otherCA))
	})
	t.Run("right CA, no token refused", func(t *testing.T) { dialRefused(t, url, nats.RootCAs(pki.caFile)) })
	t.Run("right CA and token", func(t *testing.T) {
		remote, err := Open(context.Background(), Config{URL: url, TokenFile: tok, TLSCA: pki.caFile, Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		if !remote.NC.TLSRequired() {
			t.Error("connection is not TLS")
		}
		roundTrip(t, remote, srv, "post-tls")
	})
}

// openReloading is openListener with the certificate and CA files looked
// at every 20ms and their reloads counted in the metrics it returns.
func openReloading(t *testing.T, with func(*Config)) (*Bus, *httptls.Metrics) {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Retention: time.Hour, Replicas: 1}
	with(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := httptls.NewMetrics(nil)
	b, err := OpenWith(context.Background(), cfg, slog.New(slog.DiscardHandler), Options{TLSMetrics: m, TLSCheckEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, m
}

// TestListenTLSReload: the listener serves a certificate put in place of
// its files while it runs; garbage in the files leaves the previous one in
// service and is counted.
func TestListenTLSReload(t *testing.T) {
	first, second := newTestPKI(t), newTestPKI(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "nats.crt"), filepath.Join(dir, "nats.key")
	put := func(path, from string, step int) { t.Helper(); rotateFrom(t, path, step, from) }
	put(certFile, first.serverCert, 0)
	put(keyFile, first.serverKey, 0)
	tok := writeFile(t, dir, "token", "tok-0123456789abcdef")
	b, m := openReloading(t, func(c *Config) { c.ListenTokenFile, c.ListenTLSCert, c.ListenTLSKey = tok, certFile, keyFile })
	// servedSerial connects afresh (trusting both CAs) and returns the
	// serial of the certificate the listener showed.
	servedSerial := func() string {
		t.Helper()
		nc, err := nats.Connect(b.ListenURL(), nats.Token("tok-0123456789abcdef"), nats.RootCAs(first.caFile, second.caFile), nats.MaxReconnects(0))
		if err != nil {
			t.Fatalf("connecting over TLS: %v", err)
		}
		defer nc.Close()
		st, err := nc.TLSConnectionState()
		if err != nil {
			t.Fatal(err)
		}
		return st.PeerCertificates[0].SerialNumber.String()
	}
	errs := func() float64 { return testutil.ToFloat64(m.Errors("nats")) }
	if got, want := servedSerial(), fileSerial(t, first.serverCert); got != want {
		t.Fatalf("served serial %s, want %s", got, want)
	}
	put(certFile, second.serverCert, 1)
	put(keyFile, second.serverKey, 1)
	want := fileSerial(t, second.serverCert)
	deadline := time.Now().Add(5 * time.Second)
	for servedSerial() != want {
		if time.Now().After(deadline) {
			t.Fatalf("still serving the first certificate 5s after the files changed")
		}
		time.Sleep(25 * time.Millisecond)
	}
	tlstest.Rotate(t, certFile, []byte("garbage"), 2)
	for errs() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("garbage in the certificate file not counted")
		}
		if got := servedSerial(); got != want {
			t.Fatalf("garbage: served serial %s, want the previous %s", got, want)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if got := servedSerial(); got != want {
		t.Fatalf("after garbage: served serial %s, want the previous %s", got, want)
	}
	if errs() != 1 {
		t.Errorf("reload errors %v, want 1", errs())
	}
}

// rotateFrom replaces path with the contents of the files from, one after
// the other (tlstest.Rotate).
func rotateFrom(t *testing.T, path string, step int, from ...string) {
	t.Helper()
	var b []byte
	for _, f := range from {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, data...)
	}
	tlstest.Rotate(t, path, b, step)
}

// TestListenClientCAReload: the listener's client CA file is replaced
// while it runs. A client whose certificate the new CA signed is refused
// before (real TLS handshakes) and connects once the listener has looked
// at the file again; the old CA's client is refused from then on, and
// the reload is counted.
func TestListenClientCAReload(t *testing.T) {
	old, next := newTestPKI(t), newTestPKI(t)
	caFile := filepath.Join(t.TempDir(), "client-ca.pem")
	rotateFrom(t, caFile, 0, old.caFile)
	b, m := openReloading(t, func(c *Config) {
		c.ListenTLSCert, c.ListenTLSKey, c.ListenTLSClientCA = old.serverCert, old.serverKey, caFile
	})
	connect := func(p testPKI) error {
		nc, err := nats.Connect(b.ListenURL(), nats.RootCAs(old.caFile), nats.ClientCert(p.clientCert, p.clientKey), nats.Timeout(5*time.Second), nats.MaxReconnects(0))
		if err == nil {
			err = nc.Flush()
			nc.Close()
		}
		return err
	}
	if err := connect(old); err != nil {
		t.Fatalf("the CA's client: %v", err)
	}
	// Well past the check interval: the file has not changed.
	time.Sleep(50 * time.Millisecond)
	if connect(next) == nil {
		t.Fatal("a client of another CA connected before the CA file named it")
	}
	rotateFrom(t, caFile, 1, next.caFile)
	deadline := time.Now().Add(5 * time.Second)
	for connect(next) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the new CA's client still refused 5s after the CA file was replaced")
		}
		time.Sleep(25 * time.Millisecond)
	}
	if connect(old) == nil {
		t.Error("the old CA's client connected after the CA file was replaced")
	}
	if n := testutil.ToFloat64(m.Reloads("nats-client-ca")); n != 1 {
		t.Errorf("client CA reloads %v, want 1", n)
	}
}

// fileSerial is the serial number of the certificate in a PEM file.
func fileSerial(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.String()
}

func TestListenMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	// On every interface: a client certificate is authentication enough.
	srv := openListener(t, func(c *Config) {
		c.Listen = "0.0.0.0:0"
		c.ListenTLSCert, c.ListenTLSKey, c.ListenTLSClientCA = pki.serverCert, pki.serverKey, pki.caFile
	})
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.ListenURL(), "tls://"))
	if err != nil {
		t.Fatal(err)
	}
	url := "tls://127.0.0.1:" + port
	t.Run("no client certificate refused", func(t *testing.T) { dialRefused(t, url, nats.RootCAs(pki.caFile)) })
	t.Run("client certificate", func(t *testing.T) {
		remote, err := Open(context.Background(), Config{URL: url, TLSCA: pki.caFile, TLSCert: pki.clientCert, TLSKey: pki.clientKey, Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Close()
		roundTrip(t, remote, srv, "post-mtls")
	})
}

// TestListenNetworkWithoutAuthRefused: a listener reachable from the
// network that lets anyone in does not start, and the error names the key.
func TestListenNetworkWithoutAuthRefused(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		_, err := Open(context.Background(), Config{DataDir: t.TempDir(), Listen: listen, Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "nats.listen") || !strings.Contains(err.Error(), "without authentication") {
			t.Errorf("listen %s without auth: %v, want refused naming nats.listen", listen, err)
		}
	}
	// Loopback without authentication stays allowed.
	b := openListener(t, func(*Config) {})
	nc, err := nats.Connect(b.ListenURL())
	if err != nil {
		t.Fatalf("loopback without auth: %v", err)
	}
	nc.Close()
}

func TestListenSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, key string
		with      func(*Config)
	}{
		{"missing password file", "nats.listen_password_file", func(c *Config) { c.ListenUser, c.ListenPasswordFile = "u", filepath.Join(dir, "absent") }},
		{"empty token file", "nats.listen_token_file", func(c *Config) { c.ListenTokenFile = writeFile(t, dir, "empty", "\n") }},
		{"bcrypt hash", "nats.listen_password_file", func(c *Config) {
			c.ListenUser, c.ListenPasswordFile = "u", writeFile(t, dir, "hash", "$2a$11$abcdefghijklmnopqrstuv\n")
		}},
		{"bad certificate", "nats.listen_tls_cert", func(c *Config) {
			c.ListenTokenFile = writeFile(t, dir, "tok", "x")
			c.ListenTLSCert, c.ListenTLSKey = writeFile(t, dir, "c.pem", "junk"), writeFile(t, dir, "k.pem", "junk")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Retention: time.Hour, Replicas: 1}
			tc.with(&cfg)
			b, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				b.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("%v, want it to name %s", err, tc.key)
			}
		})
	}
}

func TestConfigValidateAuth(t *testing.T) {
	embedded := func(with func(*Config)) Config {
		c := Config{DataDir: "/tmp/x", Listen: "127.0.0.1:4222"}
		with(&c)
		return c
	}
	external := func(with func(*Config)) Config {
		c := Config{URL: "nats://10.0.0.5:4222"}
		with(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // "" means valid
	}{
		{"loopback without auth", embedded(func(*Config) {}), ""},
		{"localhost without auth", embedded(func(c *Config) { c.Listen = "localhost:4222" }), ""},
		{"ipv6 loopback without auth", embedded(func(c *Config) { c.Listen = "[::1]:4222" }), ""},
		{"all interfaces without auth", embedded(func(c *Config) { c.Listen = "0.0.0.0:4222" }), "nats.listen"},
		{"empty host without auth", embedded(func(c *Config) { c.Listen = ":4222" }), "nats.listen"},
		{"address without auth", embedded(func(c *Config) { c.Listen = "10.0.0.5:4222" }), "nats.listen"},
		{"TLS alone is not auth", embedded(func(c *Config) { c.Listen, c.ListenTLSCert, c.ListenTLSKey = "0.0.0.0:4222", "c", "k" }), "nats.listen"},
		{"all interfaces with user", embedded(func(c *Config) { c.Listen, c.ListenUser, c.ListenPasswordFile = "0.0.0.0:4222", "u", "p" }), ""},
		{"all interfaces with token", embedded(func(c *Config) { c.Listen, c.ListenTokenFile = "0.0.0.0:4222", "t" }), ""},
		{"all interfaces with mTLS", embedded(func(c *Config) {
			c.Listen, c.ListenTLSCert, c.ListenTLSKey, c.ListenTLSClientCA = "0.0.0.0:4222", "c", "k", "ca"
		}), ""},
		{"user without password", embedded(func(c *Config) { c.ListenUser = "u" }), "nats.listen_user: set without nats.listen_password_file"},
		{"password without user", embedded(func(c *Config) { c.ListenPasswordFile = "p" }), "nats.listen_password_file: set without nats.listen_user"},
		{"user and token", embedded(func(c *Config) { c.ListenUser, c.ListenPasswordFile, c.ListenTokenFile = "u", "p", "t" }), "not both"},
		{"cert without key", embedded(func(c *Config) { c.ListenTLSCert = "c" }), "nats.listen_tls_cert: set without nats.listen_tls_key"},
		{"client CA without cert", embedded(func(c *Config) { c.ListenUser, c.ListenPasswordFile, c.ListenTLSClientCA = "u", "p", "ca" }), "nats.listen_tls_client_ca"},
		{"listen auth without listen", embedded(func(c *Config) { c.Listen, c.ListenTokenFile = "", "t" }), "nats.listen is empty"},
		{"listen auth with external url", external(func(c *Config) { c.ListenTokenFile = "t" }), "nats.listen_token_file: only for the embedded"},
		{"client auth on the embedded server", embedded(func(c *Config) { c.TokenFile = "t" }), "nats.token_file: only for connecting"},
		{"external with user", external(func(c *Config) { c.User, c.PasswordFile, c.TLSCA = "u", "p", "ca" }), ""},
		{"external user without password", external(func(c *Config) { c.User = "u" }), "nats.user: set without nats.password_file"},
		{"external user and token", external(func(c *Config) { c.User, c.PasswordFile, c.TokenFile = "u", "p", "t" }), "choose one way"},
		{"external creds and token", external(func(c *Config) { c.Creds, c.TokenFile = "x.creds", "t" }), "choose one way"},
		{"client cert without key", external(func(c *Config) { c.TLSCert = "c" }), "nats.tls_cert: set without nats.tls_key"},
		{"external without auth", external(func(*Config) {}), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantValidate(t, tc.cfg, tc.want) })
	}
}

// wantValidate checks cfg.Validate: accepted when want is empty, else
// refused with an error that contains want.
func wantValidate(t *testing.T, cfg Config, want string) {
	t.Helper()
	err := cfg.Validate()
	switch {
	case want == "" && err != nil:
		t.Fatalf("refused: %v", err)
	case want != "" && err == nil:
		t.Fatalf("accepted, want an error naming %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("%v, want it to contain %q", err, want)
	}
}

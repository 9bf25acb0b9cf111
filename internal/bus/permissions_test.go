package bus

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// limitedClient connects to url as user and collects the server's
// asynchronous errors (permission violations arrive that way).
func limitedClient(t *testing.T, url, user, pw string) (*nats.Conn, chan error) {
	t.Helper()
	errs := make(chan error, 16)
	nc, err := nats.Connect(url, nats.UserInfo(user, pw), nats.MaxReconnects(0),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatalf("%s connecting: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// violation waits for a permission violation naming subject.
func violation(t *testing.T, errs chan error, subject string) {
	t.Helper()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
			t.Fatalf("got %v, want a permission violation for %s", err, subject)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no permission violation for %s", subject)
	}
}

// stored reports whether the stream holds a message on subject.
func stored(t *testing.T, b *Bus, stream, subject string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := b.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// TestListenUserPermissions: beside the full-rights user, a CI user may
// only publish release events and a reader may only subscribe to
// verdicts; what they may not do is refused by the server and not stored,
// and Aftershock's own user keeps every right.
func TestListenUserPermissions(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "full-Pass_0123456789\n")
	ciPW := writeFile(t, dir, "ci-pw", "ci-Pass_0123456789\n")
	readerPW := writeFile(t, dir, "reader-pw", "reader-Pass_0123456789\n")
	srv := openListener(t, func(c *Config) {
		c.ListenUser, c.ListenPasswordFile = "aftershock", pw
		c.ListenUsers = []ListenUser{
			{User: "ci", PasswordFile: ciPW, Publish: []string{"releases.>"}},
			{User: "reader", PasswordFile: readerPW, Subscribe: []string{"verdicts.>"}},
		}
	})
	url := srv.ListenURL()

	ci, ciErrs := limitedClient(t, url, "ci", "ci-Pass_0123456789")
	if err := ci.Publish("releases.shop", []byte(`{"release":"shop-1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := ci.Publish("verdicts.shop", []byte(`{"verdict":"pass"}`)); err != nil {
		t.Fatal(err)
	}
	if err := ci.Flush(); err != nil {
		t.Fatal(err)
	}
	violation(t, ciErrs, "verdicts.shop")
	if _, err := ci.SubscribeSync("verdicts.>"); err != nil {
		t.Fatal(err)
	}
	violation(t, ciErrs, "verdicts.>")

	reader, readerErrs := limitedClient(t, url, "reader", "reader-Pass_0123456789")
	sub, err := reader.SubscribeSync("verdicts.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := reader.Publish("releases.shop", []byte(`{"release":"shop-2"}`)); err != nil {
		t.Fatal(err)
	}
	violation(t, readerErrs, "releases.shop")
	// Aftershock's own connection publishes a verdict: the reader sees it.
	if err := srv.NC.Publish("verdicts.cart", []byte(`{"verdict":"halt"}`)); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || m.Subject != "verdicts.cart" {
		t.Fatalf("reader got %v, %v; want the verdict on verdicts.cart", m, err)
	}

	if !stored(t, srv, StreamReleases, "releases.shop") {
		t.Error("the CI user's release event was not stored")
	}
	if stored(t, srv, StreamVerdicts, "verdicts.shop") {
		t.Error("the CI user's forged verdict was stored")
	}
	// Wrong password for a limited user, and the full user still does all.
	dialRefused(t, url, nats.UserInfo("ci", "not-it"))
	remote, err := Open(context.Background(), Config{URL: url, User: "aftershock", PasswordFile: pw, Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("full-rights user: %v", err)
	}
	defer remote.Close()
	roundTrip(t, remote, srv, "post-permissions")
}

func TestConfigValidateListenUsers(t *testing.T) {
	base := func(with func(*Config)) Config {
		c := Config{DataDir: "/tmp/x", Listen: "0.0.0.0:4222", ListenUser: "aftershock", ListenPasswordFile: "p"}
		with(&c)
		return c
	}
	ci := ListenUser{User: "ci", PasswordFile: "ci", Publish: []string{"releases.>"}}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"ok", base(func(c *Config) {
			c.ListenUsers = []ListenUser{ci, {User: "app", PasswordFile: "a", Publish: []string{"push.metrics.shop"}, Subscribe: []string{"_INBOX.>"}}}
		}), ""},
		{"without the full user", base(func(c *Config) {
			c.ListenUser, c.ListenPasswordFile, c.ListenTokenFile = "", "", "t"
			c.ListenUsers = []ListenUser{ci}
		}), "nats.listen_users: needs nats.listen_user"},
		{"no user name", base(func(c *Config) { c.ListenUsers = []ListenUser{{PasswordFile: "x", Publish: []string{"a"}}} }), "nats.listen_users[0].user: required"},
		{"no password", base(func(c *Config) { c.ListenUsers = []ListenUser{{User: "x", Publish: []string{"a"}}} }), "nats.listen_users[0].password_file: required"},
		{"twice", base(func(c *Config) { c.ListenUsers = []ListenUser{ci, ci} }), "nats.listen_users[1].user: \"ci\" named twice"},
		{"the full user again", base(func(c *Config) {
			c.ListenUsers = []ListenUser{{User: "aftershock", PasswordFile: "x", Publish: []string{"a"}}}
		}), "named twice"},
		{"no subjects", base(func(c *Config) { c.ListenUsers = []ListenUser{{User: "x", PasswordFile: "x"}} }), "could do nothing"},
		{"bad subject", base(func(c *Config) {
			c.ListenUsers = []ListenUser{{User: "x", PasswordFile: "x", Publish: []string{"releases.>.x"}}}
		}), "nats.listen_users[0].publish[0]"},
		{"bad wildcard", base(func(c *Config) {
			c.ListenUsers = []ListenUser{{User: "x", PasswordFile: "x", Subscribe: []string{"verdicts.a*"}}}
		}), "nats.listen_users[0].subscribe[0]"},
		{"without listen", base(func(c *Config) {
			c.Listen, c.ListenUser, c.ListenPasswordFile = "", "", ""
			c.ListenUsers = []ListenUser{ci}
		}), "nats.listen_users: set, but nats.listen is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantValidate(t, tc.cfg, tc.want) })
	}
}

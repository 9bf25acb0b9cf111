package irc

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/notifiertest"
	"github.com/aftershock/aftershock/signals"
)

const testChannel = "#releases"

func newClock() *notifiertest.Clock {
	return notifiertest.NewClock(time.Date(2026, 11, 24, 9, 31, 0, 0, time.UTC))
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newNotifier(t *testing.T, cfg Config, now func() time.Time) *Notifier {
	t.Helper()
	if cfg.Nick == "" {
		cfg.Nick = "aftershock"
	}
	if cfg.Channel == "" {
		cfg.Channel = testChannel
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	n, err := New(cfg, now, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// notice is the sample halt for release.
func notice(release string) deploy.Notice {
	n := notifiertest.Sample()
	n.Verdict.Release = release
	n.Key = "halt:" + release + ":H2"
	return n
}

func mustNotify(t *testing.T, n *Notifier, nt deploy.Notice) {
	t.Helper()
	if retry, err := n.Notify(context.Background(), nt); err != nil || retry {
		t.Fatalf("Notify: retry=%v err=%v", retry, err)
	}
}

// text is a received PRIVMSG's text.
func text(t *testing.T, line string) string {
	t.Helper()
	m, ok := parseMessage(line)
	if !ok || m.Command != "PRIVMSG" || len(m.Params) != 2 {
		t.Fatalf("not a PRIVMSG: %q", line)
	}
	return m.Params[1]
}

func TestNotify(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "watcher", testChannel, "")
	clk := newClock()
	n := newNotifier(t, Config{Server: srv.addr}, clk.Now)

	mustNotify(t, n, notifiertest.Sample())
	got := text(t, w.privmsgs("aftershock", 1)[0])
	if want := Text(notifiertest.Sample()); got != want {
		t.Errorf("channel got\n%q\nwant\n%q", got, want)
	}
	if !strings.HasPrefix(got, "shop-4.2.0 ring H2: 🛑 FAIL 38/100 → halting — ") {
		t.Errorf("line does not start with the release and headline: %q", got)
	}
	for _, want := range []string{"error_rate 3.1% vs 0.4% expected", "keywords: checkout, payment", "https://mastodon.social/@a/109", "dashboard: https://grafana.example/"} {
		if !strings.Contains(got, want) {
			t.Errorf("line lacks %q: %q", want, got)
		}
	}

	// The connection is reused.
	first := n.conn
	clk.Add(time.Second)
	mustNotify(t, n, notice("shop-4.2.1"))
	if got := text(t, w.privmsgs("aftershock", 1)[0]); !strings.HasPrefix(got, "shop-4.2.1 ring H2: ") {
		t.Errorf("second notice: %q", got)
	}
	if n.conn != first {
		t.Errorf("second notice opened a new connection")
	}

	// Close says QUIT and stops the reader.
	if err := n.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	w.waitFor(func(m message) bool { return m.Command == "QUIT" && m.nick() == "aftershock" })
	select {
	case <-first.done:
	case <-time.After(time.Second):
		t.Errorf("reader still running after Close")
	}
	clk.Add(time.Minute)
	if retry, err := n.Notify(context.Background(), notifiertest.Sample()); !errors.Is(err, ErrClosed) || retry {
		t.Errorf("Notify after Close: retry=%v err=%v, want ErrClosed", retry, err)
	}
}

func TestFloodControl(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "watcher", testChannel, "")
	clk := newClock()
	n := newNotifier(t, Config{Server: srv.addr}, clk.Now)

	mustNotify(t, n, notice("shop-1"))
	clk.Add(300 * time.Millisecond)
	retry, err := n.Notify(context.Background(), notice("shop-2"))
	if !retry || !errors.Is(err, ErrTooSoon) {
		t.Fatalf("second notice 300ms later: retry=%v err=%v, want ErrTooSoon", retry, err)
	}
	if d, ok := deploy.RetryAfter(err); !ok || d != 700*time.Millisecond {
		t.Errorf("RetryAfter = %s, %v; want 700ms", d, ok)
	}
	clk.Add(700 * time.Millisecond)
	long := notice("shop-3")
	long.Verdict.Reasons = []string{strings.Repeat("very long reason ", 60)}
	mustNotify(t, n, long)
	lines := w.privmsgs("aftershock", 1+MaxLines)
	if !strings.HasPrefix(text(t, lines[0]), "shop-1 ") || !strings.HasPrefix(text(t, lines[1]), "shop-3 ") {
		t.Errorf("got %q", lines)
	}
	// A notice of k lines holds the next one for k seconds.
	_, err = n.Notify(context.Background(), notice("shop-4"))
	if d, _ := deploy.RetryAfter(err); d != MaxLines*LineInterval {
		t.Errorf("after a %d-line notice: RetryAfter = %s (err %v), want %s", MaxLines, d, err, MaxLines*LineInterval)
	}
	w.quiet("aftershock", 200*time.Millisecond, false)
}

// TestInjection: a post's text cannot smuggle IRC commands or CTCP.
func TestInjection(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "watcher", testChannel, "")
	clk := newClock()
	n := newNotifier(t, Config{Server: srv.addr}, clk.Now)

	evil := notifiertest.Sample()
	evil.Verdict.Examples = []signals.Example{{
		Source: "x", URL: "https://x.com/a/1\r\nQUIT :url",
		Text: "hi\r\nQUIT :bye\r\nJOIN #other\nPRIVMSG " + testChannel + " :\x01ACTION pwned\x01\x00\x03" + "4red\u2028end",
	}}
	evil.Verdict.Reasons = []string{"reason\rKICK " + testChannel + " watcher"}
	evil.Verdict.Release = "shop\r\nNICK evil"
	mustNotify(t, n, evil)
	got := text(t, w.privmsgs("aftershock", 1)[0])
	if strings.ContainsAny(got, "\x00\x01\x03\r\n\u2028") {
		t.Errorf("control characters reached the channel: %q", got)
	}
	for _, want := range []string{"shop NICK evil ring H2", "hi QUIT :bye JOIN #other PRIVMSG #releases : ACTION pwned 4red end", "reason KICK #releases watcher"} {
		if !strings.Contains(got, want) {
			t.Errorf("line lacks %q (inline, as text): %q", want, got)
		}
	}
	// Still registered under the same nick, in the channel, connected.
	w.quiet("aftershock", 200*time.Millisecond, true)
	clk.Add(time.Minute)
	first := n.conn
	mustNotify(t, n, notifiertest.Sample())
	w.privmsgs("aftershock", 1)
	if n.conn != first {
		t.Errorf("the connection was replaced")
	}
}

func TestLongMessage(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "watcher", testChannel, "")
	clk := newClock()
	// A long nick and channel leave the least room.
	channel := "#" + strings.Repeat("r", 49)
	w2 := watch(t, srv.addr, "", "watcher2", channel, "")
	for i, tc := range []struct {
		nick, channel string
		w             *watcher
	}{{"aftershock", testChannel, w}, {"aftershock-notifier-abcdefghi", channel, w2}} {
		n := newNotifier(t, Config{Server: srv.addr, Nick: tc.nick, Channel: tc.channel}, clk.Now)
		nt := notice("shop-4.2.0")
		nt.Verdict.Reasons = []string{strings.Repeat("Überprüfung fehlgeschlagen 🔥 ", 20), strings.Repeat("日本語のエラー", 30)}
		full := Text(nt)
		mustNotify(t, n, nt)
		clk.Add(time.Minute)
		lines := tc.w.privmsgs(tc.nick, 3)
		var joined []string
		for j, raw := range lines {
			if len(raw)+2 > 512 {
				t.Errorf("case %d line %d: %d bytes with CR LF as relayed, over 512", i, j, len(raw)+2)
			}
			txt := text(t, raw)
			if !utf8.ValidString(txt) {
				t.Errorf("case %d line %d: invalid UTF-8 %q", i, j, txt)
			}
			if !strings.HasPrefix(txt, "shop-4.2.0 ") {
				t.Errorf("case %d line %d does not start with the release id: %q", i, j, txt)
			}
			if j > 0 {
				txt = strings.TrimPrefix(txt, "shop-4.2.0 ↳ ")
			}
			joined = append(joined, txt)
		}
		// Nothing lost at the cuts: the lines put together (cut at spaces
		// or inside words) are the start of the full text.
		got := strings.ReplaceAll(strings.Join(joined, ""), " ", "")
		got = strings.TrimSuffix(got, "…")
		if !strings.HasPrefix(strings.ReplaceAll(full, " ", ""), got) || len(got) < 2*300 {
			t.Errorf("case %d: lines do not rebuild the text:\n%q\nfrom\n%q", i, joined, full)
		}
	}
}

func TestReconnect(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "watcher", testChannel, "")
	clk := newClock()
	n := newNotifier(t, Config{Server: srv.addr, Timeout: 2 * time.Second}, clk.Now)
	mustNotify(t, n, notice("shop-1"))
	w.privmsgs("aftershock", 1)

	srv.stop(t)
	clk.Add(time.Minute)
	retry, err := n.Notify(context.Background(), notice("shop-2"))
	if err == nil || !retry || errors.Is(err, ErrRejected) {
		t.Fatalf("server down: retry=%v err=%v, want a retryable error", retry, err)
	}

	srv.start(t)
	w2 := watch(t, srv.addr, "", "watcher", testChannel, "")
	clk.Add(time.Minute)
	mustNotify(t, n, notice("shop-3"))
	if got := text(t, w2.privmsgs("aftershock", 1)[0]); !strings.HasPrefix(got, "shop-3 ") {
		t.Errorf("after restart: %q", got)
	}

	// A restart while connected: the reader sees the drop, and the next
	// Notify reconnects at once.
	srv.restart(t)
	w3 := watch(t, srv.addr, "", "watcher", testChannel, "")
	clk.Add(time.Minute)
	mustNotify(t, n, notice("shop-4"))
	if got := text(t, w3.privmsgs("aftershock", 1)[0]); !strings.HasPrefix(got, "shop-4 ") {
		t.Errorf("after second restart: %q", got)
	}
}

// TestKicked: a kick closes the connection; the next notice joins again.
func TestKicked(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "watcher", testChannel, "") // first in: channel operator
	clk := newClock()
	n := newNotifier(t, Config{Server: srv.addr}, clk.Now)
	mustNotify(t, n, notice("shop-1"))
	w.privmsgs("aftershock", 1)
	first := n.conn
	w.send("KICK " + testChannel + " aftershock :quiet please")
	select {
	case <-first.done:
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open after the kick")
	}
	clk.Add(time.Minute)
	mustNotify(t, n, notice("shop-2"))
	if got := text(t, w.privmsgs("aftershock", 1)[0]); !strings.HasPrefix(got, "shop-2 ") {
		t.Errorf("after kick: %q", got)
	}
}

func TestPassword(t *testing.T) {
	const right, wrong = "right-horse-battery", "wrong-horse-staple"
	srv := startIRCd(t, ircdOptions{password: right})
	w := watch(t, srv.addr, right, "watcher", testChannel, "")
	tests := []struct {
		name     string
		password string
	}{{"wrong", wrong}, {"missing", ""}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNotifier(t, Config{Server: srv.addr, Password: tc.password}, newClock().Now)
			retry, err := n.Notify(context.Background(), notifiertest.Sample())
			if err == nil || retry || !errors.Is(err, ErrRejected) {
				t.Fatalf("retry=%v err=%v, want ErrRejected and no retry", retry, err)
			}
			if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), right) {
				t.Errorf("error contains a password: %v", err)
			}
		})
	}
	n := newNotifier(t, Config{Server: srv.addr, Password: right}, newClock().Now)
	mustNotify(t, n, notifiertest.Sample())
	w.privmsgs("aftershock", 1)
}

func TestChannelKey(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "watcher", keyedChannel, keyedKey)
	n := newNotifier(t, Config{Server: srv.addr, Nick: "bad", Channel: keyedChannel, ChannelKey: "not-the-key"}, newClock().Now)
	retry, err := n.Notify(context.Background(), notifiertest.Sample())
	if err == nil || retry || !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "475") {
		t.Fatalf("wrong key: retry=%v err=%v, want ErrRejected (475) and no retry", retry, err)
	}
	if strings.Contains(err.Error(), "not-the-key") {
		t.Errorf("error contains the key: %v", err)
	}
	n = newNotifier(t, Config{Server: srv.addr, Channel: keyedChannel, ChannelKey: keyedKey}, newClock().Now)
	mustNotify(t, n, notifiertest.Sample())
	w.privmsgs("aftershock", 1)
}

func TestNickInUse(t *testing.T) {
	srv := startIRCd(t, ircdOptions{})
	w := watch(t, srv.addr, "", "aftershock", testChannel, "")
	watch(t, srv.addr, "", "aftershock_", testChannel, "")
	n := newNotifier(t, Config{Server: srv.addr}, newClock().Now)
	mustNotify(t, n, notifiertest.Sample())
	w.privmsgs("aftershock__", 1)
}

func TestTLS(t *testing.T) {
	srv := startIRCd(t, ircdOptions{tls: true})
	w := watch(t, srv.addr, "", "watcher", testChannel, "")

	untrusted := newNotifier(t, Config{Server: srv.tlsAddr, TLS: true, Nick: "untrusted"}, newClock().Now)
	if _, err := untrusted.Notify(context.Background(), notifiertest.Sample()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("self-signed certificate accepted without trust: %v", err)
	}

	n := newNotifier(t, Config{Server: srv.tlsAddr, TLS: true}, newClock().Now)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.certPEM)
	n.tlsConfig.RootCAs = pool
	mustNotify(t, n, notifiertest.Sample())
	if got := text(t, w.privmsgs("aftershock", 1)[0]); got != Text(notifiertest.Sample()) {
		t.Errorf("over TLS got %q", got)
	}
}

// TestSilentServer: a server that accepts and never answers ends the
// attempt at the timeout or when the context ends.
func TestSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})

	t.Run("context", func(t *testing.T) {
		n := newNotifier(t, Config{Server: l.Addr().String(), Timeout: time.Minute}, newClock().Now)
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		retry, err := n.Notify(ctx, notifiertest.Sample())
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %s after the context ended", took)
		}
		if err == nil || !retry || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("retry=%v err=%v, want a retryable deadline error", retry, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		n := newNotifier(t, Config{Server: l.Addr().String(), Timeout: 150 * time.Millisecond}, newClock().Now)
		start := time.Now()
		retry, err := n.Notify(context.Background(), notifiertest.Sample())
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %s with a 150ms timeout", took)
		}
		if err == nil || !retry {
			t.Errorf("retry=%v err=%v, want a retryable error", retry, err)
		}
	})
}

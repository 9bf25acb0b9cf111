// Package irc posts verdicts to an IRC channel: a minimal client (RFC 1459
// and 2812 basics: PASS, NICK, USER, JOIN with key, PRIVMSG, PING/PONG,
// QUIT) over TCP or TLS.
//
// One connection is kept open and reused. If it drops, the next Notify
// connects again; the only goroutine is the connection's reader, stopped by
// Close. Each notice is one line (split in up to MaxLines lines when
// longer than an IRC line allows), starting with the release id so the
// channel reads as one line of history per release. After sending, Notify
// PINGs the server and waits for the PONG: the server handles a client's
// lines in order, so the PONG means the lines were accepted, and an error
// reply in between (cannot send to channel) fails the attempt.
//
// Flood control: after a notice of k lines, the next Notify within k
// seconds is refused with a retryable *deploy.RetryAfterError; the delivery
// stage waits and calls again. The notifier never sleeps.
package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/slack"
)

// LineInterval is the flood-control allowance: one line per second per
// connection, on average.
const LineInterval = time.Second

// Errors callers can branch on with errors.Is.
var (
	// ErrTooSoon is wrapped in the *deploy.RetryAfterError returned when
	// Notify is called before the flood-control interval has passed.
	ErrTooSoon = errors.New("irc: flood control: too soon after the last notice")
	// ErrClosed is returned by Notify after Close.
	ErrClosed = errors.New("irc: notifier closed")
	// ErrRejected wraps a refusal a retry cannot fix: a wrong server
	// password, a ban, an invalid nickname, a wrong channel key, an
	// invite-only channel.
	ErrRejected = errors.New("rejected")
)

// Notifier sends notices to one IRC channel over one connection. It
// implements deploy.Notifier; calls are serialised. Call Close when done.
type Notifier struct {
	cfg       Config
	tlsConfig *tls.Config // nil without TLS
	budget    int         // bytes of text per PRIVMSG
	now       func() time.Time
	log       *slog.Logger
	redact    []string

	mu     sync.Mutex
	conn   *conn
	closed bool
	next   time.Time // flood control: no line before this
	seq    int       // PING tokens
}

var _ deploy.Notifier = (*Notifier)(nil)

// New validates cfg and builds a notifier; it does not connect (the first
// Notify does). now drives flood control.
func New(cfg Config, now func() time.Time, log *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("irc config: %w", err)
	}
	n := &Notifier{cfg: cfg, now: now, log: log.With("server", cfg.Server, "channel", cfg.Channel)}
	if cfg.TLS {
		host, _, _ := net.SplitHostPort(cfg.Server)
		n.tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	// What the server relays to the channel members must fit in 512 bytes:
	// ":<nick>!<user>@<host> PRIVMSG <channel> :<text>\r\n". The user name
	// may gain a "~" and the host is unknown, so allow the longest
	// (63 bytes); nick may gain up to three "_".
	n.budget = 510 - len(":"+cfg.Nick+"___"+"!~"+userName(cfg.Nick)+"@") - 63 - len(" PRIVMSG "+cfg.Channel+" :")
	for _, s := range []string{cfg.Password, cfg.ChannelKey} {
		if len(s) >= 3 {
			n.redact = append(n.redact, s)
		}
	}
	return n, nil
}

// userName is the USER name: the nick, cut to the 10 bytes servers keep.
func userName(nick string) string {
	if len(nick) > 10 {
		return nick[:10]
	}
	return nick
}

// Notify sends one notice as up to MaxLines PRIVMSG lines and waits until
// the server has handled them. It reports retry=true for connection
// failures, timeouts, error replies to the message and flood control
// (wrapped in *deploy.RetryAfterError), retry=false for ErrRejected (wrong
// password, ban, wrong channel key …) and ErrClosed.
func (n *Notifier) Notify(ctx context.Context, notice deploy.Notice) (retry bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false, ErrClosed
	}
	now := n.now()
	if wait := n.next.Sub(now); wait > 0 {
		return true, &deploy.RetryAfterError{After: wait, Err: ErrTooSoon}
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()

	if n.conn != nil && !n.conn.alive() {
		n.log.Info("irc connection lost, reconnecting", "err", n.conn.closedErr())
		n.conn.close()
		n.conn = nil
	}
	if n.conn == nil {
		c, err := n.connect(ctx)
		if err != nil {
			return !errors.Is(err, ErrRejected), fmt.Errorf("connecting to %s: %w", n.cfg.Server, err)
		}
		n.conn = c
	}

	c := n.conn
	c.drain()
	lines := Lines(slack.ReleaseID(notice.Verdict), Text(notice), n.budget)
	n.seq++
	token := "aftershock-" + strconv.Itoa(n.seq)
	out := make([]string, 0, len(lines)+1)
	for _, l := range lines {
		out = append(out, "PRIVMSG "+n.cfg.Channel+" :"+l)
	}
	out = append(out, "PING :"+token)
	if err := c.sendCtx(ctx, out...); err != nil {
		n.drop()
		return true, fmt.Errorf("sending to %s on %s: %w", n.cfg.Channel, n.cfg.Server, err)
	}
	n.next = now.Add(time.Duration(len(lines)) * LineInterval)
	err = c.await(ctx, func(m message) (bool, error) {
		switch m.Command {
		case "PONG":
			return m.last() == token, nil
		case "ERROR":
			return false, fmt.Errorf("server closed the connection: %s", n.said(m.last()))
		case "401", "403", "404", "407", "412", "413", "414", "442":
			// 404 cannot send to channel: moderated, or we are no longer
			// in it; reconnecting joins again.
			return false, fmt.Errorf("server refused the message: %s %s", m.Command, n.said(strings.Join(m.Params[min(1, len(m.Params)):], " ")))
		}
		return false, nil
	})
	if err != nil {
		n.drop()
		return true, fmt.Errorf("sending to %s on %s: %w", n.cfg.Channel, n.cfg.Server, err)
	}
	return false, nil
}

// connect dials, registers and joins the channel.
func (n *Notifier) connect(ctx context.Context) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", n.cfg.Server)
	if err != nil {
		return nil, err
	}
	if n.tlsConfig != nil {
		tc := tls.Client(nc, n.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}
	c := newConn(nc, n.cfg.Nick)
	if err := n.register(ctx, c); err != nil {
		c.close()
		return nil, err
	}
	n.log.Info("irc connected", "nick", c.getNick())
	return c, nil
}

func (n *Notifier) register(ctx context.Context, c *conn) error {
	var hello []string
	if n.cfg.Password != "" {
		hello = append(hello, "PASS :"+n.cfg.Password)
	}
	hello = append(hello, "NICK "+n.cfg.Nick, "USER "+userName(n.cfg.Nick)+" 0 * :Aftershock release watch")
	if err := c.sendCtx(ctx, hello...); err != nil {
		return err
	}
	tries := 0
	err := c.await(ctx, func(m message) (bool, error) {
		switch m.Command {
		case "001":
			if nick := m.param(0); nick != "" {
				c.setNick(nick)
			}
			return true, nil
		case "433", "436", "437": // nick in use, collision, unavailable
			if tries == 3 {
				return false, fmt.Errorf("nicknames %s to %s___ are all in use", n.cfg.Nick, n.cfg.Nick)
			}
			tries++
			nick := n.cfg.Nick + strings.Repeat("_", tries)
			c.setNick(nick)
			return false, c.sendCtx(ctx, "NICK "+nick)
		case "432":
			return false, fmt.Errorf("%w: server refused nickname %s: %s", ErrRejected, m.param(1), n.said(m.last()))
		case "464":
			return false, fmt.Errorf("%w: wrong server password", ErrRejected)
		case "463", "465":
			return false, fmt.Errorf("%w: %s %s", ErrRejected, m.Command, n.said(m.last()))
		case "ERROR":
			text := n.said(m.last())
			if low := strings.ToLower(text); strings.Contains(low, "password") || strings.Contains(low, "access denied") || strings.Contains(low, "banned") {
				return false, fmt.Errorf("%w: server closed the connection: %s", ErrRejected, text)
			}
			return false, fmt.Errorf("server closed the connection: %s", text)
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("registering: %w", err)
	}

	join := "JOIN " + n.cfg.Channel
	if n.cfg.ChannelKey != "" {
		join += " " + n.cfg.ChannelKey
	}
	if err := c.sendCtx(ctx, join); err != nil {
		return err
	}
	err = c.await(ctx, func(m message) (bool, error) {
		switch m.Command {
		case "JOIN":
			return strings.EqualFold(m.param(0), n.cfg.Channel), nil
		case "403", "473", "474", "475", "476", "477":
			// no such channel, invite only, banned, bad key, bad mask,
			// needs a registered nick
			return false, fmt.Errorf("%w: %s %s", ErrRejected, m.Command, n.said(m.last()))
		case "405", "471", "437":
			// too many channels, full, temporarily unavailable
			return false, fmt.Errorf("%s %s", m.Command, n.said(m.last()))
		case "ERROR":
			return false, fmt.Errorf("server closed the connection: %s", n.said(m.last()))
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("joining %s: %w", n.cfg.Channel, err)
	}
	return nil
}

// drop closes the current connection; the next Notify reconnects.
func (n *Notifier) drop() {
	if n.conn != nil {
		n.conn.close()
		n.conn = nil
	}
}

// said makes text the server sent fit for an error: one line, at most 200
// characters, without the password or channel key (a server may echo them).
func (n *Notifier) said(text string) string {
	// Redact before cutting, so a secret split by the cut can't leave its
	// first part behind.
	text = clean(text)
	for _, s := range n.redact {
		if s != "" {
			text = strings.ReplaceAll(text, s, "<redacted>")
		}
	}
	return cut(text, 200)
}

// Close says QUIT, closes the connection and stops its reader. Notify
// fails with ErrClosed afterwards.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.conn == nil {
		return nil
	}
	var err error
	if c := n.conn; c.alive() {
		err = c.send(time.Now().Add(time.Second), "QUIT :Aftershock shutting down")
		if err == nil {
			// Let the server answer and close, so the QUIT is seen.
			select {
			case <-c.done:
			case <-time.After(time.Second):
			}
		}
	}
	n.drop()
	return err
}

package irc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// message is one parsed server line (RFC 1459 §2.3.1, IRCv3 tags skipped).
type message struct {
	Prefix  string
	Command string
	Params  []string
}

// parseMessage parses a line without its CR LF.
func parseMessage(line string) (message, bool) {
	var m message
	if strings.HasPrefix(line, "@") { // IRCv3 message tags
		_, rest, ok := strings.Cut(line, " ")
		if !ok {
			return m, false
		}
		line = rest
	}
	line = strings.TrimLeft(line, " ")
	if strings.HasPrefix(line, ":") {
		prefix, rest, ok := strings.Cut(line[1:], " ")
		if !ok {
			return m, false
		}
		m.Prefix, line = prefix, rest
	}
	for line != "" {
		line = strings.TrimLeft(line, " ")
		if line == "" {
			break
		}
		if m.Command != "" && line[0] == ':' {
			m.Params = append(m.Params, line[1:])
			break
		}
		word, rest, _ := strings.Cut(line, " ")
		if m.Command == "" {
			m.Command = strings.ToUpper(word)
		} else {
			m.Params = append(m.Params, word)
		}
		line = rest
	}
	return m, m.Command != ""
}

// nick is the nickname part of the prefix.
func (m message) nick() string {
	n, _, _ := strings.Cut(m.Prefix, "!")
	return n
}

// param returns the i-th parameter or "".
func (m message) param(i int) string {
	if i < len(m.Params) {
		return m.Params[i]
	}
	return ""
}

// last returns the trailing parameter, usually the human-readable text.
func (m message) last() string {
	if len(m.Params) == 0 {
		return ""
	}
	return m.Params[len(m.Params)-1]
}

// conn is one registered connection and its reader loop. The reader answers
// PING itself, closes the connection when we are kicked (the next Notify
// reconnects and joins again) and hands the rest of what matters (numerics,
// ERROR, PONG, our own JOIN) to whoever is waiting in await.
type conn struct {
	nc   net.Conn
	in   chan message
	done chan struct{} // closed when the reader has stopped
	err  error         // why the reader stopped; read after done

	wmu sync.Mutex // serialises writes

	mu   sync.Mutex
	nick string // our current nickname
}

// maxLine is the longest server line read (8191 bytes of IRCv3 tags plus
// 512); longer lines are skipped.
const maxLine = 8704

func newConn(nc net.Conn, nick string) *conn {
	c := &conn{nc: nc, in: make(chan message, 128), done: make(chan struct{}), nick: nick}
	go c.read()
	return c
}

func (c *conn) getNick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nick
}

func (c *conn) setNick(n string) {
	c.mu.Lock()
	c.nick = n
	c.mu.Unlock()
}

func (c *conn) read() {
	defer close(c.done)
	r := bufio.NewReaderSize(c.nc, maxLine)
	for {
		raw, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if err != nil {
			c.err = err
			return
		}
		m, ok := parseMessage(string(bytes.TrimRight(raw, "\r\n")))
		if !ok {
			continue
		}
		switch m.Command {
		case "PING":
			_ = c.send(time.Now().Add(10*time.Second), "PONG :"+m.last())
			continue
		case "KICK":
			if strings.EqualFold(m.param(1), c.getNick()) {
				c.err = fmt.Errorf("kicked from %s by %s: %s", m.param(0), m.nick(), clean(cut(m.last(), 200)))
				c.nc.Close()
				return
			}
			continue
		case "JOIN":
			if !strings.EqualFold(m.nick(), c.getNick()) {
				continue
			}
		case "PRIVMSG", "NOTICE", "PART", "QUIT", "NICK", "MODE", "TOPIC", "INVITE":
			continue
		}
		select {
		case c.in <- m:
		default: // nobody is waiting and the buffer is full: chatter, drop it
		}
	}
}

// send writes lines, each ended with CR LF, in one write.
func (c *conn) send(deadline time.Time, lines ...string) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.nc.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := b.WriteTo(c.nc)
	return err
}

// sendCtx is send with the context's deadline.
func (c *conn) sendCtx(ctx context.Context, lines ...string) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	return c.send(deadline, lines...)
}

// await hands server messages to match until it reports done or an error,
// the context ends or the connection drops.
func (c *conn) await(ctx context.Context, match func(message) (bool, error)) error {
	for {
		select {
		case m := <-c.in:
			if done, err := match(m); err != nil || done {
				return err
			}
		case <-c.done:
			// What the server said last (an ERROR, a numeric) explains
			// the drop better than EOF.
			for {
				select {
				case m := <-c.in:
					if done, err := match(m); err != nil || done {
						return err
					}
				default:
					return fmt.Errorf("connection closed: %w", c.closedErr())
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *conn) closedErr() error {
	if c.err == nil {
		return errors.New("closed")
	}
	return c.err
}

// drain drops what arrived while nobody was waiting.
func (c *conn) drain() {
	for {
		select {
		case <-c.in:
		default:
			return
		}
	}
}

// alive reports whether the reader is still running.
func (c *conn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// close closes the connection and waits for the reader to stop.
func (c *conn) close() {
	c.nc.Close()
	<-c.done
}

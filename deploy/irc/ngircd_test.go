package irc

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ircd is a real ngircd started for one test.
type ircd struct {
	bin     string
	conf    string
	addr    string // plain host:port
	tlsAddr string // TLS host:port, when asked for
	certPEM []byte

	mu     sync.Mutex
	log    bytes.Buffer
	cmd    *exec.Cmd
	exited chan struct{}
}

type ircdOptions struct {
	password string
	tls      bool
}

// keyedChannel is predefined with mode +k keyedKey.
const (
	keyedChannel = "#keyed"
	keyedKey     = "sekrit-key"
)

func ngircdBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("ngircd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/ngircd"); err == nil {
		return "/usr/sbin/ngircd"
	}
	msg := "ngircd is not installed: run `make test` (scripts/install-test-deps.sh installs it) or apt-get install ngircd"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startIRCd writes a minimal ngircd.conf into a temporary directory and
// runs `ngircd -n -f <conf>` until the test ends.
func startIRCd(t *testing.T, opt ircdOptions) *ircd {
	t.Helper()
	s := &ircd{bin: ngircdBin(t)}
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	// Started as root, ngircd switches to nobody, which must reach the
	// PID file's directory (t.TempDir makes 0700 directories).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(run, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(run, 0o777); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var conf strings.Builder
	fmt.Fprintf(&conf, "[Global]\nName = irc.test\nInfo = Aftershock test server\nListen = 127.0.0.1\nPorts = %d\n", port)
	fmt.Fprintf(&conf, "PidFile = %s\nMotdPhrase = test server\n", filepath.Join(run, "ngircd.pid"))
	if opt.password != "" {
		fmt.Fprintf(&conf, "Password = %s\n", opt.password)
	}
	if os.Getuid() == 0 {
		conf.WriteString("ServerUID = 65534\nServerGID = 65534\n")
	}
	// MaxPenaltyTime = 0: no command throttling, so tests stay quick.
	conf.WriteString("[Limits]\nMaxConnectionsIP = 0\nMaxNickLength = 30\nMaxPenaltyTime = 0\nPingTimeout = 120\nPongTimeout = 20\n")
	conf.WriteString("[Options]\nPAM = no\nIdent = no\nDNS = no\n")
	if opt.tls {
		tlsPort := freePort(t)
		s.tlsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		s.certPEM = writeCert(t, certFile, keyFile)
		fmt.Fprintf(&conf, "[SSL]\nCertFile = %s\nKeyFile = %s\nPorts = %d\n", certFile, keyFile, tlsPort)
	}
	fmt.Fprintf(&conf, "[Channel]\nName = %s\nModes = +k %s\n", keyedChannel, keyedKey)
	s.conf = filepath.Join(dir, "ngircd.conf")
	if err := os.WriteFile(s.conf, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start(t)
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("ngircd log:\n%s", s.logText())
		}
	})
	return s
}

func (s *ircd) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(s.bin, "-n", "-f", s.conf)
	cmd.Stdout = (*lockedWriter)(s)
	cmd.Stderr = (*lockedWriter)(s)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ngircd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(10 * time.Second)
	for _, addr := range []string{s.addr, s.tlsAddr} {
		for addr != "" {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				t.Fatalf("ngircd exited at start:\n%s", s.logText())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("ngircd does not listen on %s:\n%s", addr, s.logText())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// stop ends the server it started (by its process, never by name).
func (s *ircd) stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

func (s *ircd) restart(t *testing.T) {
	t.Helper()
	s.stop(t)
	s.start(t)
}

func (s *ircd) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

type lockedWriter ircd

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(p)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCert writes a self-signed certificate for 127.0.0.1 and returns it
// as PEM.
func writeCert(t *testing.T, certFile, keyFile string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

// watcher is a second, plain-TCP IRC client sitting in the channel.
type watcher struct {
	t     *testing.T
	nc    net.Conn
	nick  string
	lines chan string // raw lines, CR LF removed
	done  chan struct{}
}

func watch(t *testing.T, addr, password, nick, channel, key string) *watcher {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("watcher: %v", err)
	}
	w := &watcher{t: t, nc: nc, nick: nick, lines: make(chan string, 1024), done: make(chan struct{})}
	go w.read()
	t.Cleanup(w.close)
	if password != "" {
		w.send("PASS :" + password)
	}
	w.send("NICK "+nick, "USER "+nick+" 0 * :test watcher")
	w.waitFor(func(m message) bool { return m.Command == "001" })
	join := "JOIN " + channel
	if key != "" {
		join += " " + key
	}
	w.send(join)
	w.waitFor(func(m message) bool { return m.Command == "366" })
	return w
}

func (w *watcher) read() {
	defer close(w.done)
	r := bufio.NewReader(w.nc)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "PING ") {
			_, _ = fmt.Fprintf(w.nc, "PONG %s\r\n", strings.TrimPrefix(line, "PING "))
			continue
		}
		select {
		case w.lines <- line:
		default: // the test stopped reading
		}
	}
}

func (w *watcher) send(lines ...string) {
	w.t.Helper()
	for _, l := range lines {
		if _, err := fmt.Fprintf(w.nc, "%s\r\n", l); err != nil {
			w.t.Fatalf("watcher send: %v", err)
		}
	}
}

func (w *watcher) close() {
	_, _ = fmt.Fprint(w.nc, "QUIT\r\n")
	w.nc.Close()
	<-w.done
}

// waitFor reads lines until one matches (within 5s) and returns it.
func (w *watcher) waitFor(match func(message) bool) (string, message) {
	w.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case line := <-w.lines:
			if m, ok := parseMessage(line); ok && match(m) {
				return line, m
			}
		case <-timeout:
			w.t.Fatalf("watcher %s: nothing matching within 5s", w.nick)
			return "", message{}
		}
	}
}

// privmsgs collects n PRIVMSG lines from nick, as raw lines.
func (w *watcher) privmsgs(from string, n int) []string {
	w.t.Helper()
	var out []string
	for len(out) < n {
		line, _ := w.waitFor(func(m message) bool { return m.Command == "PRIVMSG" && m.nick() == from })
		out = append(out, line)
	}
	return out
}

// quiet fails if a PRIVMSG (or a QUIT, when quits) from nick arrives within d.
func (w *watcher) quiet(from string, d time.Duration, quits bool) {
	w.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case line := <-w.lines:
			if m, ok := parseMessage(line); ok && m.nick() == from && (m.Command == "PRIVMSG" || (quits && m.Command == "QUIT")) {
				w.t.Errorf("watcher %s: unexpected %q", w.nick, line)
			}
		case <-timeout:
			return
		}
	}
}

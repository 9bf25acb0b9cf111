package irc

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy/notifiertest"
)

func TestParseMessage(t *testing.T) {
	tests := []struct {
		line string
		want message
		ok   bool
	}{
		{":irc.test 001 bot :Welcome to the Internet Relay Network bot!~bot@127.0.0.1", message{"irc.test", "001", []string{"bot", "Welcome to the Internet Relay Network bot!~bot@127.0.0.1"}}, true},
		{"PING :irc.test", message{"", "PING", []string{"irc.test"}}, true},
		{":bot!~bot@h JOIN :#releases", message{"bot!~bot@h", "JOIN", []string{"#releases"}}, true},
		{":irc.test 475 bot #keyed :Cannot join channel (+k) -- Wrong channel key", message{"irc.test", "475", []string{"bot", "#keyed", "Cannot join channel (+k) -- Wrong channel key"}}, true},
		{"@time=2026-11-24T09:30:00.000Z :n!u@h PRIVMSG #c :a :b", message{"n!u@h", "PRIVMSG", []string{"#c", "a :b"}}, true},
		{":irc.test PONG irc.test :aftershock-1", message{"irc.test", "PONG", []string{"irc.test", "aftershock-1"}}, true},
		{"ERROR :Access denied: Bad password?", message{"", "ERROR", []string{"Access denied: Bad password?"}}, true},
		{"privmsg  #c  :x", message{"", "PRIVMSG", []string{"#c", "x"}}, true},
		{":only-prefix", message{}, false},
		{"", message{}, false},
		{"@tags-only", message{}, false},
	}
	for _, tc := range tests {
		got, ok := parseMessage(tc.line)
		if ok != tc.ok || (ok && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("parseMessage(%q) = %#v, %v; want %#v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		budget int
		want   []string
	}{
		{"fits", "r-1 short", 20, []string{"r-1 short"}},
		{"split at space", "r-1 aaaa bbbb cccc dddd eeee", 20, []string{"r-1 aaaa bbbb cccc", "r-1 ↳ dddd eeee"}},
		// é is 2 bytes: 16 bytes hold "r-1 " and 6 of them, 8 after "r-1 ↳ ".
		{"split inside a word, at a character boundary", "r-1 ééééééééééé", 16, []string{"r-1 éééééé", "r-1 ↳ éééé", "r-1 ↳ é"}},
		{"cut after MaxLines", "r-1 " + strings.Repeat("x ", 40), 16, []string{"r-1 x x x x x x", "r-1 ↳ x x x x", "r-1 ↳ x x x x", "r-1 ↳ x x x…"}},
		{"long id: short prefix", "r-1 " + strings.Repeat("y", 20), 8, []string{"r-1 yyyy", "↳ yyyy", "↳ yyyy", "↳ y…"}},
		{"controls removed", "r-1\r\nQUIT\x00 :x", 40, []string{"r-1 QUIT :x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Lines("r-1", tc.text, tc.budget)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Lines = %q, want %q", got, tc.want)
			}
			for _, l := range got {
				if len(l) > tc.budget || !utf8.ValidString(l) {
					t.Errorf("line %q: %d bytes (budget %d), valid UTF-8 %v", l, len(l), tc.budget, utf8.ValidString(l))
				}
			}
		})
	}
	// Any text and budget: within budget, valid, at most MaxLines.
	for budget := 30; budget < 90; budget += 7 {
		text := strings.Repeat("日本 🔥é x", 50)
		for _, l := range Lines("shop-4.2.0", text, budget) {
			if len(l) > budget || !utf8.ValidString(l) || !strings.HasPrefix(l, "shop-4.2.0 ") && !strings.HasPrefix(l, "日本") {
				t.Errorf("budget %d: line %q", budget, l)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	type file struct {
		Notifiers []Config `yaml:"notifiers"`
	}
	read := func(name string) file {
		t.Helper()
		var f file
		notifiertest.ReadYAML(t, filepath.Join("testdata", name), &f)
		return f
	}
	good := read("good.yml")
	for i := range good.Notifiers {
		if err := good.Notifiers[i].ValidateAt("notifiers[" + strconv.Itoa(i) + "].irc"); err != nil {
			t.Errorf("good.yml entry %d: %v", i, err)
		}
	}
	if c := good.Notifiers[0]; c.Timeout != DefaultTimeout || !c.TLS {
		t.Errorf("good.yml entry 0 read as %+v", c)
	}
	bad := read("bad.yml")
	want := [][]string{
		{"notifiers[0].irc.server: required", "notifiers[0].irc.nick: \"1bot\" is not a valid nickname", "notifiers[0].irc.channel: \"releases\" is not a channel name", "notifiers[0].irc.timeout: -1s"},
		{"notifiers[1].irc.server: \"irc.example.com\" is not host:port", "notifiers[1].irc.nick: \"has space\"", "notifiers[1].irc.channel: \"#a,#b\"", "notifiers[1].irc.channel_key: at most 23"},
		{"notifiers[2].irc.server: port \"99999\"", "notifiers[2].irc.password: contains a line break", "notifiers[2].irc.timeout: 10m0s"},
	}
	for i := range bad.Notifiers {
		err := bad.Notifiers[i].ValidateAt("notifiers[" + strconv.Itoa(i) + "].irc")
		if err == nil {
			t.Errorf("bad.yml entry %d: no error", i)
			continue
		}
		for _, w := range want[i] {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("bad.yml entry %d: error %q lacks %q", i, err, w)
			}
		}
		if strings.Contains(err.Error(), "key with space") || strings.Contains(err.Error(), "QUIT") {
			t.Errorf("bad.yml entry %d: error shows a secret: %v", i, err)
		}
	}
	t.Run("log value", func(t *testing.T) {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "config", good.Notifiers[1])
		if strings.Contains(buf.String(), "server-pass-123") || strings.Contains(buf.String(), "ops-key") {
			t.Errorf("logged a secret: %s", buf.String())
		}
	})
	t.Run("budget", func(t *testing.T) {
		n, err := New(Config{Server: "h:1", Nick: strings.Repeat("n", 30), Channel: "#" + strings.Repeat("c", 49)}, time.Now, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		// ":" nick(33) "!~" user(10) "@" host(63) " PRIVMSG " channel(50) " :" text "\r\n"
		if relayed := 1 + 33 + 2 + 10 + 1 + 63 + 9 + 50 + 2 + n.budget + 2; relayed != 512 || n.budget < 300 {
			t.Errorf("budget %d: a relayed line would be %d bytes", n.budget, relayed)
		}
	})
}

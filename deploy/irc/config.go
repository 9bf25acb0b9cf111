package irc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/deploy/internal/check"
)

// Config is one `type: irc` entry of the `notifiers` list.
type Config struct {
	// Server is host:port, e.g. irc.libera.chat:6697.
	Server string `yaml:"server"`
	// TLS connects with TLS, checking the server's certificate.
	TLS bool `yaml:"tls"`
	// Nick is the bot's nickname; if it is taken, "_" is appended (up to
	// three times).
	Nick string `yaml:"nick"`
	// Channel is joined and receives the notices, e.g. "#releases".
	Channel string `yaml:"channel"`
	// ChannelKey is the channel's key (mode +k), if it has one.
	ChannelKey string `yaml:"channel_key"`
	// Password is the server password (PASS), if the server wants one. It
	// never appears in errors or logs.
	Password string `yaml:"password"`
	// Timeout bounds one Notify: connecting, registering, joining and
	// sending (default 10s).
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultTimeout bounds one Notify when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

var (
	// RFC 2812 §2.3.1, with the length most servers allow today.
	nickRE    = regexp.MustCompile(`^[A-Za-z\[\]\\` + "`" + `^_{|}][A-Za-z0-9\[\]\\` + "`" + `^_{|}-]{0,29}$`)
	channelRE = regexp.MustCompile(`^[#&+!][^\x00\x07\r\n ,:]{1,49}$`)
	keyRE     = regexp.MustCompile(`^[^\x00\r\n\t\v\f ,]{1,23}$`)
)

// Validate applies defaults and checks the entry; field names in errors are
// relative (`server: …`). Use ValidateAt to name them in the whole file.
func (c *Config) Validate() error { return c.ValidateAt("") }

// ValidateAt is Validate with errors naming fields under path, e.g.
// ValidateAt("notifiers[2].irc") reports `notifiers[2].irc.nick: …`. Errors
// never contain the password or the channel key.
func (c *Config) ValidateAt(path string) error {
	field := func(name string) string { return check.Field(path, name) }
	var errs []error
	if c.Server == "" {
		errs = append(errs, fmt.Errorf("%s: required (host:port)", field("server")))
	} else if host, port, err := net.SplitHostPort(c.Server); err != nil || host == "" || strings.ContainsAny(host, " /\t") {
		errs = append(errs, fmt.Errorf("%s: %q is not host:port", field("server"), c.Server))
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		errs = append(errs, fmt.Errorf("%s: port %q is not a number from 1 to 65535", field("server"), port))
	}
	if c.Nick == "" {
		errs = append(errs, fmt.Errorf("%s: required", field("nick")))
	} else if !nickRE.MatchString(c.Nick) {
		errs = append(errs, fmt.Errorf("%s: %q is not a valid nickname (a letter or one of []\\`^_{|} first, then also digits and '-', at most 30)", field("nick"), c.Nick))
	}
	if c.Channel == "" {
		errs = append(errs, fmt.Errorf("%s: required, e.g. \"#releases\" (quote it in YAML)", field("channel")))
	} else if !channelRE.MatchString(c.Channel) {
		errs = append(errs, fmt.Errorf("%s: %q is not a channel name (#, &, + or ! first, no spaces, commas or colons, at most 50)", field("channel"), c.Channel))
	}
	if c.ChannelKey != "" && !keyRE.MatchString(c.ChannelKey) {
		errs = append(errs, fmt.Errorf("%s: at most 23 characters without spaces, commas or line breaks", field("channel_key")))
	}
	if strings.ContainsAny(c.Password, "\x00\r\n") || len(c.Password) > 256 {
		errs = append(errs, fmt.Errorf("%s: contains a line break or NUL, or is longer than 256 bytes", field("password")))
	}
	if err := check.Timeout(field("timeout"), &c.Timeout, DefaultTimeout); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LogValue keeps the password and channel key out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("server", c.Server),
		slog.Bool("tls", c.TLS),
		slog.String("nick", c.Nick),
		slog.String("channel", c.Channel),
		slog.Bool("channel_key", c.ChannelKey != ""),
		slog.Bool("password", c.Password != ""),
		slog.Duration("timeout", c.Timeout),
	)
}

package slack

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy/httpnotify"
	"github.com/aftershock/aftershock/deploy/internal/check"
)

// Config is one `type: slack` entry of the `notifiers` list.
type Config struct {
	// URL is the incoming webhook URL (Slack, Mattermost, Rocket.Chat). The
	// URL itself is the credential: it never appears in errors or logs, only
	// its scheme and host do.
	URL string `yaml:"url"`
	// Channel overrides the webhook's channel, where the server allows it
	// (Mattermost and Rocket.Chat do; Slack apps ignore it).
	Channel string `yaml:"channel"`
	// Username overrides the poster's display name, where allowed.
	Username string `yaml:"username"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MinInterval is the least time between two posts of this notifier
	// (default 1s, Slack's limit for incoming webhooks). A call that comes
	// sooner is refused with a retryable *deploy.RetryAfterError.
	MinInterval time.Duration `yaml:"min_interval"`
}

// Defaults.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMinInterval = time.Second
)

// Validate applies defaults and checks the entry; field names in errors are
// relative (`url: …`). Use ValidateAt to name them in the whole file.
func (c *Config) Validate() error { return c.ValidateAt("") }

// ValidateAt is Validate with errors naming fields under path, e.g.
// ValidateAt("notifiers[1].slack") reports `notifiers[1].slack.url: …`.
// Errors never contain the URL's path or query.
func (c *Config) ValidateAt(path string) error {
	field := func(name string) string { return check.Field(path, name) }
	var errs []error
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("%s: required (set it from the environment, e.g. ${AFTERSHOCK_SLACK_WEBHOOK})", field("url")))
	} else if !check.HTTPURL(c.URL) {
		errs = append(errs, fmt.Errorf("%s: must be an http(s) URL", field("url")))
	}
	for _, f := range []struct{ name, val string }{{"channel", c.Channel}, {"username", c.Username}} {
		switch {
		case !utf8.ValidString(f.val):
			errs = append(errs, fmt.Errorf("%s: not valid UTF-8", field(f.name)))
		case strings.ContainsFunc(f.val, isControl):
			errs = append(errs, fmt.Errorf("%s: contains a control character", field(f.name)))
		case utf8.RuneCountInString(f.val) > 80:
			errs = append(errs, fmt.Errorf("%s: longer than 80 characters", field(f.name)))
		}
	}
	if err := check.Timeout(field("timeout"), &c.Timeout, DefaultTimeout); err != nil {
		errs = append(errs, err)
	}
	if c.MinInterval == 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.MinInterval < 0 || c.MinInterval > time.Hour {
		errs = append(errs, fmt.Errorf("%s: %s, want more than 0 and at most 1h", field("min_interval"), c.MinInterval))
	}
	return errors.Join(errs...)
}

// LogValue keeps the webhook URL's credential part out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", httpnotify.Target(c.URL)),
		slog.String("channel", c.Channel),
		slog.String("username", c.Username),
		slog.Duration("timeout", c.Timeout),
		slog.Duration("min_interval", c.MinInterval),
	)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

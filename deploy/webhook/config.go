package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/aftershock/aftershock/deploy/httpnotify"
	"github.com/aftershock/aftershock/deploy/internal/check"
)

// Config is one `type: webhook` entry of the `notifiers` list.
type Config struct {
	// URL receives the POST; http or https.
	URL string `yaml:"url"`
	// Secret signs each request. The config loader expands it from
	// ${ENV}; either raw text of at least 16 bytes or a Standard Webhooks
	// secret "whsec_<base64 key>".
	Secret string `yaml:"secret"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Headers are sent with every request (e.g. an Authorization for a
	// gateway in front of the receiver).
	Headers map[string]string `yaml:"headers"`
}

// DefaultTimeout bounds one attempt when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// MinSecretLen is the shortest signing key accepted, in bytes.
const MinSecretLen = 16

// reserved headers are set by the notifier itself.
var reserved = map[string]bool{
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true,
	"idempotency-key": true, "content-type": true, "content-length": true,
	"host": true, "user-agent": true,
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// Validate applies defaults and checks the entry; field names in errors are
// relative (`url: …`). Use ValidateAt to name them in the whole file.
func (c *Config) Validate() error { return c.ValidateAt("") }

// ValidateAt is Validate with errors naming fields under path, e.g.
// ValidateAt("notifiers[0]") reports `notifiers[0].url: …`. Errors never
// contain the secret.
func (c *Config) ValidateAt(path string) error {
	field := func(name string) string { return check.Field(path, name) }
	var errs []error
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("%s: required", field("url")))
	} else if !check.HTTPURL(c.URL) {
		errs = append(errs, fmt.Errorf("%s: must be an http(s) URL", field("url")))
	}
	if c.Secret == "" {
		errs = append(errs, fmt.Errorf("%s: required (set it from the environment, e.g. ${AFTERSHOCK_WEBHOOK_SECRET})", field("secret")))
	} else if _, err := ParseSecret(c.Secret); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", field("secret"), err))
	}
	if err := check.Timeout(field("timeout"), &c.Timeout, DefaultTimeout); err != nil {
		errs = append(errs, err)
	}
	for name, val := range c.Headers {
		switch {
		case !headerNameRE.MatchString(name):
			errs = append(errs, fmt.Errorf("%s: %q is not a valid header name", field("headers"), name))
		case reserved[strings.ToLower(name)]:
			errs = append(errs, fmt.Errorf("%s: %s is set by the notifier and cannot be overridden", field("headers"), name))
		case strings.ContainsAny(val, "\r\n\x00"):
			errs = append(errs, fmt.Errorf("%s.%s: value contains a line break or NUL", field("headers"), name))
		}
	}
	return errors.Join(errs...)
}

// LogValue keeps the secret and header values out of logs.
func (c Config) LogValue() slog.Value {
	names := make([]string, 0, len(c.Headers))
	for name := range c.Headers {
		names = append(names, name)
	}
	return slog.GroupValue(
		slog.String("url", httpnotify.Target(c.URL)),
		slog.String("secret", "<redacted>"),
		slog.Duration("timeout", c.Timeout),
		slog.Any("headers", names),
	)
}

// ParseSecret turns a configured secret into the signing key: the base64
// key of a Standard Webhooks "whsec_…" secret, or the raw bytes of any
// other text. The key must be at least MinSecretLen bytes.
func ParseSecret(s string) ([]byte, error) {
	key := []byte(s)
	if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
		var err error
		key, err = base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, errors.New("whsec_ secret is not valid base64")
		}
	}
	if len(key) < MinSecretLen {
		return nil, fmt.Errorf("shorter than %d bytes", MinSecretLen)
	}
	return key, nil
}

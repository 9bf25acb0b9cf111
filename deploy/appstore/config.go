package appstore

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/aftershock/aftershock/deploy/internal/check"
	"github.com/aftershock/aftershock/deploy/storephase"
	"github.com/golang-jwt/jwt/v5"
)

// Config is one `type: appstore-phased` entry of the `notifiers` list:
//
//	notifiers:
//	  - name: ios-store
//	    type: appstore-phased
//	    on: [halt]
//	    appstore-phased:
//	      issuer_id: 57246542-96fe-1a63-e053-0824d011072a
//	      key_id: 2X9R4HXF34
//	      private_key_file: /etc/aftershock/AuthKey_2X9R4HXF34.p8
//	      apps:
//	        - service: shop-ios
//	          app_id: "1234567890"
type Config struct {
	// IssuerID is the team's issuer id (Users and Access → Integrations).
	IssuerID string `yaml:"issuer_id"`
	// KeyID is the API key's id; it goes in the token's kid header.
	KeyID string `yaml:"key_id"`
	// PrivateKeyFile is the .p8 file Apple issued (PKCS#8, EC P-256).
	PrivateKeyFile string `yaml:"private_key_file"`
	// PrivateKey is the .p8 content itself, for a secret passed by
	// environment (${ASC_PRIVATE_KEY}); use it or PrivateKeyFile.
	PrivateKey string `yaml:"private_key"`
	// Apps maps watched services to App Store apps.
	Apps []App `yaml:"apps"`
	// BaseURL is the API's root (default https://api.appstoreconnect.apple.com).
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one HTTP call (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// DryRun finds the phased release and logs the pause it would send,
	// changing nothing.
	DryRun bool `yaml:"dry_run"`
	// PhaseEvery is how often the rollout's phase is read and reported to
	// the detector as the ring's exposure (default 1h, at least 1s;
	// deploy/storephase).
	PhaseEvery time.Duration `yaml:"phase_every"`
}

// App ties a watched service to an App Store app.
type App struct {
	Service string `yaml:"service"`
	// AppID is the app's Apple ID (digits), as shown in App Information.
	AppID string `yaml:"app_id"`
	// Platform is IOS (default), MAC_OS, TV_OS or VISION_OS.
	Platform string `yaml:"platform"`
}

// Defaults.
const (
	DefaultBaseURL = "https://api.appstoreconnect.apple.com"
	DefaultTimeout = 10 * time.Second
)

var (
	keyIDRe = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	uuidRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	appIDRe = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// Validate applies defaults and checks the entry.
func (c *Config) Validate() error { return c.ValidateAt("") }

// ValidateAt is Validate with errors naming fields under path. It reads
// and parses the private key; errors never contain it.
func (c *Config) ValidateAt(path string) error {
	field := func(name string) string { return check.Field(path, name) }
	var errs []error
	if !uuidRe.MatchString(c.IssuerID) {
		errs = append(errs, fmt.Errorf("%s: want the issuer id, a UUID", field("issuer_id")))
	}
	if !keyIDRe.MatchString(c.KeyID) {
		errs = append(errs, fmt.Errorf("%s: want the 10-character key id", field("key_id")))
	}
	if _, err := c.key(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", field("private_key_file"), err))
	}
	if len(c.Apps) == 0 {
		errs = append(errs, fmt.Errorf("%s: at least one service → app_id is required", field("apps")))
	}
	seen := map[string]bool{}
	for i := range c.Apps {
		a := &c.Apps[i]
		p := fmt.Sprintf("%s[%d]", field("apps"), i)
		if a.Service == "" {
			errs = append(errs, fmt.Errorf("%s.service: required", p))
		} else if seen[a.Service] {
			errs = append(errs, fmt.Errorf("%s.service: %q listed twice", p, a.Service))
		}
		seen[a.Service] = true
		if !appIDRe.MatchString(a.AppID) {
			errs = append(errs, fmt.Errorf("%s.app_id: %q, want the app's numeric Apple ID", p, a.AppID))
		}
		if a.Platform == "" {
			a.Platform = "IOS"
		}
		switch a.Platform {
		case "IOS", "MAC_OS", "TV_OS", "VISION_OS":
		default:
			errs = append(errs, fmt.Errorf("%s.platform: %q, want IOS, MAC_OS, TV_OS or VISION_OS", p, a.Platform))
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if !check.HTTPURL(c.BaseURL) {
		errs = append(errs, fmt.Errorf("%s: must be an http(s) URL", field("base_url")))
	}
	if err := check.Timeout(field("timeout"), &c.Timeout, DefaultTimeout); err != nil {
		errs = append(errs, err)
	}
	if c.PhaseEvery == 0 {
		c.PhaseEvery = storephase.DefaultEvery
	}
	if c.PhaseEvery < time.Second {
		errs = append(errs, fmt.Errorf("%s: %s, want at least 1s", field("phase_every"), c.PhaseEvery))
	}
	return errors.Join(errs...)
}

// key loads the signing key from PrivateKey or PrivateKeyFile.
func (c *Config) key() (*ecdsa.PrivateKey, error) {
	pem, err := check.Secret(c.PrivateKeyFile, c.PrivateKey, "private_key_file", "private_key",
		"the .p8 key from App Store Connect, or private_key from the environment")
	if err != nil {
		return nil, err
	}
	k, err := jwt.ParseECPrivateKeyFromPEM(pem)
	if err != nil {
		// The parser's error never quotes the key.
		return nil, fmt.Errorf("not a PKCS#8 EC private key (.p8): %w", err)
	}
	if k.Curve.Params().Name != "P-256" {
		return nil, fmt.Errorf("key is on %s, App Store Connect keys are P-256", k.Curve.Params().Name)
	}
	return k, nil
}

// LogValue keeps the key out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("issuer_id", c.IssuerID),
		slog.String("key_id", c.KeyID),
		slog.String("private_key_file", c.PrivateKeyFile),
		slog.Int("apps", len(c.Apps)),
		slog.String("base_url", c.BaseURL),
		slog.Bool("dry_run", c.DryRun),
		slog.Duration("phase_every", c.PhaseEvery),
	)
}

package play

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/aftershock/aftershock/deploy/internal/check"
	"github.com/aftershock/aftershock/deploy/storephase"
)

// Config is one `type: play-rollout` entry of the `notifiers` list:
//
//	notifiers:
//	  - name: android-store
//	    type: play-rollout
//	    on: [halt]
//	    play-rollout:
//	      service_account_file: /etc/aftershock/play-service-account.json
//	      apps:
//	        - service: shop-android
//	          package_name: com.example.shop
//	          track: production
type Config struct {
	// ServiceAccountFile is the service account's JSON key. The account
	// needs the Play Console permission "Release to production, exclude
	// devices, and use Play App Signing" (or the testing-track one) on the
	// apps below.
	ServiceAccountFile string `yaml:"service_account_file"`
	// ServiceAccountJSON is the key's content, for a secret passed by
	// environment (${PLAY_SERVICE_ACCOUNT_JSON}); use it or the file.
	ServiceAccountJSON string `yaml:"service_account_json"`
	// Apps maps watched services to Play apps.
	Apps []App `yaml:"apps"`
	// Endpoint is the API's root (default https://androidpublisher.googleapis.com/).
	Endpoint string `yaml:"endpoint"`
	// Timeout bounds one whole halt (edit, track read and update, commit;
	// default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// DryRun reads the track in an edit, logs the change it would commit
	// and deletes the edit, changing nothing.
	DryRun bool `yaml:"dry_run"`
	// PhaseEvery is how often the rollout's phase is read and reported to
	// the detector as the ring's exposure (default 1h, at least 1s;
	// deploy/storephase).
	PhaseEvery time.Duration `yaml:"phase_every"`
}

// App ties a watched service to a Play app and track.
type App struct {
	Service     string `yaml:"service"`
	PackageName string `yaml:"package_name"`
	// Track is the track whose staged rollout is halted (default production).
	Track string `yaml:"track"`
}

// Defaults.
const (
	DefaultEndpoint = "https://androidpublisher.googleapis.com/"
	DefaultTimeout  = 30 * time.Second
	DefaultTrack    = "production"
)

var (
	packageRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$`)
	trackRe   = regexp.MustCompile(`^[a-zA-Z0-9_:-]{1,100}$`)
)

// Validate applies defaults and checks the entry.
func (c *Config) Validate() error { return c.ValidateAt("") }

// ValidateAt is Validate with errors naming fields under path. It reads
// the service account key; errors never contain it.
func (c *Config) ValidateAt(path string) error {
	field := func(name string) string { return check.Field(path, name) }
	var errs []error
	if _, err := c.credentials(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", field("service_account_file"), err))
	}
	if len(c.Apps) == 0 {
		errs = append(errs, fmt.Errorf("%s: at least one service → package_name is required", field("apps")))
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
		if !packageRe.MatchString(a.PackageName) {
			errs = append(errs, fmt.Errorf("%s.package_name: %q, want an application id like com.example.app", p, a.PackageName))
		}
		if a.Track == "" {
			a.Track = DefaultTrack
		}
		if !trackRe.MatchString(a.Track) {
			errs = append(errs, fmt.Errorf("%s.track: %q is not a track name", p, a.Track))
		}
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if !check.HTTPURL(c.Endpoint) {
		errs = append(errs, fmt.Errorf("%s: must be an http(s) URL", field("endpoint")))
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

// credentials returns the service account JSON after checking its shape.
func (c *Config) credentials() ([]byte, error) {
	data, err := check.Secret(c.ServiceAccountFile, c.ServiceAccountJSON, "service_account_file", "service_account_json",
		"a service account JSON key with access to the apps in Play Console")
	if err != nil {
		return nil, err
	}
	var sa struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
		TokenURI    string `json:"token_uri"`
	}
	if err := json.Unmarshal(data, &sa); err != nil {
		return nil, errors.New("not a JSON service account key")
	}
	switch {
	case sa.Type != "service_account":
		return nil, fmt.Errorf("type %q, want service_account", sa.Type)
	case sa.ClientEmail == "" || sa.PrivateKey == "":
		return nil, errors.New("client_email and private_key are required")
	case sa.TokenURI != "" && !check.HTTPURL(sa.TokenURI):
		return nil, errors.New("token_uri must be an http(s) URL")
	}
	return data, nil
}

// LogValue keeps the key out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("service_account_file", c.ServiceAccountFile),
		slog.Int("apps", len(c.Apps)),
		slog.String("endpoint", c.Endpoint),
		slog.Bool("dry_run", c.DryRun),
		slog.Duration("phase_every", c.PhaseEvery),
	)
}

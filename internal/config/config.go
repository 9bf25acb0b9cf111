package config

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/statsd"
	"github.com/aftershock/aftershock/deploy/appstore"
	"github.com/aftershock/aftershock/deploy/budget"
	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/deploy/dispatch"
	"github.com/aftershock/aftershock/deploy/flags"
	"github.com/aftershock/aftershock/deploy/irc"
	"github.com/aftershock/aftershock/deploy/play"
	"github.com/aftershock/aftershock/deploy/slack"
	"github.com/aftershock/aftershock/deploy/webhook"
	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/httptls"
	"github.com/aftershock/aftershock/internal/inbound"
	"github.com/aftershock/aftershock/internal/sink/influx"
	"github.com/aftershock/aftershock/signals/enrich"
)

// Config is the whole aftershock.yaml.
type Config struct {
	Log       Log             `yaml:"log"`
	HTTP      HTTP            `yaml:"http"`
	NATS      bus.Config      `yaml:"nats"`
	Services  []Service       `yaml:"services"`
	Sources   []crawlers.Spec `yaml:"sources"`
	Detector  detector.Config `yaml:"detector"`
	Influx    *influx.Config  `yaml:"influx"`
	Notifiers []Notifier      `yaml:"notifiers"`
	Delivery  delivery.Config `yaml:"delivery"`
	Budgets   budget.Config   `yaml:"budgets"`
	// StatsD, when present, listens for StatsD/DogStatsD metric lines over UDP.
	StatsD *statsd.Config `yaml:"statsd"`
	// Cluster shares the work between several Aftershock processes on one
	// external NATS: each crawls its share of the sources and judges its
	// share of the services.
	Cluster Cluster `yaml:"cluster"`
	// DashboardURL links verdicts to the release-watch dashboard; "{release}"
	// and "{service}" are replaced.
	DashboardURL string `yaml:"dashboard_url"`
	// Inbound bounds the times of pushed samples and release events.
	Inbound inbound.Config `yaml:"inbound"`
}

// Rules are the checks every inbound item (metric sample, release, release
// event) passes: configured services and rings, times within
// inbound.max_future and inbound.max_past of now.
func (c *Config) Rules(now func() time.Time) *inbound.Rules {
	r := &inbound.Rules{Config: c.Inbound, Now: now}
	for _, s := range c.Services {
		r.Services = append(r.Services, s.Name)
	}
	for _, ring := range c.Detector.Rings {
		r.Rings = append(r.Rings, ring.Name)
	}
	return r
}

// Cluster places this process among its peers. On a shared external NATS
// the processes share sources and services through leases in JetStream
// (package ownership) with failover; members/index is an optional static
// override (no failover).
type Cluster struct {
	Members int `yaml:"members"` // static override: how many processes share the work (default 1 = leases)
	Index   int `yaml:"index"`   // static override: this process, 0 to members-1
	// ID names this process in the lease bucket (default host-pid-start).
	ID string `yaml:"id"`
	// LeaseTTL is how long a silent process keeps its services before the
	// others take them (default 10s).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// Leased reports whether ownership is by leases: no static members/index
// override, and other processes may share the broker (bus.Config.Shared:
// an external NATS, the embedded server exposed on a listener, or the
// embedded server in a cluster of Aftershock processes). A lone process
// that listens only for the nats CLI wins every lease at its first round.
func (c Cluster) Leased(n bus.Config) bool {
	return n.Shared() && c.Members <= 1
}

// Owns reports whether this process handles key (a service or a source
// name): a stable hash of the key picks one member.
func (c Cluster) Owns(key string) bool {
	if c.Members <= 1 {
		return true
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32()%uint32(c.Members)) == c.Index
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// HTTP configures the API, health and metrics port.
type HTTP struct {
	Listen string  `yaml:"listen"`
	Tokens []Token `yaml:"tokens"`
	// InsecureNoAuth lets mutating endpoints run without a token. Only for
	// local experiments; without it a config with no tokens is refused.
	InsecureNoAuth bool `yaml:"insecure_no_auth"`
	// TLS, when set, serves the API over HTTPS; the files are re-read when
	// they change.
	TLS *httptls.Config `yaml:"tls"`
	// AllowPlaintextTokens accepts bearer tokens over plain HTTP on an
	// address other than loopback (a mesh or ingress terminates TLS).
	AllowPlaintextTokens bool `yaml:"allow_plaintext_tokens"`
}

// Token is one API bearer token and what it may do.
type Token struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
	Role  string `yaml:"role"` // deploy-system, sre-admin, read-only
}

// Roles of API tokens.
const (
	RoleDeploySystem = "deploy-system"
	RoleSREAdmin     = "sre-admin"
	RoleReadOnly     = "read-only"
)

// Service is one watched service.
type Service struct {
	Name   string        `yaml:"name"`
	Team   string        `yaml:"team"`
	Enrich enrich.Config `yaml:"enrich"`
}

// Notifier is one configured notifier; Type selects which section applies.
type Notifier struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // webhook, slack, irc, flags, appstore-phased, play-rollout
	// On lists the verdict events the notifier receives: halt, flag_off,
	// review, fail, pass, wait. Default: halt and flag_off for a webhook,
	// every event for chat.
	On      []string        `yaml:"on"`
	Webhook *webhook.Config `yaml:"webhook"`
	Slack   *slack.Config   `yaml:"slack"`
	IRC     *irc.Config     `yaml:"irc"`
	Flags   *flags.Config   `yaml:"flags"`
	// AppStore pauses App Store phased releases (docs/mobile.md).
	AppStore *appstore.Config `yaml:"appstore-phased"`
	// Play halts Google Play staged rollouts (docs/mobile.md).
	Play *play.Config `yaml:"play-rollout"`
}

// Load reads, expands and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := Parse(data, osLookup)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes a config document strictly, expands ${ENV} references with
// lookup and validates every section; all problems are reported together.
func Parse(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing yaml: %w", err)
	}
	if err := OneDocument(data); err != nil {
		return nil, err
	}
	if errs := expandEnv(&doc, "", lookup); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	expanded, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("re-encoding expanded yaml: %w", err)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && err.Error() != "EOF" {
		// name keys and the file's own lines (see decodeErrors)
		var re, orig yaml.Node
		if yaml.Unmarshal(expanded, &re) != nil || yaml.Unmarshal(data, &orig) != nil {
			return nil, fmt.Errorf("decoding config: %w", err)
		}
		return nil, decodeErrors(err, &re, &orig, "")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// OneDocument refuses a file holding a second YAML document after "---":
// yaml.Unmarshal reads the first and would ignore the rest without a word.
// A separator with nothing after it is fine.
func OneDocument(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parsing yaml: %w", err)
		}
		empty := len(d.Content) == 0 || d.Content[0].Kind == yaml.ScalarNode && d.Content[0].Tag == "!!null"
		if i > 0 && !empty {
			return fmt.Errorf("a second YAML document at line %d, after a \"---\": a config file holds one", d.Content[0].Line)
		}
	}
}

// Validate applies defaults and checks every section.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add(fmt.Errorf("log.level: %q, want debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add(fmt.Errorf("log.format: %q, want json or text", c.Log.Format))
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8080"
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		add(fmt.Errorf("http.listen: %q is not host:port", c.HTTP.Listen))
	}
	if len(c.HTTP.Tokens) == 0 && !c.HTTP.InsecureNoAuth {
		add(errors.New("http.tokens: at least one API token is required (or set http.insecure_no_auth: true for local experiments)"))
	}
	for i, t := range c.HTTP.Tokens {
		p := fmt.Sprintf("http.tokens[%d]", i)
		if len(t.Token) < 16 {
			add(fmt.Errorf("%s.token: must be at least 16 characters", p))
		}
		switch t.Role {
		case RoleDeploySystem, RoleSREAdmin, RoleReadOnly:
		default:
			add(fmt.Errorf("%s.role: %q, want deploy-system, sre-admin or read-only", p, t.Role))
		}
	}
	if c.HTTP.TLS != nil {
		add(c.HTTP.TLS.ValidateAt("http.tls"))
	}
	add(httptls.CheckPlaintext(c.HTTP.Listen, c.HTTP.TLS != nil, len(c.HTTP.Tokens) > 0, c.HTTP.AllowPlaintextTokens))
	add(c.NATS.Validate())
	if c.Cluster.Members == 0 {
		c.Cluster.Members = 1
	}
	if c.Cluster.Members < 1 || c.Cluster.Members > 64 {
		add(fmt.Errorf("cluster.members: %d, want 1 to 64", c.Cluster.Members))
	} else if c.Cluster.Index < 0 || c.Cluster.Index >= c.Cluster.Members {
		add(fmt.Errorf("cluster.index: %d, want 0 to %d", c.Cluster.Index, c.Cluster.Members-1))
	}
	if c.Cluster.LeaseTTL != 0 && (c.Cluster.LeaseTTL < time.Second || c.Cluster.LeaseTTL > 5*time.Minute) {
		add(fmt.Errorf("cluster.lease_ttl: %s, want 1s to 5m", c.Cluster.LeaseTTL))
	}
	if c.Cluster.Members > 1 && c.NATS.URL == "" {
		add(errors.New("cluster.members: several processes need a shared external NATS (nats.url)"))
	}
	names := map[string]bool{}
	for i := range c.Services {
		s := &c.Services[i]
		p := fmt.Sprintf("services[%d]", i)
		if !bus.ValidToken(s.Name) {
			add(fmt.Errorf("%s.name: %q must be letters, digits, '-' or '_'", p, s.Name))
		}
		if names[s.Name] {
			add(fmt.Errorf("%s.name: duplicate service %q", p, s.Name))
		}
		names[s.Name] = true
		if err := s.Enrich.Validate(); err != nil {
			add(prefix(p+".enrich", err))
		}
	}
	add(crawlers.ValidateSpecs(c.Sources))
	for i, s := range c.Sources {
		if len(c.Services) > 0 && !names[s.Service] {
			add(fmt.Errorf("sources[%d].service: %q is not one of services[].name", i, s.Service))
		}
	}
	add(c.Detector.Validate("detector"))
	var svc []string
	for _, s := range c.Services {
		svc = append(svc, s.Name)
	}
	add(errors.Join(CheckDetector("detector", c.Detector, svc)...))
	add(errors.Join(CheckCountSources(c.Detector, c.Sources, c.StatsD)...))
	if c.Influx != nil {
		add(c.Influx.Validate())
	}
	kinds := map[string]bool{}
	for i := range c.Notifiers {
		n := &c.Notifiers[i]
		p := fmt.Sprintf("notifiers[%d]", i)
		if !bus.ValidToken(n.Name) {
			add(fmt.Errorf("%s.name: %q must be letters, digits, '-' or '_'", p, n.Name))
		}
		if kinds[n.Name] {
			add(fmt.Errorf("%s.name: duplicate notifier %q", p, n.Name))
		}
		kinds[n.Name] = true
		var section interface{ ValidateAt(string) error }
		switch n.Type {
		case "webhook":
			if n.Webhook != nil {
				section = n.Webhook
			}
			if n.On == nil {
				n.On = []string{dispatch.EventHalt, dispatch.EventFlagOff}
			}
		case "slack":
			if n.Slack != nil {
				section = n.Slack
			}
		case "irc":
			if n.IRC != nil {
				section = n.IRC
			}
		case "flags":
			if n.Flags != nil {
				section = n.Flags
			}
			if n.On == nil {
				n.On = []string{dispatch.EventFlagOff}
			}
		case "appstore-phased", "play-rollout":
			if n.AppStore != nil && n.Type == "appstore-phased" {
				section = n.AppStore
			}
			if n.Play != nil && n.Type == "play-rollout" {
				section = n.Play
			}
			if n.On == nil {
				n.On = []string{dispatch.EventHalt}
			}
		default:
			add(fmt.Errorf("%s.type: unknown notifier type %q (known: webhook, slack, irc, flags, appstore-phased, play-rollout)", p, n.Type))
			continue
		}
		if section == nil {
			add(fmt.Errorf("%s.%s: required for type %s", p, n.Type, n.Type))
		} else {
			add(section.ValidateAt(p + "." + n.Type))
		}
		if n.On == nil {
			n.On = dispatch.Events
		}
		for j, e := range n.On {
			if !slices.Contains(dispatch.Events, e) {
				add(fmt.Errorf("%s.on[%d]: unknown event %q (known: %s)", p, j, e, strings.Join(dispatch.Events, ", ")))
			}
		}
	}
	add(c.Delivery.Validate())
	add(c.Inbound.Validate())
	add(c.Budgets.ValidateAt("budgets"))
	if c.StatsD != nil {
		add(c.StatsD.Validate())
	}
	return errors.Join(errs...)
}

// Service returns the named service's settings.
func (c *Config) Service(name string) (Service, bool) {
	for _, s := range c.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

func prefix(p string, err error) error {
	var out []error
	for _, line := range strings.Split(err.Error(), "\n") {
		out = append(out, fmt.Errorf("%s.%s", p, line))
	}
	return errors.Join(out...)
}

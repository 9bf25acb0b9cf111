package crawlers

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/internal/bus"
)

// Defaults and bounds of a Spec.
const (
	DefaultInterval = time.Minute
	MinInterval     = time.Second
	DefaultTimeout  = 15 * time.Second
)

// DefaultUserAgent names Aftershock to the sites it crawls.
const DefaultUserAgent = "Aftershock/1.0 (release watch crawler; +https://github.com/aftershock/aftershock)"

// Spec configures one source instance: one entry of the `sources` list.
//
//	sources:
//	  - name: shop-status   # unique, letters, digits, - and _
//	    type: feed          # a type known to the Registry
//	    service: shop       # the service the posts are about
//	    interval: 1m        # between polls (default 1m, at least 1s)
//	    timeout: 15s        # per request (default 15s)
//	    silent_after: 1h    # health says silent after this long with nothing read
//	                        # (default 1h, at least 10 intervals)
//	    options: {}         # the source type's own options
type Spec struct {
	Name     string        `yaml:"name"`
	Type     string        `yaml:"type"`
	Service  string        `yaml:"service"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	// SilentAfter is how long a source may read nothing before its health
	// says silent (0: DefaultSilentAfter or SilentIntervals intervals,
	// whichever is longer).
	SilentAfter time.Duration `yaml:"silent_after"`
	// Options is decoded by the source's constructor with DecodeOptions.
	Options yaml.Node `yaml:"options"`
}

// Validate applies defaults and checks the fields every source shares. Error
// messages name the field relative to the spec (`name: required`); Registry.Build
// and ValidateSpecs prefix them with `sources[i].`.
func (s *Spec) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("name: required"))
	} else if !bus.ValidToken(s.Name) {
		errs = append(errs, fmt.Errorf("name: %q must be 1-128 letters, digits, '-' or '_'", s.Name))
	}
	if s.Type == "" {
		errs = append(errs, errors.New("type: required"))
	}
	if s.Service == "" {
		errs = append(errs, errors.New("service: required"))
	} else if !bus.ValidToken(s.Service) {
		errs = append(errs, fmt.Errorf("service: %q must be 1-128 letters, digits, '-' or '_'", s.Service))
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Interval < MinInterval {
		errs = append(errs, fmt.Errorf("interval: %s is shorter than %s", s.Interval, MinInterval))
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s is negative", s.Timeout))
	}
	if s.SilentAfter < 0 {
		errs = append(errs, fmt.Errorf("silent_after: %s is negative", s.SilentAfter))
	}
	return errors.Join(errs...)
}

// DecodeOptions decodes the spec's options into v, refusing unknown fields so
// a typo fails at start instead of being ignored. Absent options leave v as is.
func (s Spec) DecodeOptions(v any) error {
	if s.Options.Kind == 0 {
		return nil
	}
	// yaml.Node.Decode cannot refuse unknown fields; a Decoder can.
	data, err := yaml.Marshal(&s.Options)
	if err != nil {
		return fmt.Errorf("options: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err = dec.Decode(v)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if err != nil {
			return fmt.Errorf("options: %w", err)
		}
		return nil
	}
	// The re-encoded options have their own line numbers; name the field
	// by its path and its line in the configuration instead.
	var errs []error
	for _, msg := range te.Errors {
		if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
			if path, line := findKey(&s.Options, m[1], "options"); path != "" {
				errs = append(errs, fmt.Errorf("%s: unknown option (line %d)", path, line))
				continue
			}
		}
		errs = append(errs, fmt.Errorf("options: %s", msg))
	}
	return errors.Join(errs...)
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type`)

// findKey returns the dotted path and line of the first mapping key named key.
func findKey(n *yaml.Node, key, path string) (string, int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == key {
				return path + "." + key, k.Line
			}
			if p, line := findKey(n.Content[i+1], key, path+"."+k.Value); p != "" {
				return p, line
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if p, line := findKey(c, key, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p, line
			}
		}
	}
	return "", 0
}

// ValidateSpecs validates every spec (applying defaults) and checks that
// names are unique. Messages name the field path (`sources[2].name: ...`).
func ValidateSpecs(specs []Spec) error {
	var errs []error
	seen := make(map[string]int)
	for i := range specs {
		if err := specs[i].Validate(); err != nil {
			errs = append(errs, prefixErrors(fmt.Sprintf("sources[%d].", i), err))
		}
		if name := specs[i].Name; name != "" {
			if j, ok := seen[name]; ok {
				errs = append(errs, fmt.Errorf("sources[%d].name: %q is already used by sources[%d]", i, name, j))
			} else {
				seen[name] = i
			}
		}
	}
	return errors.Join(errs...)
}

// prefixErrors prefixes each error joined in err with prefix.
func prefixErrors(prefix string, err error) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var errs []error
		for _, e := range joined.Unwrap() {
			errs = append(errs, prefixErrors(prefix, e))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// Deps is what a source constructor may use besides its Spec.
type Deps struct {
	// Logger is narrowed to the instance by Registry.Build.
	Logger *slog.Logger
	// UserAgent names Aftershock in requests (default DefaultUserAgent).
	UserAgent string
	// HTTPClient returns a new client with the given per-request timeout
	// (default NewHTTPClient). Tests may route it to a local server.
	HTTPClient func(timeout time.Duration) *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// WithDefaults returns d with empty fields filled in.
func (d Deps) WithDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.UserAgent == "" {
		d.UserAgent = DefaultUserAgent
	}
	if d.HTTPClient == nil {
		d.HTTPClient = NewHTTPClient
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// NewHTTPClient returns a client with its own transport and the given
// overall timeout per request.
func NewHTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = timeout
	return &http.Client{Timeout: timeout, Transport: tr}
}

// silentAfter is the effective SilentAfter.
func (s Spec) silentAfter() time.Duration {
	if s.SilentAfter > 0 {
		return s.SilentAfter
	}
	return max(DefaultSilentAfter, SilentIntervals*s.Interval)
}

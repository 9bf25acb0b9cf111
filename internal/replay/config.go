package replay

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/internal/config"
)

// LoadConfig reads the sections of an aftershock.yaml that a replay uses,
// detector and services (for services[].enrich), strictly, and validates
// them. Other sections are ignored, so the daemon's own config file works
// without its secrets, broker directory or API tokens, and so does a file
// holding only a detector section.
func LoadConfig(path string) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// lookupEnv is the environment ${VAR} is read from.
var lookupEnv = os.LookupEnv

func parseConfig(data []byte) (*config.Config, error) {
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing yaml: %w", err)
	}
	if err := config.OneDocument(data); err != nil {
		return nil, err
	}
	// the file as written, for the errors (an expanded value may be a secret)
	var orig map[string]yaml.Node
	if err := yaml.Unmarshal(data, &orig); err != nil {
		return nil, fmt.Errorf("parsing yaml: %w", err)
	}
	detector, services := doc["detector"], doc["services"]
	detectorOrig, servicesOrig := orig["detector"], orig["services"]
	// ${VAR} as the daemon reads them, in these two sections only: the
	// others (secrets, tokens) need not be set for a replay
	if err := errors.Join(config.ExpandEnv(&detector, "detector", lookupEnv),
		config.ExpandEnv(&services, "services", lookupEnv)); err != nil {
		return nil, err
	}
	cfg := &config.Config{}
	// both sections' keys are checked before anything is validated, and
	// every problem is said at once, named by its key and line
	if err := errors.Join(config.DecodeStrict(&detector, &detectorOrig, "detector", &cfg.Detector),
		config.DecodeStrict(&services, &servicesOrig, "services", &cfg.Services)); err != nil {
		return nil, err
	}
	var errs []error
	errs = append(errs, cfg.Detector.Validate("detector"))
	var svc []string
	for _, s := range cfg.Services {
		svc = append(svc, s.Name)
	}
	errs = append(errs, config.CheckDetector("detector", cfg.Detector, svc)...)
	for i := range cfg.Services {
		s := &cfg.Services[i]
		if err := s.Enrich.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				errs = append(errs, fmt.Errorf("services[%d].enrich.%s", i, line))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

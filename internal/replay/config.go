package replay

import (
	"bytes"
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

func parseConfig(data []byte) (*config.Config, error) {
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing yaml: %w", err)
	}
	var sections struct {
		Detector yaml.Node `yaml:"detector"`
		Services yaml.Node `yaml:"services"`
	}
	sections.Detector, sections.Services = doc["detector"], doc["services"]
	cfg := &config.Config{}
	if err := decodeStrict(&sections.Detector, &cfg.Detector); err != nil {
		return nil, fmt.Errorf("decoding detector: %w", err)
	}
	if err := decodeStrict(&sections.Services, &cfg.Services); err != nil {
		return nil, fmt.Errorf("decoding services: %w", err)
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

// decodeStrict decodes one section, refusing unknown fields so a typo in a
// threshold is an error rather than a silent default.
func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind == 0 {
		return nil
	}
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

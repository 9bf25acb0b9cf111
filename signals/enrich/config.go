package enrich

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Config tunes enrichment for one service. The zero Config is valid and uses
// only the built-in lexicons.
//
//	keywords:            # extra complaint keywords per category
//	  login: ["sso", "magic link"]
//	  payment: ["klarna"]
//	stop_words: ["crash bandicoot"]   # never tokens, never complaint words
//	features:            # feature name -> words or phrases that name it
//	  dark_mode: ["dark mode", "다크모드", "다크 모드"]
//	  checkout: ["checkout", "check out", "결제"]
type Config struct {
	// Keywords adds complaint keywords per category; each one counts as a
	// complaint on its own unless negated. Keys are category names: outage,
	// login, payment, crash, slow, bug, data_loss, update.
	Keywords map[string][]string `yaml:"keywords"`
	// StopWords are words that are dropped from tokens and never count as
	// complaint, feature or sentiment words (for example a product name).
	StopWords []string `yaml:"stop_words"`
	// Features maps a feature name to words or phrases that mention it.
	Features map[string][]string `yaml:"features"`
}

// maxKeywordLen bounds one configured keyword, in bytes.
const maxKeywordLen = 200

// Validate checks the config and names the exact field of each problem.
func (c *Config) Validate() error {
	var errs []error
	for _, cat := range sortedKeys(c.Keywords) {
		if !slices.Contains(categoryNames, cat) {
			errs = append(errs, fmt.Errorf("keywords.%s: unknown category (want one of %s)", cat, strings.Join(categoryNames, ", ")))
			continue
		}
		errs = append(errs, checkWords("keywords."+cat, c.Keywords[cat])...)
	}
	for i, w := range c.StopWords {
		if strings.TrimSpace(w) == "" {
			errs = append(errs, fmt.Errorf("stop_words[%d]: empty stop word", i))
		} else if strings.ContainsAny(strings.TrimSpace(w), " \t") {
			errs = append(errs, fmt.Errorf("stop_words[%d]: %q: one word per stop word", i, w))
		}
	}
	for _, name := range sortedKeys(c.Features) {
		if strings.TrimSpace(name) == "" {
			errs = append(errs, fmt.Errorf("features: empty feature name"))
			continue
		}
		if len(c.Features[name]) == 0 {
			errs = append(errs, fmt.Errorf("features.%s: no keywords", name))
		}
		errs = append(errs, checkWords("features."+name, c.Features[name])...)
	}
	return errors.Join(errs...)
}

func checkWords(path string, words []string) []error {
	var errs []error
	for i, w := range words {
		switch {
		case strings.TrimSpace(w) == "":
			errs = append(errs, fmt.Errorf("%s[%d]: empty keyword", path, i))
		case len(w) > maxKeywordLen:
			errs = append(errs, fmt.Errorf("%s[%d]: keyword longer than %d bytes", path, i, maxKeywordLen))
		}
	}
	return errs
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

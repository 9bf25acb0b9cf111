// Package check holds the config checks the deploy packages share, so a
// field is named, defaulted and bounded the same way in every section.
package check

import (
	"fmt"
	"net/url"
	"os"
	"time"
)

// Field names field name under path: Field("notifiers[0]", "url") is
// "notifiers[0].url"; with an empty path it is just name.
func Field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// MaxTimeout bounds a notifier's per-attempt timeout.
const MaxTimeout = 5 * time.Minute

// Timeout sets a zero *t to def, then checks that it is more than 0 and at
// most MaxTimeout; the error names field.
func Timeout(field string, t *time.Duration, def time.Duration) error {
	if *t == 0 {
		*t = def
	}
	if *t < 0 || *t > MaxTimeout {
		return fmt.Errorf("%s: %s, want more than 0 and at most 5m", field, *t)
	}
	return nil
}

// HTTPURL reports whether raw is an absolute http or https URL with a host.
func HTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Secret returns a secret given either as a file (fileKey) or inline
// (inlineKey, usually from the environment): exactly one of them. missing
// says what to give when neither is set. Errors never contain the secret.
func Secret(file, inline, fileKey, inlineKey, missing string) ([]byte, error) {
	switch {
	case file != "" && inline != "":
		return nil, fmt.Errorf("set %s or %s, not both", fileKey, inlineKey)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", fileKey, err)
		}
		return b, nil
	case inline == "":
		return nil, fmt.Errorf("required (%s)", missing)
	}
	return []byte(inline), nil
}

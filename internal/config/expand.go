// Package config reads Aftershock's YAML configuration: ${ENV} expansion in
// values, strict decoding (unknown keys are errors), and validation of every
// section with errors that name the bad field.
package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${VAR} and ${VAR:-default} in every scalar value of the
// document (after parsing, so a secret full of YAML syntax stays one value).
// An unset variable without a default is an error naming the field. "$$"
// stands for a literal "$".
func expandEnv(n *yaml.Node, path string, lookup func(string) (string, bool)) []error {
	var errs []error
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			errs = append(errs, expandEnv(c, path, lookup)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, expandEnv(n.Content[i+1], join(path, n.Content[i].Value), lookup)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, expandEnv(c, fmt.Sprintf("%s[%d]", path, i), lookup)...)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return nil
		}
		const dollar = "\x00dollar\x00"
		v := strings.ReplaceAll(n.Value, "$$", dollar)
		v = envRef.ReplaceAllStringFunc(v, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if val, ok := lookup(m[1]); ok && val != "" {
				return val
			}
			if m[2] != "" {
				return m[3]
			}
			errs = append(errs, fmt.Errorf("%s: environment variable %s is not set", path, m[1]))
			return ""
		})
		expanded := strings.ReplaceAll(v, dollar, "$")
		changed := expanded != n.Value
		n.Value = expanded
		switch {
		case n.Tag == "!!int" || n.Tag == "!!float" || n.Tag == "!!bool":
			n.Tag = "" // let the decoder re-resolve the expanded text
		case changed && n.Style == 0 && n.Tag == "!!str" && plainNumberOrBool(expanded):
			// An unquoted ${VAR} stands for a value of any type: the text
			// "${X}" made it a string, its value "95" or "true" is a
			// number or a boolean (a string key still takes it as text).
			// Anything else stays a string, so a secret full of YAML
			// syntax, or one reading "null", stays one value.
			n.Tag = ""
		}
	}
	return errs
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// osLookup is the real environment.
func osLookup(k string) (string, bool) { return os.LookupEnv(k) }

// plainNumberOrBool reports whether s, written plain in YAML, is an
// integer, a float or a boolean.
func plainNumberOrBool(s string) bool {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	c := n.Content[0]
	return c.Kind == yaml.ScalarNode && c.Style == 0 && (c.Tag == "!!int" || c.Tag == "!!float" || c.Tag == "!!bool")
}

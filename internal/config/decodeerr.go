package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The config is decoded from the document as re-encoded after ${VAR}
// expansion (the strict decoder, which refuses unknown keys, reads text),
// so yaml's own messages give lines of that re-encoding — blank lines are
// gone from it — and Go types instead of keys. decodeErrors rewrites them
// to name the dotted key and the line of the file the user wrote, and
// shows the value as written (an expanded ${VAR} may be a secret).

var (
	yamlLineMsg   = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknown   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlCannotUnm = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
)

// nodeAt is one node of the re-encoded document, with its place in the
// original one.
type nodeAt struct {
	line     int    // in the re-encoded text
	origLine int    // in the file as written
	path     string // dotted key
	key      bool   // the node is a mapping key (path names it)
	kind     yaml.Kind
	value    string // scalar value, re-encoded (expanded)
	orig     string // scalar value as written
}

// ExpandEnv replaces ${VAR} and ${VAR:-default} in the values of n, the
// node at key path, as Parse does, with lookup (os.LookupEnv for the real
// environment); an unset variable without a default is an error naming its
// key.
func ExpandEnv(n *yaml.Node, path string, lookup func(string) (string, bool)) error {
	return errors.Join(expandEnv(n, path, lookup)...)
}

// DecodeStrict decodes n, the node at key path of a parsed file, into v,
// refusing unknown keys; errors name the dotted keys under path and the
// lines of the file n was parsed from, and show values as orig, the same
// node before ExpandEnv (nil: n). (aftershock replay -c reads two sections
// of the daemon's file this way.)
func DecodeStrict(n, orig *yaml.Node, path string, v any) error {
	if orig == nil {
		orig = n
	}
	if n.Kind == 0 {
		return nil
	}
	data, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Errorf("re-encoding %s: %w", pathOrTop(path), err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var re yaml.Node
		if yaml.Unmarshal(data, &re) != nil {
			return fmt.Errorf("decoding %s: %w", pathOrTop(path), err)
		}
		return decodeErrors(err, &re, orig, path)
	}
	return nil
}

// decodeErrors rewrites a yaml.TypeError from decoding the re-encoded
// document re (parsed from the re-encoding) of orig (parsed from the file,
// before expansion), at key path; any other error is returned wrapped.
func decodeErrors(err error, re, orig *yaml.Node, path string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("decoding %s: %w", pathOrTop(path), err)
	}
	for _, n := range []**yaml.Node{&re, &orig} {
		if (*n).Kind == yaml.DocumentNode && len((*n).Content) == 1 {
			*n = (*n).Content[0]
		}
	}
	var nodes []nodeAt
	indexNodes(re, orig, path, &nodes)
	var errs []error
	for _, msg := range te.Errors {
		errs = append(errs, errors.New(rewriteDecodeError(msg, nodes)))
	}
	return errors.Join(errs...)
}

// indexNodes walks re and orig together (the same shape: re is orig
// expanded, encoded and parsed again).
func indexNodes(re, orig *yaml.Node, path string, out *[]nodeAt) {
	if re == nil || orig == nil || re.Kind != orig.Kind {
		return
	}
	*out = append(*out, nodeAt{line: re.Line, origLine: orig.Line, path: path, kind: re.Kind, value: re.Value, orig: orig.Value})
	switch re.Kind {
	case yaml.DocumentNode:
		if len(re.Content) > 0 && len(orig.Content) > 0 {
			indexNodes(re.Content[0], orig.Content[0], path, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(re.Content) && i+1 < len(orig.Content); i += 2 {
			k, ok := re.Content[i], orig.Content[i]
			p := join(path, k.Value)
			*out = append(*out, nodeAt{line: k.Line, origLine: ok.Line, path: p, key: true, kind: k.Kind, value: k.Value, orig: ok.Value})
			indexNodes(re.Content[i+1], orig.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for i := 0; i < len(re.Content) && i < len(orig.Content); i++ {
			indexNodes(re.Content[i], orig.Content[i], fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func rewriteDecodeError(msg string, nodes []nodeAt) string {
	m := yamlLineMsg.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	// the deepest node on the line that matches (a flow collection puts
	// a key's whole subtree on one line)
	find := func(match func(nodeAt) bool) (nodeAt, bool) {
		for i := len(nodes) - 1; i >= 0; i-- {
			if n := nodes[i]; n.line == line && match(n) {
				return n, true
			}
		}
		return nodeAt{}, false
	}
	if u := yamlUnknown.FindStringSubmatch(rest); u != nil {
		if n, ok := find(func(n nodeAt) bool { return n.key && n.value == u[1] }); ok {
			return fmt.Sprintf("%s: unknown key (line %d)", n.path, n.origLine)
		}
	}
	if c := yamlCannotUnm.FindStringSubmatch(rest); c != nil {
		tag, shown, want := c[1], c[2], describeType(c[3])
		switch tag {
		case "seq", "map":
			kind := map[string]yaml.Kind{"seq": yaml.SequenceNode, "map": yaml.MappingNode}[tag]
			if n, ok := find(func(n nodeAt) bool { return n.kind == kind }); ok {
				what := map[string]string{"seq": "a list", "map": "a mapping"}[tag]
				return fmt.Sprintf("%s: %s where %s was expected (line %d)", pathOrTop(n.path), what, want, n.origLine)
			}
		default:
			if n, ok := find(func(n nodeAt) bool { return !n.key && n.kind == yaml.ScalarNode && sameShown(n.value, shown) }); ok {
				v := "`" + clip(n.orig) + "`"
				if n.orig != n.value {
					v += " (expanded)"
				}
				return fmt.Sprintf("%s: %s is not %s (line %d)", pathOrTop(n.path), v, want, n.origLine)
			}
		}
	}
	// Not understood: yaml's message, at least on the right line.
	if n, ok := find(func(nodeAt) bool { return true }); ok {
		return fmt.Sprintf("line %d: %s", n.origLine, rest)
	}
	return msg
}

// sameShown reports whether yaml's rendering of a value in its message
// (cut to 7 bytes and "..." when longer than 10) is v.
func sameShown(v, shown string) bool {
	if cut, ok := strings.CutSuffix(shown, "..."); ok && len(v) > 10 {
		return strings.HasPrefix(v, cut)
	}
	return v == shown
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:37]) + "..."
	}
	return s
}

func pathOrTop(p string) string {
	if p == "" {
		return "the config"
	}
	return p
}

// describeType says in words what a Go type in a yaml message expects.
func describeType(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case t == "time.Duration":
		return "a duration (e.g. 90s, 30m, 24h)"
	case t == "float64", t == "float32":
		return "a number"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	default:
		return "a mapping"
	}
}

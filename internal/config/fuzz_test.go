package config

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// fuzzEnv is the environment the config fuzz target expands against.
func fuzzEnv(k string) (string, bool) {
	switch k {
	case "TOKEN":
		return "0123456789abcdef-from-env", true
	case "PORT":
		return "9090", true
	case "EMPTY":
		return "", true
	}
	return "", false
}

// FuzzConfigParse feeds arbitrary documents to the config loader. It must
// never panic; a refusal must say something; an accepted config must hold
// every promise Validate makes (validating it again changes nothing, the
// listen address is host:port, tokens are long enough with a known role,
// every notifier has its section) and must survive a round trip through
// YAML unchanged.
func FuzzConfigParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("http: {insecure_no_auth: true}\nnats: {data_dir: d}\n"))
	f.Add([]byte("http: {listen: \"127.0.0.1:${PORT}\", tokens: [{name: a, token: \"${TOKEN}\", role: read-only}]}\nnats: {url: nats://127.0.0.1:4222}\n"))
	f.Add([]byte("http: {insecure_no_auth: true}\nnats: {data_dir: \"$${HOME}/x\"}\nlog: {level: \"${NOPE:-debug}\"}\n"))
	f.Add([]byte("cluster: {members: ${EMPTY:-2}, index: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, fuzzEnv)
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a config and an error: %v", err)
			}
			msg := err.Error()
			if strings.TrimSpace(msg) == "" {
				t.Fatal("Parse refused the document with an empty error")
			}
			return
		}
		checkAccepted(t, cfg)

		// Round trip: what was accepted, written out again, reads back the same.
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshalling an accepted config: %v", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("re-reading marshalled config: %v\n%s", err, out)
		}
		escapeDollars(&doc) // the values are already expanded
		again, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatal(err)
		}
		cfg2, err := Parse(again, fuzzEnv)
		if err != nil {
			t.Fatalf("accepted config refused after a round trip: %v\n%s", err, again)
		}
		// Compared as YAML: an empty list and a missing one are the same setting.
		if out2, _ := yaml.Marshal(cfg2); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the config:\n%s\nbecame\n%s", out, out2)
		}
	})
}

func checkAccepted(t *testing.T, cfg *Config) {
	t.Helper()
	before, _ := yaml.Marshal(cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("accepted config fails Validate again: %v", err)
	}
	if after, _ := yaml.Marshal(cfg); !bytes.Equal(before, after) {
		t.Fatalf("Validate is not idempotent:\n%s\n%s", before, after)
	}
	if _, _, err := net.SplitHostPort(cfg.HTTP.Listen); err != nil {
		t.Fatalf("accepted http.listen %q: %v", cfg.HTTP.Listen, err)
	}
	if len(cfg.HTTP.Tokens) == 0 && !cfg.HTTP.InsecureNoAuth {
		t.Fatal("accepted a config without tokens and without insecure_no_auth")
	}
	for _, tok := range cfg.HTTP.Tokens {
		if len(tok.Token) < 16 {
			t.Fatalf("accepted a token of %d characters", len(tok.Token))
		}
		switch tok.Role {
		case RoleDeploySystem, RoleSREAdmin, RoleReadOnly:
		default:
			t.Fatalf("accepted token role %q", tok.Role)
		}
	}
	if cfg.NATS.URL == "" && cfg.NATS.DataDir == "" {
		t.Fatal("accepted an embedded broker without a data dir")
	}
	if cfg.Cluster.Members < 1 || cfg.Cluster.Index < 0 || cfg.Cluster.Index >= cfg.Cluster.Members {
		t.Fatalf("accepted cluster %+v", cfg.Cluster)
	}
	for _, n := range cfg.Notifiers {
		if !utf8.ValidString(n.Name) || n.Name == "" {
			t.Fatalf("accepted notifier name %q", n.Name)
		}
		var ok bool
		switch n.Type {
		case "webhook":
			ok = n.Webhook != nil
		case "slack":
			ok = n.Slack != nil
		case "irc":
			ok = n.IRC != nil
		case "flags":
			ok = n.Flags != nil
		}
		if !ok {
			t.Fatalf("accepted notifier %q of type %q without its section", n.Name, n.Type)
		}
	}
}

// escapeDollars doubles every "$" in scalar values so that expansion of the
// re-read document yields the same text.
func escapeDollars(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		n.Value = strings.ReplaceAll(n.Value, "$", "$$")
	}
	for _, c := range n.Content {
		escapeDollars(c)
	}
}

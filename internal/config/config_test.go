package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/internal/bus"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var goodEnv = env(map[string]string{
	"AFTERSHOCK_TOKEN":    "token-0123456789abcdef",
	"HALT_WEBHOOK_URL":    "https://deploy.example.com/hooks/halt",
	"HALT_WEBHOOK_SECRET": "secret-0123456789abcdef",
	"INFLUX_TOKEN":        "user:pass",
})

func TestExamplesParse(t *testing.T) {
	for _, f := range []string{"../../examples/aftershock.yaml", "../../examples/aftershock.compose.yaml", "testdata/good.yaml"} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(data, goodEnv)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Detector.Rings) != 3 || cfg.HTTP.Listen == "" || cfg.Delivery.Deadline == 0 {
				t.Errorf("defaults not applied: %+v", cfg)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	data := []byte(`
http: {tokens: [{name: a, token: "${TOK}", role: deploy-system}]}
nats: {data_dir: "${DIR:-/var/lib/aftershock}"}
notifiers:
  - name: hook
    type: webhook
    webhook: {url: "${URL}", secret: "p$$ss-${SECRET}"}
`)
	cfg, err := Parse(data, env(map[string]string{"TOK": "tok: {not yaml} 0123456789", "URL": "https://x.example/h", "SECRET": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.HTTP.Tokens[0].Token; got != "tok: {not yaml} 0123456789" {
		t.Errorf("token %q: a secret full of YAML syntax must stay one value", got)
	}
	if cfg.NATS.DataDir != "/var/lib/aftershock" {
		t.Errorf("default not used: %q", cfg.NATS.DataDir)
	}
	if got := cfg.Notifiers[0].Webhook.Secret; got != "p$ss-0123456789abcdef" {
		t.Errorf("secret %q", got)
	}
}

func TestBadConfigsNameTheField(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"bad-fields.yaml", []string{"log.level", "http.tokens[0].role", "http.tokens[0].token", "detector.rings[0].exposure", "notifiers[0].type: unknown notifier type", "sources[0].service"}},
		{"bad-unknown-key.yaml", []string{"colour: unknown key (line 3)"}},
		{"bad-env.yaml", []string{"http.tokens[0].token: environment variable MISSING_TOKEN is not set"}},
		{"bad-no-auth.yaml", []string{"http.tokens: at least one API token is required"}},
		{"bad-yaml.yaml", []string{"parsing yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, env(nil))
			if err == nil {
				t.Fatal("bad config accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml")); err == nil || !strings.Contains(err.Error(), "reading config") {
		t.Fatalf("err = %v", err)
	}
}

func TestClusterSharesWorkOnce(t *testing.T) {
	members := 3
	for _, key := range []string{"shop", "bank", "search", "mail", "maps", "x-shop", "reddit-shop"} {
		owners := 0
		for i := 0; i < members; i++ {
			if (Cluster{Members: members, Index: i}).Owns(key) {
				owners++
			}
		}
		if owners != 1 {
			t.Errorf("%s is owned by %d of %d members, want exactly 1", key, owners, members)
		}
	}
	if !(Cluster{}).Owns("anything") {
		t.Error("a single process must own everything")
	}
	for _, c := range []struct {
		cl   Cluster
		nats bus.Config
		want bool
	}{
		{Cluster{}, bus.Config{URL: "nats://n:4222"}, true},
		{Cluster{}, bus.Config{}, false},
		{Cluster{Members: 2}, bus.Config{URL: "nats://n:4222"}, false},
		// the embedded server on a listener: others may connect and share the work
		{Cluster{}, bus.Config{Listen: "127.0.0.1:4222"}, true},
		{Cluster{Members: 2}, bus.Config{Listen: "127.0.0.1:4222"}, false},
		// the embedded server as one node of a cluster of Aftershock processes
		{Cluster{}, bus.Config{ClusterListen: "127.0.0.1:6222"}, true},
	} {
		if got := c.cl.Leased(c.nats); got != c.want {
			t.Errorf("%+v on %+v: leased %v, want %v", c.cl, c.nats, got, c.want)
		}
	}
	for _, bad := range []string{
		"cluster: {members: 2, index: 2}\nnats: {url: nats://n:4222}",
		"cluster: {members: 2}\nnats: {data_dir: /tmp/x}",
		"cluster: {lease_ttl: 100ms}\nnats: {url: nats://n:4222}",
	} {
		if _, err := Parse([]byte("http: {insecure_no_auth: true}\n"+bad), env(nil)); err == nil || !strings.Contains(err.Error(), "cluster.") {
			t.Errorf("%q: err = %v, want a cluster.* error", bad, err)
		}
	}
}

// TestNATSListenAuthConfig: the nats listener's keys parse from YAML, paths
// may come from the environment, and a listener reachable from the network
// without authentication is refused with an error naming nats.listen.
func TestNATSListenAuthConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        map[string]string
		want       string // "" means accepted
	}{
		{"loopback, no auth", "nats: {data_dir: d, listen: \"127.0.0.1:4222\"}", nil, ""},
		{"network, no auth", "nats: {data_dir: d, listen: \"0.0.0.0:4222\"}", nil, "nats.listen: \"0.0.0.0:4222\" is reachable from the network without authentication"},
		{"network, user", "nats: {data_dir: d, listen: \":4222\", listen_user: a, listen_password_file: /run/secrets/pw}", nil, ""},
		{"network, token from env path", "nats: {data_dir: d, listen: \":4222\", listen_token_file: \"${CREDENTIALS_DIRECTORY}/tok\"}", map[string]string{"CREDENTIALS_DIRECTORY": "/run/credentials/x"}, ""},
		{"client, token", "nats: {url: \"tls://n:4222\", token_file: /run/secrets/tok, tls_ca: /etc/ca.pem}", nil, ""},
		{"client keys on the embedded server", "nats: {data_dir: d, user: a, password_file: p}", nil, "nats.user: only for connecting to an external server"},
		{"inline password refused", "nats: {data_dir: d, listen: \":4222\", listen_user: a, listen_password: x}", nil, "listen_password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte("http: {insecure_no_auth: true}\n"+tc.yaml), env(tc.env))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted %+v, want an error containing %q", cfg.NATS, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("%v, want it to contain %q", err, tc.want)
			}
			if tc.env != nil && cfg.NATS.ListenTokenFile != "/run/credentials/x/tok" {
				t.Errorf("listen_token_file %q, want the path from the environment", cfg.NATS.ListenTokenFile)
			}
		})
	}
}

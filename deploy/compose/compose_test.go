package compose

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/internal/bus/bustest"
	"github.com/aftershock/aftershock/internal/config"
)

// composeFile is the part of docker-compose.yml this test reads (short
// syntax only: a long-syntax entry fails to decode and so fails the test).
type composeFile struct {
	Services map[string]struct {
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Secrets     []string          `yaml:"secrets"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File        string `yaml:"file"`
		Environment string `yaml:"environment"`
	} `yaml:"secrets"`
}

// The password the test stands in for NATS_PASSWORD: the shape
// `openssl rand -base64 32` prints, which nats-server's env parsing must keep.
const testPassword = "q8Zp+Xw3/Lk0Rr7uV2yBn5Tc1Hs9Dm4Ef6Gj8Ka0Lb4="

// hostVar matches compose's ${VAR}, ${VAR:?msg}, ${VAR:-default}.
var hostVar = regexp.MustCompile(`^\$\{([A-Z_][A-Z0-9_]*)(?::?([?-])(.*))?\}$`)

func arg(t *testing.T, cmd []string, flag string) string {
	t.Helper()
	for i, a := range cmd {
		if a == flag && i+1 < len(cmd) {
			return cmd[i+1]
		}
	}
	t.Fatalf("command %q has no %s", cmd, flag)
	return ""
}

// hostPath maps a path inside a container to the repository file that one
// of the service's bind mounts ("./x:/y[:ro]") puts there.
func hostPath(t *testing.T, volumes []string, inside string) string {
	t.Helper()
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], ".") {
			continue
		}
		src, dst := parts[0], parts[1]
		if inside == dst {
			return filepath.Join("../..", src)
		}
		if rel, ok := strings.CutPrefix(inside, dst+"/"); ok {
			return filepath.Join("../..", src, filepath.FromSlash(rel))
		}
	}
	t.Fatalf("%s is not bind-mounted from the repository (volumes %q)", inside, volumes)
	return ""
}

func TestComposeNATSLogin(t *testing.T) {
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	ns, ok := cf.Services["nats"]
	as, ok2 := cf.Services["aftershock"]
	if !ok || !ok2 {
		t.Fatal("docker-compose.yml needs the services nats and aftershock")
	}

	// No port of any service is published on all interfaces without a
	// host IP when it is NATS's; NATS's ports are bound to loopback.
	for _, p := range ns.Ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("nats publishes %q on every interface of the host; bind it to 127.0.0.1", p)
		}
	}

	// NATS: the configuration file named on the command line, parsed by
	// nats-server itself with the environment compose gives the container.
	for k, v := range ns.Environment {
		m := hostVar.FindStringSubmatch(v)
		if m == nil {
			t.Setenv(k, v)
			continue
		}
		if m[2] != "?" {
			t.Errorf("nats environment %s=%s: a secret must be required (${%s:?...}), not defaulted", k, v, m[1])
		}
		t.Setenv(k, testPassword)
	}
	confPath := hostPath(t, ns.Volumes, arg(t, ns.Command, "--config"))
	opts, err := server.ProcessConfigFile(confPath)
	if err != nil {
		t.Fatalf("%s: %v", confPath, err)
	}
	if opts.Username == "" || opts.Password == "" {
		t.Fatalf("%s: no authorization { user, password }: anyone reaching NATS can publish a pass verdict", confPath)
	}
	if opts.Password != testPassword {
		t.Errorf("%s: password %q, want the one from the environment", confPath, opts.Password)
	}
	if !opts.JetStream || opts.StoreDir == "" {
		t.Errorf("%s: JetStream %v in %q, want JetStream with a store dir", confPath, opts.JetStream, opts.StoreDir)
	}
	// The health check still reaches the monitoring port.
	hc := strings.Join(ns.Healthcheck.Test, " ")
	if opts.HTTPPort == 0 || !strings.Contains(hc, "localhost:"+strconv.Itoa(opts.HTTPPort)+"/healthz") {
		t.Errorf("healthcheck %q does not probe the monitoring port %d's /healthz", hc, opts.HTTPPort)
	}

	// The password reaches Aftershock as a compose secret created from the
	// same host variable that nats.conf's environment requires.
	natsVar := hostVar.FindStringSubmatch(ns.Environment["NATS_PASSWORD"])
	if natsVar == nil {
		t.Fatalf("nats environment NATS_PASSWORD=%q is not taken from the host", ns.Environment["NATS_PASSWORD"])
	}
	if len(as.Secrets) == 0 {
		t.Fatal("aftershock is given no secret to log in to NATS with")
	}
	secretFiles := map[string]bool{}
	for _, s := range as.Secrets {
		top, ok := cf.Secrets[s]
		if !ok {
			t.Errorf("aftershock uses secret %q, not declared under secrets:", s)
			continue
		}
		if top.Environment != natsVar[1] {
			t.Errorf("secret %q comes from %q, NATS's password from %s", s, top.Environment+top.File, natsVar[1])
		}
		secretFiles["/run/secrets/"+s] = true
	}

	// Aftershock: the configuration file in its command, parsed and
	// validated by internal/config with the environment compose gives it.
	env := map[string]string{}
	for k, v := range as.Environment {
		if m := hostVar.FindStringSubmatch(v); m != nil && m[2] == "-" {
			env[k] = m[3]
		} else {
			env[k] = "value-of-" + strings.ToLower(k) + "-0123456789"
		}
	}
	cfgPath := hostPath(t, as.Volumes, arg(t, as.Command, "-c"))
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(raw, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("%s: %v", cfgPath, err)
	}
	if cfg.NATS.User != opts.Username || !secretFiles[cfg.NATS.PasswordFile] {
		t.Fatalf("%s: nats.user %q, nats.password_file %q; want user %q and a file from the secrets %v", cfgPath, cfg.NATS.User, cfg.NATS.PasswordFile, opts.Username, as.Secrets)
	}
	u, err := url.Parse(cfg.NATS.URL)
	if err != nil || u.Hostname() != "nats" || u.Port() != strconv.Itoa(opts.Port) {
		t.Errorf("%s: nats.url %q, want the nats service on port %d", cfgPath, cfg.NATS.URL, opts.Port)
	}

	bustest.LoginRequired(t, opts, cfg.NATS, testPassword)
}

// TestNATSPasswordShapes checks the advice in examples/nats.compose.conf and
// the docs: nats-server parses $NATS_PASSWORD like a config value, and every
// password `openssl rand -base64 32` can print (these edge shapes and a few
// hundred random ones) comes through unchanged, while a bare number or a
// password with a space does not (which is why the docs warn about them).
func TestNATSPasswordShapes(t *testing.T) {
	const conf = "../../examples/nats.compose.conf"
	parsed := func(pw string) (string, error) {
		t.Setenv("NATS_PASSWORD", pw)
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			return "", err
		}
		return opts.Password, nil
	}
	good := []string{"/abc+def==", "//abc", "+abc=", "12/ab+cd=", "1e5", "0x12ab", "ab#cd"}
	for range 300 {
		b := make([]byte, 32)
		rand.Read(b)
		good = append(good, base64.StdEncoding.EncodeToString(b))
	}
	for _, pw := range good {
		if got, err := parsed(pw); err != nil || got != pw {
			t.Errorf("password %q: nats-server reads %q, %v", pw, got, err)
		}
	}
	for _, pw := range []string{"1234", "true", "ab cd", "ab;cd"} {
		if got, err := parsed(pw); err == nil && got == pw {
			t.Errorf("password %q comes through; the docs warn against it needlessly", pw)
		}
	}
}

// TestComposePortsOnLoopback: every port the compose file publishes is bound
// to the host's loopback. InfluxDB's API, Grafana (anonymous viewers) and
// Aftershock's plain-HTTP API would otherwise be open to the host's network.
func TestComposePortsOnLoopback(t *testing.T) {
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for name, s := range cf.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %q on every interface of the host; bind it to 127.0.0.1", name, p)
			}
		}
	}
}

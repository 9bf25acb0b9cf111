package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/aftershock/aftershock/internal/httptls"
)

// Secrets are read from files, never from the YAML itself: a config file
// is shown in reviews, pasted into tickets and kept in git, while a file
// mounted from a secret store (a Kubernetes Secret, a Docker secret,
// systemd's LoadCredential) is not. The config's ${VAR} expansion does not
// apply to these keys' contents, only to their paths.

// readSecret reads a secret file named by key, trimming the line end an
// editor or `echo` adds. An empty file is an error: an empty password
// would turn authentication off without anyone noticing.
func readSecret(key, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: reading the secret: %w", key, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s: %s is empty", key, path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s: %s holds more than one line", key, path)
	}
	return s, nil
}

// bcryptPrefixes are how nats-server recognises a hashed password or token.
var bcryptPrefixes = []string{"$2a$", "$2b$", "$2x$", "$2y$"}

// readPlainSecret is readSecret for a password or token the embedded
// server must present itself (its own client to its listener, its routes
// to the other nodes): a bcrypt hash, which nats-server would accept for
// others, is refused.
func readPlainSecret(key, path string) (string, error) {
	s, err := readSecret(key, path)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(bcryptPrefixes, func(p string) bool { return strings.HasPrefix(s, p) }) {
		return "", fmt.Errorf("%s: holds a bcrypt hash; the embedded server logs in with it, so it needs the secret itself", key)
	}
	return s, nil
}

// listenAuthOn reports whether the embedded server's listener requires
// clients to prove who they are: a user and password, a token, or a client
// certificate signed by listen_tls_client_ca (mutual TLS).
func (c *Config) listenAuthOn() bool {
	return c.ListenUser != "" || c.ListenTokenFile != "" || c.ListenTLSClientCA != ""
}

// listenAuthMode names how the listener authenticates clients, for the log.
func (c *Config) listenAuthMode() string {
	switch {
	case c.ListenUser != "":
		return "user"
	case c.ListenTokenFile != "":
		return "token"
	case c.ListenTLSClientCA != "":
		return "client certificate"
	}
	return "none (loopback only)"
}

// validateAuth checks the authentication and TLS keys of both sides: the
// embedded server's listener (listen_*) and the client of an external
// server (user, password_file, token_file, tls_*).
func (c *Config) validateAuth() []error {
	var errs []error
	listenKeys := map[string]string{
		"nats.listen_user": c.ListenUser, "nats.listen_password_file": c.ListenPasswordFile,
		"nats.listen_token_file": c.ListenTokenFile, "nats.listen_tls_cert": c.ListenTLSCert,
		"nats.listen_tls_key": c.ListenTLSKey, "nats.listen_tls_client_ca": c.ListenTLSClientCA,
	}
	if len(c.ListenUsers) > 0 {
		listenKeys["nats.listen_users"] = "set"
	}
	clientKeys := map[string]string{
		"nats.user": c.User, "nats.password_file": c.PasswordFile, "nats.token_file": c.TokenFile,
		"nats.tls_ca": c.TLSCA, "nats.tls_cert": c.TLSCert, "nats.tls_key": c.TLSKey, "nats.creds": c.Creds,
	}
	for _, k := range sortedKeys(listenKeys) {
		if listenKeys[k] == "" {
			continue
		}
		if c.URL != "" {
			errs = append(errs, fmt.Errorf("%s: only for the embedded server's listener, but nats.url names an external server (use the client keys nats.user, nats.token_file, nats.tls_ca)", k))
		} else if c.Listen == "" {
			errs = append(errs, fmt.Errorf("%s: set, but nats.listen is empty (the embedded server has no network listener)", k))
		}
	}
	for _, k := range sortedKeys(clientKeys) {
		if clientKeys[k] != "" && c.URL == "" {
			errs = append(errs, fmt.Errorf("%s: only for connecting to an external server (nats.url); the embedded server's listener uses nats.listen_*", k))
		}
	}
	errs = append(errs, pairErrs("nats.listen_user", c.ListenUser, "nats.listen_password_file", c.ListenPasswordFile)...)
	errs = append(errs, pairErrs("nats.listen_tls_cert", c.ListenTLSCert, "nats.listen_tls_key", c.ListenTLSKey)...)
	if c.ListenUser != "" && c.ListenTokenFile != "" {
		errs = append(errs, errors.New("nats.listen_token_file: choose a token or nats.listen_user, not both"))
	}
	if c.ListenTLSClientCA != "" && c.ListenTLSCert == "" {
		errs = append(errs, errors.New("nats.listen_tls_client_ca: needs nats.listen_tls_cert and nats.listen_tls_key (mutual TLS is TLS)"))
	}
	errs = append(errs, pairErrs("nats.user", c.User, "nats.password_file", c.PasswordFile)...)
	errs = append(errs, pairErrs("nats.tls_cert", c.TLSCert, "nats.tls_key", c.TLSKey)...)
	n := 0
	for _, v := range []string{c.User, c.TokenFile, c.Creds} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("nats.user, nats.token_file, nats.creds: choose one way to authenticate"))
	}
	if err := c.checkListenExposure(); err != nil {
		errs = append(errs, err)
	}
	return append(errs, c.validateListenUsers()...)
}

// checkListenExposure refuses a listener reachable from the network that
// lets anyone in: whoever reaches it could publish release events or a
// fake "pass" verdict, or read every stream. Loopback stays allowed without
// authentication (only this machine's processes reach it).
func (c *Config) checkListenExposure() error {
	if c.URL != "" || c.Listen == "" || c.listenAuthOn() || httptls.Loopback(c.Listen) {
		return nil
	}
	return fmt.Errorf("nats.listen: %q is reachable from the network without authentication, so anyone who reaches it could publish a verdict or read every stream; "+
		"set nats.listen_user with nats.listen_password_file, or nats.listen_token_file, or nats.listen_tls_client_ca (mutual TLS), or listen on 127.0.0.1", c.Listen)
}

func pairErrs(ka, a, kb, b string) []error {
	switch {
	case a != "" && b == "":
		return []error{fmt.Errorf("%s: set without %s", ka, kb)}
	case a == "" && b != "":
		return []error{fmt.Errorf("%s: set without %s", kb, ka)}
	}
	return nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// listenAuth applies the listener's authentication and TLS to the embedded
// server's options and returns the options its own in-process client needs
// to pass the same check (nats-server authenticates in-process clients too;
// it only skips TLS for them).
func listenAuth(cfg Config, opts *server.Options, log *slog.Logger, o Options) ([]nats.Option, error) {
	if err := cfg.checkListenExposure(); err != nil {
		return nil, err
	}
	var client []nats.Option
	switch {
	case cfg.ListenUser != "":
		pw, err := readPlainSecret("nats.listen_password_file", cfg.ListenPasswordFile)
		if err != nil {
			return nil, err
		}
		if len(cfg.ListenUsers) == 0 {
			opts.Username, opts.Password = cfg.ListenUser, pw
		} else if opts.Users, err = listenUsers(cfg, pw); err != nil {
			return nil, err
		}
		client = append(client, nats.UserInfo(cfg.ListenUser, pw))
	case cfg.ListenTokenFile != "":
		tok, err := readPlainSecret("nats.listen_token_file", cfg.ListenTokenFile)
		if err != nil {
			return nil, err
		}
		opts.Authorization = tok
		client = append(client, nats.Token(tok))
	}
	if cfg.ListenTLSCert != "" {
		// The certificate and the client CA are re-read when their files
		// change (cert-manager, certbot), as for the HTTP API.
		r, err := httptls.New(httptls.Config{CertFile: cfg.ListenTLSCert, KeyFile: cfg.ListenTLSKey}, log.With("part", "nats-tls"),
			httptls.Options{Listener: "nats", Metrics: o.TLSMetrics, Every: o.TLSCheckEvery})
		if err != nil {
			return nil, fmt.Errorf("nats.listen_tls_cert: loading the listener's certificate: %w", err)
		}
		tc := r.TLSConfig()
		if cfg.ListenTLSClientCA != "" {
			ca, err := httptls.NewCA(cfg.ListenTLSClientCA, log.With("part", "nats-tls"),
				httptls.Options{Listener: "nats-client-ca", Metrics: o.TLSMetrics, Every: o.TLSCheckEvery})
			if err != nil {
				return nil, fmt.Errorf("nats.listen_tls_client_ca: %w", err)
			}
			ca.RequireClients(tc)
		}
		opts.TLS, opts.TLSConfig = true, tc
		opts.TLSVerify = cfg.ListenTLSClientCA != ""
		opts.TLSTimeout = 2
	}
	return client, nil
}

// clientAuth returns the options for connecting to an external server.
func clientAuth(cfg Config) ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case cfg.Creds != "":
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	case cfg.User != "":
		pw, err := readSecret("nats.password_file", cfg.PasswordFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserInfo(cfg.User, pw))
	case cfg.TokenFile != "":
		tok, err := readSecret("nats.token_file", cfg.TokenFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Token(tok))
	}
	if cfg.TLSCA != "" {
		if _, err := os.Stat(cfg.TLSCA); err != nil {
			return nil, fmt.Errorf("nats.tls_ca: %w", err)
		}
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	return opts, nil
}

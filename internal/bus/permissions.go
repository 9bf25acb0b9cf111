package bus

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// ListenUser is one entry of nats.listen_users: a user of the embedded
// server's listener that may publish and subscribe only to the subjects
// listed (NATS wildcards * and > allowed). An empty list allows nothing in
// that direction. A client that wants JetStream's acknowledgements or
// makes requests also needs to subscribe to its replies: "_INBOX.>".
type ListenUser struct {
	User         string   `yaml:"user"`
	PasswordFile string   `yaml:"password_file"`
	Publish      []string `yaml:"publish"`
	Subscribe    []string `yaml:"subscribe"`
}

// validateListenUsers checks nats.listen_users.
func (c *Config) validateListenUsers() []error {
	if len(c.ListenUsers) == 0 {
		return nil
	}
	var errs []error
	if c.ListenUser == "" {
		// nats-server takes one user and password or a list, not both, and
		// no token beside a list: the full-rights user joins the list.
		errs = append(errs, errors.New("nats.listen_users: needs nats.listen_user and nats.listen_password_file (the user with every right, which Aftershock itself logs in as); not with nats.listen_token_file"))
	}
	seen := map[string]bool{c.ListenUser: true}
	for i, u := range c.ListenUsers {
		key := fmt.Sprintf("nats.listen_users[%d]", i)
		switch {
		case u.User == "":
			errs = append(errs, fmt.Errorf("%s.user: required", key))
		case seen[u.User]:
			errs = append(errs, fmt.Errorf("%s.user: %q named twice (or is nats.listen_user)", key, u.User))
		}
		seen[u.User] = true
		if u.PasswordFile == "" {
			errs = append(errs, fmt.Errorf("%s.password_file: required", key))
		}
		if len(u.Publish) == 0 && len(u.Subscribe) == 0 {
			errs = append(errs, fmt.Errorf("%s: neither publish nor subscribe lists a subject, so the user could do nothing", key))
		}
		for _, d := range []struct {
			name     string
			subjects []string
		}{{"publish", u.Publish}, {"subscribe", u.Subscribe}} {
			for j, s := range d.subjects {
				if !validSubject(s) {
					errs = append(errs, fmt.Errorf("%s.%s[%d]: %q is not a subject (tokens separated by dots; * and > as whole tokens)", key, d.name, j, s))
				}
			}
		}
	}
	return errs
}

// validSubject reports whether s is a NATS subject, wildcards allowed: a
// > only as the last token.
func validSubject(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	toks := strings.Split(s, ".")
	for i, t := range toks {
		if t == "" || (strings.ContainsAny(t, "*>") && len(t) > 1) || (t == ">" && i != len(toks)-1) {
			return false
		}
	}
	return true
}

// allowOnly is a permission that allows exactly subjects; none denies all.
func allowOnly(subjects []string) *server.SubjectPermission {
	if len(subjects) == 0 {
		return &server.SubjectPermission{Deny: []string{">"}}
	}
	return &server.SubjectPermission{Allow: subjects}
}

// listenUsers is the listener's user list: the full-rights user (who
// logs in with pw) and each limited one, with the password from its file
// (a bcrypt hash is fine here: only the server checks it).
func listenUsers(cfg Config, pw string) ([]*server.User, error) {
	users := []*server.User{{Username: cfg.ListenUser, Password: pw}}
	for i, u := range cfg.ListenUsers {
		p, err := readSecret(fmt.Sprintf("nats.listen_users[%d].password_file", i), u.PasswordFile)
		if err != nil {
			return nil, err
		}
		users = append(users, &server.User{Username: u.User, Password: p, Permissions: &server.Permissions{
			Publish: allowOnly(u.Publish), Subscribe: allowOnly(u.Subscribe),
		}})
	}
	return users, nil
}

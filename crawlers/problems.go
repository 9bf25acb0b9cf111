package crawlers

import (
	"errors"
	"fmt"
	"net/url"
)

// Problems collects the configuration errors of one section, each named by
// its field path under Prefix ("options." for a source's options).
type Problems struct {
	Prefix string
	errs   []error
}

// Add records a problem with field.
func (p *Problems) Add(field, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s%s: %s", p.Prefix, field, fmt.Sprintf(format, args...)))
}

// Err joins the problems, or is nil when there are none.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// IsHTTPURL reports whether raw is an absolute http or https URL with a host.
func IsHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

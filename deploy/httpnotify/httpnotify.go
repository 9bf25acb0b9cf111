// Package httpnotify holds what the HTTP notifiers (deploy/webhook,
// deploy/slack, deploy/flags) share: a client that reports redirects
// instead of following them, reading a reply's body without holding the
// connection, turning that body into error text with no secret in it, and
// telling a failure worth a retry (429, 5xx, with Retry-After) from a final
// one. Each notifier keeps its request, its success check and its wording.
package httpnotify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/internal/buildinfo"
)

// MaxSnippet bounds how much of a reply's body goes into an error, in bytes.
const MaxSnippet = 256

// MaxRead is how much of a reply's body is read to build the snippet.
const MaxRead = 4 << 10

// maxDrain bounds what is read and thrown away after the snippet, so the
// connection can be reused without an endless body holding it.
const maxDrain = 64 << 10

// NewClient returns a client whose requests time out after timeout and
// that does not follow redirects: a redirect would turn a POST into a GET
// or send a token elsewhere, so the 3xx comes back as a failed reply.
func NewClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Drain reads and discards the rest of a reply's body, up to a bound.
func Drain(body io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrain))
}

// ReadSnippet reads up to MaxRead bytes of a reply's body for an error
// message (see Redactor.Clean) and drains the rest.
func ReadSnippet(body io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(body, MaxRead))
	Drain(body)
	return b
}

// TransportError is the error to report for a request that got no reply:
// err without the *url.Error wrapper, which repeats the full URL (and so
// any token in it), or ctx's error when ctx ended.
func TransportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	return err
}

// Retryable reports whether a reply's status is worth another attempt: 429
// and 5xx. Any other non-2xx reply would get the same answer again.
func Retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// RetryAfter reads the Retry-After header of h: delay-seconds, or an HTTP
// date measured from now. It reports false when the header is missing,
// malformed, or asks for no wait.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// Failed is what Notify reports for a non-2xx reply, err describing it:
// retry=true for a Retryable status, with err wrapped in a
// *deploy.RetryAfterError when the reply's Retry-After (dates measured
// from now) asks for a wait; retry=false for any other status.
func Failed(resp *http.Response, err error, now time.Time) (retry bool, _ error) {
	if !Retryable(resp.StatusCode) {
		return false, err
	}
	if d, ok := RetryAfter(resp.Header, now); ok {
		return true, &deploy.RetryAfterError{After: d, Err: err}
	}
	return true, err
}

// Redactor makes reply bodies safe to put in errors. The zero value
// removes nothing.
type Redactor struct {
	secrets []string
	longest int
}

// NewRedactor returns a redactor for secrets. Empty strings are dropped;
// the longest secret is replaced first, so a part never masks the whole.
func NewRedactor(secrets ...string) Redactor {
	s := slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" })
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
	r := Redactor{secrets: s}
	if len(s) > 0 {
		r.longest = len(s[0])
	}
	return r
}

// Clean makes a reply body safe to put in an error: the secrets replaced
// by "<redacted>" (before cutting, so no prefix of one survives), valid
// UTF-8, one line, at most MaxSnippet bytes. It returns "" for an empty
// body and ": <text>" otherwise, to append to an error message.
func (r Redactor) Clean(b []byte) string {
	if len(b) == MaxRead {
		// The read may have cut a secret in two; drop the tail that could
		// hold its first part.
		b = b[:max(0, len(b)-r.longest)]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "<redacted>")
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > MaxSnippet {
		cut := MaxSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if s == "" {
		return ""
	}
	return ": " + s
}

// Target is the part of a receiver's URL that may go into errors and logs:
// scheme and host. Paths and queries of webhook URLs often carry tokens.
func Target(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid url>"
	}
	return u.Scheme + "://" + u.Host
}

// UserAgent is "aftershock/<version>" (internal/buildinfo: the module
// version, or devel+<revision>, or dev for a build that records neither).
func UserAgent() string { return "aftershock/" + buildinfo.Version() }

// Package webhook is the halt webhook notifier: it POSTs a verdict as JSON,
// signed the Standard Webhooks way (webhook-id, webhook-timestamp,
// webhook-signature: v1,<base64 HMAC-SHA256>), so a deploy system can halt
// a rollout. The webhook-id is the notice's idempotency key and stays the
// same on every attempt; receivers drop repeats on it.
//
// The notifier makes one attempt per call and says whether a failure is
// worth retrying; retries, backoff and durability live in deploy/delivery.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/signals"
)

// Payload is the JSON body of a halt webhook.
type Payload struct {
	Release        string                 `json:"release"`
	Service        string                 `json:"service"`
	Version        string                 `json:"version,omitempty"`
	Ring           string                 `json:"ring"`
	Decision       string                 `json:"decision"`
	Score          float64                `json:"score"`
	Reasons        []string               `json:"reasons"`
	Signals        []signals.SignalResult `json:"signals,omitempty"`
	Keywords       []string               `json:"keywords,omitempty"`
	Examples       []signals.Example      `json:"examples,omitempty"`
	Feature        string                 `json:"feature,omitempty"`
	Action         string                 `json:"action"`
	Dashboard      string                 `json:"dashboard,omitempty"`
	IdempotencyKey string                 `json:"idempotency_key"`
	// Time is when the verdict was reached.
	Time time.Time `json:"time"`
}

// NewPayload builds the body for a notice.
func NewPayload(n deploy.Notice) Payload {
	v := n.Verdict
	reasons := v.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return Payload{
		Release: v.Release, Service: v.Service, Version: v.Version, Ring: v.Ring,
		Decision: v.Decision, Score: v.Score, Reasons: reasons, Signals: v.Signals,
		Keywords: v.Keywords, Examples: v.Examples, Feature: v.Feature, Action: v.Action,
		Dashboard: n.Dashboard, IdempotencyKey: n.Key, Time: v.Time.UTC(),
	}
}

// Notifier sends halt webhooks. It implements deploy.Notifier.
type Notifier struct {
	url       string
	target    string // scheme://host, for errors
	key       []byte
	headers   map[string]string
	userAgent string
	client    *http.Client
	now       func() time.Time
	redact    []string
}

var _ deploy.Notifier = (*Notifier)(nil)

// maxSnippet bounds how much of a failed reply's body goes into an error.
const maxSnippet = 256

// maxRead is how much of a failed reply's body is read to build the snippet.
const maxRead = 4 << 10

// New validates cfg and builds a notifier; now stamps webhook-timestamp.
func New(cfg Config, now func() time.Time) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook config: %w", err)
	}
	key, _ := ParseSecret(cfg.Secret) // checked by Validate
	n := &Notifier{
		url:       cfg.URL,
		target:    redactURL(cfg.URL),
		key:       key,
		headers:   cfg.Headers,
		userAgent: userAgent(),
		now:       now,
		client: &http.Client{
			Timeout: cfg.Timeout,
			// A redirect would turn the POST into a GET or resend it
			// elsewhere; report it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		redact: []string{cfg.Secret, string(key)},
	}
	for _, v := range cfg.Headers {
		if len(v) >= 4 {
			n.redact = append(n.redact, v)
		}
	}
	if u, err := url.Parse(cfg.URL); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			n.redact = append(n.redact, p)
		}
		if q := u.RawQuery; len(q) >= 4 {
			n.redact = append(n.redact, q)
		}
	}
	return n, nil
}

// Notify makes one signed POST. It reports retry=true for network errors,
// timeouts, 5xx and 429, wrapping a Retry-After in *deploy.RetryAfterError,
// and retry=false for any other non-2xx reply.
func (n *Notifier) Notify(ctx context.Context, notice deploy.Notice) (retry bool, err error) {
	if notice.Key == "" {
		return false, errors.New("webhook: notice has no idempotency key")
	}
	body, err := json.Marshal(NewPayload(notice))
	if err != nil {
		return false, fmt.Errorf("encoding webhook body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("building webhook request to %s: %w", n.target, err)
	}
	for k, v := range n.headers {
		req.Header.Set(k, v)
	}
	ts := n.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", n.userAgent)
	req.Header.Set("Idempotency-Key", notice.Key)
	req.Header.Set(HeaderID, notice.Key)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(n.key, notice.Key, ts, body))

	resp, err := n.client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL, which may hold a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return true, fmt.Errorf("posting webhook to %s: %w", n.target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxRead))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	err = fmt.Errorf("posting webhook to %s: %s%s", n.target, resp.Status, n.clean(snippet))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), ts); ok {
			return true, &deploy.RetryAfterError{After: d, Err: err}
		}
		return true, err
	default:
		return false, err
	}
}

// clean makes a reply body safe to put in an error: secrets the receiver
// may echo back removed (before cutting, so no prefix of one survives),
// valid UTF-8, one line, at most maxSnippet bytes.
func (n *Notifier) clean(b []byte) string {
	if len(b) == maxRead {
		// The read may have cut a secret in two; drop the tail that could
		// hold its first part.
		longest := 0
		for _, secret := range n.redact {
			longest = max(longest, len(secret))
		}
		b = b[:max(0, len(b)-longest)]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for _, secret := range n.redact {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "<redacted>")
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxSnippet {
		cut := maxSnippet
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

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
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

func userAgent() string {
	version := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	return "aftershock/" + version
}

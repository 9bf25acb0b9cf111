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
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/httpnotify"
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
	redact    httpnotify.Redactor
}

var _ deploy.Notifier = (*Notifier)(nil)

// New validates cfg and builds a notifier; now stamps webhook-timestamp.
func New(cfg Config, now func() time.Time) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook config: %w", err)
	}
	key, _ := ParseSecret(cfg.Secret) // checked by Validate
	secrets := []string{cfg.Secret, string(key)}
	for _, v := range cfg.Headers {
		if len(v) >= 4 {
			secrets = append(secrets, v)
		}
	}
	if u, err := url.Parse(cfg.URL); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			secrets = append(secrets, p)
		}
		if q := u.RawQuery; len(q) >= 4 {
			secrets = append(secrets, q)
		}
	}
	return &Notifier{
		url:       cfg.URL,
		target:    httpnotify.Target(cfg.URL),
		key:       key,
		headers:   cfg.Headers,
		userAgent: httpnotify.UserAgent(),
		now:       now,
		client:    httpnotify.NewClient(cfg.Timeout),
		redact:    httpnotify.NewRedactor(secrets...),
	}, nil
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
		return true, fmt.Errorf("posting webhook to %s: %w", n.target, httpnotify.TransportError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		httpnotify.Drain(resp.Body)
		return false, nil
	}
	snippet := httpnotify.ReadSnippet(resp.Body)
	return httpnotify.Failed(resp, fmt.Errorf("posting webhook to %s: %s%s", n.target, resp.Status, n.redact.Clean(snippet)), ts)
}

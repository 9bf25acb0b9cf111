// Package slack posts verdicts to Slack-compatible incoming webhooks
// (Slack, Mattermost, Rocket.Chat): one message per notice with an emoji by
// decision, the score, the reasons, top keywords, up to two example posts
// and the dashboard link.
//
// Incoming webhooks cannot reply in a thread, so every message starts with
// the release id: a channel then reads as one line of history per release
// (search the channel for "shop-4.2.0" to see its whole watch).
//
// The notifier makes one attempt per call and says whether a failure is
// worth retrying; retries, backoff and durability live in deploy/delivery.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/httpnotify"
)

// ErrTooSoon is wrapped in the *deploy.RetryAfterError returned when Notify
// is called again before min_interval has passed.
var ErrTooSoon = errors.New("slack: min_interval since the last post has not passed")

// Notifier posts notices to one incoming webhook. It implements
// deploy.Notifier and is safe for concurrent use.
type Notifier struct {
	url         string
	target      string // scheme://host, for errors
	channel     string
	username    string
	minInterval time.Duration
	client      *http.Client
	now         func() time.Time
	redact      httpnotify.Redactor

	mu   sync.Mutex
	next time.Time // no post before this
}

var _ deploy.Notifier = (*Notifier)(nil)

// New validates cfg and builds a notifier; now drives min_interval.
func New(cfg Config, now func() time.Time) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack config: %w", err)
	}
	secrets := []string{cfg.URL}
	if u, err := url.Parse(cfg.URL); err == nil {
		// The token is in the path (Slack /services/T…/B…/secret,
		// Mattermost /hooks/key) or the query; receivers may echo them.
		secrets = append(secrets, u.RequestURI(), u.EscapedPath(), u.Path)
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 8 {
				secrets = append(secrets, seg)
			}
		}
		if len(u.RawQuery) >= 4 {
			secrets = append(secrets, u.RawQuery)
		}
		if p, ok := u.User.Password(); ok && p != "" {
			secrets = append(secrets, p)
		}
	}
	secrets = slices.DeleteFunc(secrets, func(s string) bool { return len(s) < 4 })
	return &Notifier{
		url:         cfg.URL,
		target:      httpnotify.Target(cfg.URL),
		channel:     cfg.Channel,
		username:    cfg.Username,
		minInterval: cfg.MinInterval,
		now:         now,
		client:      httpnotify.NewClient(cfg.Timeout),
		redact:      httpnotify.NewRedactor(secrets...),
	}, nil
}

// Notify posts one message. It reports retry=true for network errors,
// timeouts, 5xx and 429 (a Retry-After is wrapped in *deploy.RetryAfterError)
// and for a call within min_interval of the last post; retry=false for any
// other non-2xx reply and for a 2xx whose JSON body says it failed
// ({"ok":false} or {"success":false}).
func (n *Notifier) Notify(ctx context.Context, notice deploy.Notice) (retry bool, err error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <url|label> readable in receivers' logs
	if err := enc.Encode(NewMessage(notice, n.channel, n.username)); err != nil {
		return false, fmt.Errorf("encoding slack message: %w", err)
	}
	body := buf.Bytes()
	now := n.now()
	n.mu.Lock()
	if wait := n.next.Sub(now); wait > 0 {
		n.mu.Unlock()
		return true, &deploy.RetryAfterError{After: wait, Err: ErrTooSoon}
	}
	n.next = now.Add(n.minInterval)
	n.mu.Unlock()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("building slack request to %s: %w", n.target, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aftershock")

	resp, err := n.client.Do(req)
	if err != nil {
		// The full URL is the credential: TransportError leaves it out.
		return true, fmt.Errorf("posting to slack %s: %w", n.target, httpnotify.TransportError(ctx, err))
	}
	defer resp.Body.Close()
	snippet := httpnotify.ReadSnippet(resp.Body)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if reason, failed := failedReply(snippet); failed {
			return false, fmt.Errorf("posting to slack %s: %s but the reply says it failed%s", n.target, resp.Status, n.redact.Clean([]byte(reason)))
		}
		return false, nil
	}
	// Not retried: 400 invalid_payload / no_text, 403 action_prohibited,
	// 404 no_service / channel_not_found, 410 channel_is_archived: a retry
	// would get the same answer.
	retry, err = httpnotify.Failed(resp, fmt.Errorf("posting to slack %s: %s%s", n.target, resp.Status, n.redact.Clean(snippet)), now)
	if d, ok := deploy.RetryAfter(err); ok {
		n.mu.Lock()
		n.next = maxTime(n.next, now.Add(d))
		n.mu.Unlock()
	}
	return retry, err
}

// failedReply spots a 2xx whose JSON body reports a failure: the Web API
// style {"ok":false,"error":"…"} or Rocket.Chat's {"success":false,…}.
// Slack and Mattermost answer "ok".
func failedReply(body []byte) (string, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return "", false
	}
	var r struct {
		OK      *bool  `json:"ok"`
		Success *bool  `json:"success"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil {
		return "", false
	}
	if (r.OK != nil && !*r.OK) || (r.Success != nil && !*r.Success) {
		if r.Error == "" {
			r.Error = string(body)
		}
		return r.Error, true
	}
	return "", false
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Package appstore pauses App Store phased releases: on a halt notice it
// finds the release's app version in App Store Connect, reads the version's
// phased release and sets it to PAUSED. Resuming is a separate, explicit
// call (Resume), never automatic.
//
// Calls, all with an ES256 bearer token (kid, iss, aud appstoreconnect-v1,
// expiry under 20 minutes) signed with the team's .p8 key:
//
//	GET   /v1/apps/{appID}/appStoreVersions?filter[versionString]=…&filter[platform]=IOS
//	GET   /v1/appStoreVersions/{versionID}/appStoreVersionPhasedRelease
//	PATCH /v1/appStoreVersionPhasedReleases/{id}   {"data":{"type":"appStoreVersionPhasedReleases","id":…,"attributes":{"phasedReleaseState":"PAUSED"}}}
//
// The notifier makes one attempt per call and says whether a failure is
// worth retrying; retries, backoff, durability and once-per-release-and-ring
// live in deploy/delivery and deploy/dispatch.
package appstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/httpnotify"
	"github.com/aftershock/aftershock/signals"
)

// Phased release states (PhasedReleaseState).
const (
	StateInactive = "INACTIVE"
	StateActive   = "ACTIVE"
	StatePaused   = "PAUSED"
	StateComplete = "COMPLETE"
)

// rateLimitWait is how long to wait after a 429 that names no Retry-After:
// the limit is per rolling hour, so a quick retry would be refused again.
const rateLimitWait = time.Minute

// Notifier pauses phased releases. It implements deploy.Notifier and
// deploy.Resumer and is safe for concurrent use.
type Notifier struct {
	base   string
	target string
	apps   map[string]App
	sign   *signer
	client *http.Client
	dryRun bool
	log    *slog.Logger
	now    func() time.Time
}

var (
	_ deploy.Notifier    = (*Notifier)(nil)
	_ deploy.Resumer     = (*Notifier)(nil)
	_ deploy.PhaseReader = (*Notifier)(nil)
)

// New validates cfg and builds a notifier; now drives token times.
func New(cfg Config, now func() time.Time, logger *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("appstore-phased config: %w", err)
	}
	key, err := cfg.key()
	if err != nil {
		return nil, fmt.Errorf("appstore-phased config: %w", err)
	}
	apps := map[string]App{}
	for _, a := range cfg.Apps {
		apps[a.Service] = a
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{
		base:   strings.TrimRight(cfg.BaseURL, "/"),
		target: httpnotify.Target(cfg.BaseURL),
		apps:   apps,
		sign:   &signer{issuer: cfg.IssuerID, keyID: cfg.KeyID, key: key, now: now},
		client: httpnotify.NewClient(cfg.Timeout),
		dryRun: cfg.DryRun,
		log:    logger,
		now:    now,
	}, nil
}

// PhasedRelease is the part of an appStoreVersionPhasedReleases resource
// the notifier reads.
type PhasedRelease struct {
	ID               string
	State            string
	CurrentDayNumber int
	VersionID        string
	// VersionState is the version's appStoreState (READY_FOR_SALE once
	// it is out).
	VersionState string
}

// errNoPhasedRelease: the version has no phased release (it goes, or
// went, to everyone at once).
var errNoPhasedRelease = errors.New("no phased release")

// Fraction is the share of automatic-update users the phased release has
// reached: Apple's fixed 7-day schedule (1, 2, 5, 10, 20, 50, 100%).
func (p PhasedRelease) Fraction() float64 { return DayFraction(p.CurrentDayNumber) }

// DayFraction maps a phased release day (1–7) to its share of users.
func DayFraction(day int) float64 {
	steps := []float64{0.01, 0.02, 0.05, 0.10, 0.20, 0.50, 1}
	switch {
	case day < 1:
		return 0
	case day > len(steps):
		return 1
	}
	return steps[day-1]
}

// Notify pauses the phased release of the notice's version. A notice for
// a service with no configured app, or anything but a halt, is ignored; a
// phased release already paused counts as done. COMPLETE or INACTIVE
// releases cannot be paused: that is reported, not retried.
func (n *Notifier) Notify(ctx context.Context, notice deploy.Notice) (retry bool, err error) {
	v := notice.Verdict
	app, ok := n.apps[v.Service]
	if !ok || v.Action != signals.ActionHalt {
		n.log.Debug("not an App Store halt; ignored", "service", v.Service, "action", v.Action)
		return false, nil
	}
	if v.Version == "" {
		return false, fmt.Errorf("appstore: release %s has no version string to look up", v.Release)
	}
	pr, retry, err := n.find(ctx, app, v.Version)
	if err != nil {
		return retry, err
	}
	log := n.log.With("release", v.Release, "ring", v.Ring, "app_id", app.AppID, "version", v.Version,
		"phased_release", pr.ID, "state", pr.State, "day", pr.CurrentDayNumber, "fraction", pr.Fraction())
	switch pr.State {
	case StatePaused:
		log.Info("phased release already paused")
		return false, nil
	case StateActive:
	default:
		return false, fmt.Errorf("appstore: phased release %s of %s %s is %s and cannot be paused", pr.ID, app.AppID, v.Version, pr.State)
	}
	if n.dryRun {
		log.Info("phased release pause (dry run, not sent)", "call", "PATCH /v1/appStoreVersionPhasedReleases/"+pr.ID, "phasedReleaseState", StatePaused)
		return false, nil
	}
	if _, retry, err := n.setState(ctx, pr.ID, StatePaused); err != nil {
		return retry, err
	}
	log.Warn("phased release paused", "reason", strings.Join(v.Reasons, "; "))
	return false, nil
}

// Resume sets the release's paused phased release back to ACTIVE.
func (n *Notifier) Resume(ctx context.Context, r deploy.Release) (string, bool, error) {
	app, ok := n.apps[r.Service]
	if !ok {
		return "", false, nil
	}
	if r.Version == "" {
		return "", true, fmt.Errorf("appstore: release %s has no version string to look up", r.ID)
	}
	pr, _, err := n.find(ctx, app, r.Version)
	if err != nil {
		return "", true, err
	}
	switch pr.State {
	case StateActive:
		return fmt.Sprintf("phased release %s already active (day %d)", pr.ID, pr.CurrentDayNumber), true, nil
	case StatePaused:
	default:
		return "", true, fmt.Errorf("appstore: phased release %s is %s, not paused", pr.ID, pr.State)
	}
	if n.dryRun {
		return fmt.Sprintf("dry run: would resume phased release %s (day %d)", pr.ID, pr.CurrentDayNumber), true, nil
	}
	got, _, err := n.setState(ctx, pr.ID, StateActive)
	if err != nil {
		return "", true, err
	}
	n.log.Warn("phased release resumed by command", "release", r.ID, "phased_release", pr.ID)
	return fmt.Sprintf("phased release %s resumed: %s, day %d", pr.ID, got.State, got.CurrentDayNumber), true, nil
}

// Exposure reads the share of users the release's phased release has
// reached: its day on Apple's schedule (DayFraction) while ACTIVE or
// PAUSED, everyone once COMPLETE. Only reads: it works in dry_run too.
func (n *Notifier) Exposure(ctx context.Context, r deploy.Release) (float64, string, bool, error) {
	app, ok := n.apps[r.Service]
	if !ok {
		return 0, "", false, nil
	}
	if r.Version == "" {
		return 0, "", true, fmt.Errorf("appstore: release %s has no version string to look up", r.ID)
	}
	pr, _, err := n.find(ctx, app, r.Version)
	if errors.Is(err, errNoPhasedRelease) {
		if pr.VersionState == "READY_FOR_SALE" {
			return 1, fmt.Sprintf("App Store version %s released to everyone at once (no phased release)", r.Version), true, nil
		}
		return 0, fmt.Sprintf("App Store version %s is %s, without a phased release", r.Version, pr.VersionState), true, nil
	}
	if err != nil {
		return 0, "", true, err
	}
	switch pr.State {
	case StateComplete:
		return 1, fmt.Sprintf("App Store phased release %s complete", pr.ID), true, nil
	case StateActive, StatePaused:
		return pr.Fraction(), fmt.Sprintf("App Store phased release %s %s, day %d of 7", pr.ID, pr.State, pr.CurrentDayNumber), true, nil
	}
	return 0, fmt.Sprintf("App Store phased release %s %s", pr.ID, pr.State), true, nil
}

// find looks up the app version by version string, then its phased release.
func (n *Notifier) find(ctx context.Context, app App, version string) (PhasedRelease, bool, error) {
	q := url.Values{}
	q.Set("filter[versionString]", version)
	q.Set("filter[platform]", app.Platform)
	q.Set("fields[appStoreVersions]", "versionString,platform,appStoreState")
	q.Set("limit", "2")
	var list struct {
		Data []struct {
			Type       string `json:"type"`
			ID         string `json:"id"`
			Attributes struct {
				VersionString string `json:"versionString"`
				AppStoreState string `json:"appStoreState"`
			} `json:"attributes"`
		} `json:"data"`
	}
	path := "/v1/apps/" + url.PathEscape(app.AppID) + "/appStoreVersions?" + q.Encode()
	if retry, err := n.call(ctx, http.MethodGet, path, nil, &list); err != nil {
		return PhasedRelease{}, retry, err
	}
	var versionID, versionState string
	for _, d := range list.Data {
		if d.Attributes.VersionString == version {
			versionID, versionState = d.ID, d.Attributes.AppStoreState
		}
	}
	if versionID == "" {
		return PhasedRelease{}, false, fmt.Errorf("appstore: app %s has no %s version %q", app.AppID, app.Platform, version)
	}
	var one resource
	path = "/v1/appStoreVersions/" + url.PathEscape(versionID) + "/appStoreVersionPhasedRelease"
	if retry, err := n.call(ctx, http.MethodGet, path, nil, &one); err != nil {
		return PhasedRelease{}, retry, err
	}
	if one.Data == nil || one.Data.ID == "" {
		return PhasedRelease{VersionID: versionID, VersionState: versionState}, false,
			fmt.Errorf("appstore: version %s (%s) of app %s has %w: it went to everyone at once", version, versionID, app.AppID, errNoPhasedRelease)
	}
	pr := one.Data.phased()
	pr.VersionID, pr.VersionState = versionID, versionState
	return pr, false, nil
}

// resource is a single-resource JSON:API document.
type resource struct {
	Data *phasedResource `json:"data"`
}

// phasedResource is an appStoreVersionPhasedReleases resource.
type phasedResource struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Attributes struct {
		PhasedReleaseState string `json:"phasedReleaseState"`
		CurrentDayNumber   int    `json:"currentDayNumber"`
	} `json:"attributes"`
}

func (d *phasedResource) phased() PhasedRelease {
	return PhasedRelease{ID: d.ID, State: d.Attributes.PhasedReleaseState, CurrentDayNumber: d.Attributes.CurrentDayNumber}
}

// setState PATCHes the phased release to state and checks the reply.
func (n *Notifier) setState(ctx context.Context, id, state string) (PhasedRelease, bool, error) {
	body, err := json.Marshal(map[string]any{"data": map[string]any{
		"type":       "appStoreVersionPhasedReleases",
		"id":         id,
		"attributes": map[string]string{"phasedReleaseState": state},
	}})
	if err != nil {
		return PhasedRelease{}, false, fmt.Errorf("encoding the phased release update: %w", err)
	}
	var out resource
	if retry, err := n.call(ctx, http.MethodPatch, "/v1/appStoreVersionPhasedReleases/"+url.PathEscape(id), body, &out); err != nil {
		return PhasedRelease{}, retry, err
	}
	if out.Data == nil || out.Data.Attributes.PhasedReleaseState != state {
		got := ""
		if out.Data != nil {
			got = out.Data.Attributes.PhasedReleaseState
		}
		return PhasedRelease{}, false, fmt.Errorf("appstore: set phased release %s to %s but the reply says %q", id, state, got)
	}
	return out.Data.phased(), false, nil
}

// call makes one API call and decodes a 2xx JSON reply into out. A 401 is
// tried once more with a freshly minted token (the cached one may have
// expired under clock skew); a second 401 is final.
func (n *Notifier) call(ctx context.Context, method, path string, body []byte, out any) (retry bool, err error) {
	for attempt := 0; ; attempt++ {
		tok, err := n.sign.token()
		if err != nil {
			return false, err
		}
		status, retry, err := n.once(ctx, method, path, body, tok, out)
		if status == http.StatusUnauthorized && attempt == 0 {
			n.sign.drop(tok)
			continue
		}
		return retry, err
	}
}

func (n *Notifier) once(ctx context.Context, method, path string, body []byte, tok string, out any) (int, bool, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	what := method + " " + n.target + strings.SplitN(path, "?", 2)[0]
	req, err := http.NewRequestWithContext(ctx, method, n.base+path, rd)
	if err != nil {
		return 0, false, fmt.Errorf("appstore: building %s: %w", what, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", httpnotify.UserAgent())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, true, fmt.Errorf("appstore: %s: %w", what, httpnotify.TransportError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			return resp.StatusCode, true, fmt.Errorf("appstore: %s: reading reply: %w", what, httpnotify.TransportError(ctx, err))
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, false, fmt.Errorf("appstore: %s: %s with a reply that is not JSON:API: %v", what, resp.Status, err)
		}
		return resp.StatusCode, false, nil
	}
	snippet := httpnotify.ReadSnippet(resp.Body)
	redact := httpnotify.NewRedactor(tok)
	msg := fmt.Errorf("appstore: %s: %s%s", what, resp.Status, describe(snippet, redact))
	retry, err := httpnotify.Failed(resp, msg, n.now())
	if resp.StatusCode == http.StatusTooManyRequests {
		if _, ok := deploy.RetryAfter(err); !ok {
			// Apple names no Retry-After; X-Rate-Limit says how many
			// requests are left in the rolling hour.
			err = &deploy.RetryAfterError{After: rateLimitWait, Err: fmt.Errorf("%w (X-Rate-Limit %s)", msg, redact.Clean([]byte(resp.Header.Get("X-Rate-Limit"))))}
		}
	}
	return resp.StatusCode, retry, err
}

// apiErrors is App Store Connect's JSON:API error document.
type apiErrors struct {
	Errors []struct {
		Status string `json:"status"`
		Code   string `json:"code"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// describe turns an error reply into ": CODE: title: detail; …", or the
// cleaned raw body when it is not a JSON:API error document.
func describe(body []byte, redact httpnotify.Redactor) string {
	var e apiErrors
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return redact.Clean(body)
	}
	var parts []string
	for _, x := range e.Errors {
		parts = append(parts, strings.TrimRight(x.Code+": "+x.Title+": "+x.Detail, ": "))
	}
	return redact.Clean([]byte(strings.Join(parts, "; ")))
}

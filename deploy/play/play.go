// Package play halts Google Play staged rollouts: on a halt notice it opens
// an edit, sets the configured track's (default production) inProgress
// release of the version to status halted, keeping its versionCodes and
// userFraction, and commits the edit — through the androidpublisher v3
// client with service-account credentials. Resuming is a separate,
// explicit call (Resume), never automatic.
//
// Calls (the client adds the OAuth token it gets from the key's token_uri):
//
//	POST /androidpublisher/v3/applications/{package}/edits
//	GET  /androidpublisher/v3/applications/{package}/edits/{edit}/tracks/{track}
//	PUT  /androidpublisher/v3/applications/{package}/edits/{edit}/tracks/{track}
//	POST /androidpublisher/v3/applications/{package}/edits/{edit}:commit
//
// The notifier makes one attempt per call and says whether a failure is
// worth retrying; retries, backoff, durability and once-per-release-and-ring
// live in deploy/delivery and deploy/dispatch.
package play

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"golang.org/x/oauth2"
	"google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/httpnotify"
	"github.com/aftershock/aftershock/signals"
)

// Release statuses of a track release.
const (
	StatusInProgress = "inProgress"
	StatusHalted     = "halted"
	StatusCompleted  = "completed"
	StatusDraft      = "draft"
)

// Notifier halts staged rollouts. It implements deploy.Notifier and
// deploy.Resumer and is safe for concurrent use.
type Notifier struct {
	svc     *androidpublisher.Service
	apps    map[string]App
	timeout time.Duration
	dryRun  bool
	log     *slog.Logger
	now     func() time.Time
}

var (
	_ deploy.Notifier    = (*Notifier)(nil)
	_ deploy.Resumer     = (*Notifier)(nil)
	_ deploy.PhaseReader = (*Notifier)(nil)
)

// New validates cfg and builds a notifier.
func New(cfg Config, now func() time.Time, logger *slog.Logger) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("play-rollout config: %w", err)
	}
	creds, err := cfg.credentials()
	if err != nil {
		return nil, fmt.Errorf("play-rollout config: %w", err)
	}
	svc, err := androidpublisher.NewService(context.Background(),
		option.WithAuthCredentialsJSON(option.ServiceAccount, creds),
		option.WithScopes(androidpublisher.AndroidpublisherScope),
		option.WithEndpoint(strings.TrimRight(cfg.Endpoint, "/")+"/"),
		option.WithUserAgent(httpnotify.UserAgent()),
	)
	if err != nil {
		return nil, fmt.Errorf("play-rollout: building the androidpublisher client: %w", err)
	}
	apps := map[string]App{}
	for _, a := range cfg.Apps {
		apps[a.Service] = a
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{svc: svc, apps: apps, timeout: cfg.Timeout, dryRun: cfg.DryRun, log: logger, now: now}, nil
}

// Notify halts the staged rollout of the notice's version. A notice for a
// service with no configured app, or anything but a halt, is ignored; a
// release already halted counts as done.
func (n *Notifier) Notify(ctx context.Context, notice deploy.Notice) (retry bool, err error) {
	v := notice.Verdict
	app, ok := n.apps[v.Service]
	if !ok || v.Action != signals.ActionHalt {
		n.log.Debug("not a Play halt; ignored", "service", v.Service, "action", v.Action)
		return false, nil
	}
	log := n.log.With("release", v.Release, "ring", v.Ring, "package", app.PackageName, "track", app.Track, "version", v.Version)
	msg, retry, err := n.change(ctx, app, v.Version, StatusInProgress, StatusHalted, log)
	if err != nil {
		return retry, err
	}
	log.Warn(msg, "reason", strings.Join(v.Reasons, "; "))
	return false, nil
}

// Resume sets the version's halted release back to inProgress, at the
// userFraction it had.
func (n *Notifier) Resume(ctx context.Context, r deploy.Release) (string, bool, error) {
	app, ok := n.apps[r.Service]
	if !ok {
		return "", false, nil
	}
	log := n.log.With("release", r.ID, "package", app.PackageName, "track", app.Track, "version", r.Version)
	msg, _, err := n.change(ctx, app, r.Version, StatusHalted, StatusInProgress, log)
	if err != nil {
		return "", true, err
	}
	log.Warn("staged rollout resumed by command", "result", msg)
	return msg, true, nil
}

// Exposure reads the userFraction of the version's staged rollout on the
// track (1 once completed) in an edit that is then deleted: nothing
// changes on Play. Only reads: it works in dry_run too.
func (n *Notifier) Exposure(ctx context.Context, r deploy.Release) (float64, string, bool, error) {
	app, ok := n.apps[r.Service]
	if !ok {
		return 0, "", false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	pkg := app.PackageName
	edit, err := n.svc.Edits.Insert(pkg, &androidpublisher.AppEdit{}).Context(ctx).Do()
	if err != nil {
		_, err = classify(ctx, err)
		return 0, "", true, fmt.Errorf("play: opening an edit of %s: %w", pkg, err)
	}
	defer n.discard(ctx, pkg, edit.Id)
	track, err := n.svc.Edits.Tracks.Get(pkg, edit.Id, app.Track).Context(ctx).Do()
	if err != nil {
		_, err = classify(ctx, err)
		return 0, "", true, fmt.Errorf("play: reading track %s of %s: %w", app.Track, pkg, err)
	}
	for _, rel := range track.Releases {
		if !matches(rel, r.Version) {
			continue
		}
		switch rel.Status {
		case StatusInProgress, StatusHalted:
			return rel.UserFraction, fmt.Sprintf("Play %s release %q %s at userFraction %g", app.Track, rel.Name, rel.Status, rel.UserFraction), true, nil
		case StatusCompleted:
			return 1, fmt.Sprintf("Play %s release %q completed", app.Track, rel.Name), true, nil
		}
	}
	return 0, "", true, fmt.Errorf("play: %s track %s has no staged or completed release named %q or with that version code", pkg, app.Track, r.Version)
}

// change moves the version's release on the track from one status to
// another in one edit. An edit that Play dropped under us (committed,
// deleted or expired by another client) is redone once with a new edit.
func (n *Notifier) change(ctx context.Context, app App, version, from, to string, log *slog.Logger) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		msg, err := n.changeOnce(ctx, app, version, from, to, log)
		if err == nil {
			return msg, false, nil
		}
		retry, err := classify(ctx, err)
		if errors.Is(err, errEditGone) && attempt == 0 {
			log.Info("edit gone before commit; trying again with a new edit", "err", err)
			continue
		}
		return "", retry, err
	}
}

// errNoRelease and friends are final: a retry would read the same track.
var (
	errNoRelease = errors.New("no matching release on the track")
	errEditGone  = errors.New("the edit was committed, deleted or expired by someone else")
)

func (n *Notifier) changeOnce(ctx context.Context, app App, version, from, to string, log *slog.Logger) (string, error) {
	pkg := app.PackageName
	edit, err := n.svc.Edits.Insert(pkg, &androidpublisher.AppEdit{}).Context(ctx).Do()
	if err != nil {
		return "", fmt.Errorf("play: opening an edit of %s: %w", pkg, err)
	}
	track, err := n.svc.Edits.Tracks.Get(pkg, edit.Id, app.Track).Context(ctx).Do()
	if err != nil {
		return "", fmt.Errorf("play: reading track %s of %s: %w", app.Track, pkg, err)
	}
	rel, done, err := pick(track, version, from, to)
	if err != nil {
		return "", fmt.Errorf("play: %s track %s: %w", pkg, app.Track, err)
	}
	if done {
		n.discard(ctx, pkg, edit.Id)
		return fmt.Sprintf("release %q on %s is already %s", rel.Name, app.Track, to), nil
	}
	desc := fmt.Sprintf("release %q (versionCodes %s, userFraction %g) on %s: %s → %s",
		rel.Name, codes(rel.VersionCodes), rel.UserFraction, app.Track, from, to)
	if n.dryRun {
		n.discard(ctx, pkg, edit.Id)
		log.Info("staged rollout change (dry run, not committed)", "change", desc)
		return "dry run: would set " + desc, nil
	}
	rel.Status = to
	// The update carries every release of the track as read, only this
	// one's status changed: versionCodes, userFraction, notes, countries
	// stay as they were.
	track.ServerResponse = googleapi.ServerResponse{}
	if _, err := n.svc.Edits.Tracks.Update(pkg, edit.Id, app.Track, track).Context(ctx).Do(); err != nil {
		return "", fmt.Errorf("play: updating track %s of %s: %w", app.Track, pkg, err)
	}
	if _, err := n.svc.Edits.Commit(pkg, edit.Id).Context(ctx).Do(); err != nil {
		return "", fmt.Errorf("play: committing the edit of %s: %w", pkg, err)
	}
	return "set " + desc, nil
}

// pick finds the release of version with status from. done reports that
// the release is already in status to.
func pick(track *androidpublisher.Track, version, from, to string) (*androidpublisher.TrackRelease, bool, error) {
	var candidates []*androidpublisher.TrackRelease
	for _, r := range track.Releases {
		if matches(r, version) {
			switch r.Status {
			case from:
				return r, false, nil
			case to:
				return r, true, nil
			}
		}
		if r.Status == from || r.Status == to {
			candidates = append(candidates, r)
		}
	}
	var seen []string
	for _, r := range candidates {
		seen = append(seen, fmt.Sprintf("%q (%s, versionCodes %s)", r.Name, r.Status, codes(r.VersionCodes)))
	}
	if len(seen) == 0 {
		seen = []string{"none"}
	}
	return nil, false, fmt.Errorf("%w: no %s release named %q or with that version code; %s or %s releases: %s",
		errNoRelease, from, version, from, to, strings.Join(seen, ", "))
}

// matches reports whether a track release is the release of version: its
// name is the version (Play's default name is the versionName, sometimes
// followed by the code in brackets) or one of its version codes is.
func matches(r *androidpublisher.TrackRelease, version string) bool {
	if version == "" {
		return false
	}
	if r.Name == version || strings.HasPrefix(r.Name, version+" ") {
		return true
	}
	for _, c := range r.VersionCodes {
		if strconv.FormatInt(c, 10) == version {
			return true
		}
	}
	return false
}

func codes(cs googleapi.Int64s) string {
	var out []string
	for _, c := range cs {
		out = append(out, strconv.FormatInt(c, 10))
	}
	return strings.Join(out, ",")
}

// discard deletes an edit that will not be committed.
func (n *Notifier) discard(ctx context.Context, pkg, id string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.svc.Edits.Delete(pkg, id).Context(dctx).Do(); err != nil {
		n.log.Info("deleting an unused edit failed; it expires by itself", "package", pkg, "err", scrub(err.Error()))
	}
}

// classify says whether a failed halt is worth retrying and returns an
// error safe to log: API errors by status and reason, token errors by the
// token endpoint's status, anything else (network, timeout) retried.
func classify(ctx context.Context, err error) (bool, error) {
	if errors.Is(err, errNoRelease) {
		return false, err
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		what := strings.SplitN(err.Error(), ": googleapi", 2)[0]
		desc := fmt.Sprintf("%s: %d %s%s", what, gerr.Code, http.StatusText(gerr.Code), describe(gerr))
		if editGone(gerr) {
			return true, fmt.Errorf("%s: %w", desc, errEditGone)
		}
		e := errors.New(desc)
		if gerr.Code == http.StatusForbidden {
			e = fmt.Errorf("%s (the service account needs release permission for this app in Play Console → Users and permissions)", desc)
		}
		if httpnotify.Retryable(gerr.Code) {
			if d, ok := httpnotify.RetryAfter(gerr.Header, time.Now()); ok {
				return true, &deploy.RetryAfterError{After: d, Err: e}
			}
			return true, e
		}
		return false, e
	}
	var aerr *auth.Error
	if errors.As(err, &aerr) && aerr.Response != nil {
		e := fmt.Errorf("play: getting an access token: %d %s%s", aerr.Response.StatusCode, http.StatusText(aerr.Response.StatusCode), httpnotify.NewRedactor().Clean([]byte(scrub(string(aerr.Body)))))
		if httpnotify.Retryable(aerr.Response.StatusCode) {
			if d, ok := httpnotify.RetryAfter(aerr.Response.Header, time.Now()); ok {
				return true, &deploy.RetryAfterError{After: d, Err: e}
			}
			return true, e
		}
		return false, e
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.Response != nil {
		e := fmt.Errorf("play: getting an access token: %s%s", rerr.Response.Status, httpnotify.NewRedactor().Clean([]byte(scrub(string(rerr.Body)))))
		return httpnotify.Retryable(rerr.Response.StatusCode), e
	}
	return true, fmt.Errorf("play: %s", scrub(httpnotify.TransportError(ctx, err).Error()))
}

// editGone spots the replies Play gives for an edit another client
// committed, deleted or let expire: 410 editDeleted, and 400/409 with
// "This edit has already been successfully committed, please create a new
// Edit." / "This edit has expired, please create a new Edit." / "This Edit
// has been deleted.".
func editGone(e *googleapi.Error) bool {
	for _, it := range e.Errors {
		switch it.Reason {
		case "editDeleted", "editExpired", "editAlreadyCommitted":
			return true
		}
	}
	if e.Code != http.StatusBadRequest && e.Code != http.StatusConflict && e.Code != http.StatusGone {
		return false
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "please create a new edit") || strings.Contains(m, "edit has been deleted")
}

// describe is ": message (reason, …)" from a Google API error, or the
// scrubbed body when it has no parsed message.
func describe(e *googleapi.Error) string {
	var reasons []string
	for _, it := range e.Errors {
		if it.Reason != "" && !slices.Contains(reasons, it.Reason) {
			reasons = append(reasons, it.Reason)
		}
	}
	text := e.Message
	if text == "" {
		text = e.Body
	}
	if len(reasons) > 0 {
		text += " (" + strings.Join(reasons, ", ") + ")"
	}
	return httpnotify.NewRedactor().Clean([]byte(scrub(text)))
}

// bearerRe matches credentials a server may echo: bearer tokens, Google
// access tokens and JWT assertions.
var bearerRe = regexp.MustCompile(`(?i)(bearer\s+)[^\s,;"]+|ya29\.[A-Za-z0-9._-]+|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|assertion=[^\s&"]+`)

func scrub(s string) string {
	return bearerRe.ReplaceAllStringFunc(s, func(m string) string {
		if sub := bearerRe.FindStringSubmatch(m); sub[1] != "" {
			return sub[1] + "<redacted>"
		}
		return "<redacted>"
	})
}

// Package playreviews polls Google Play reviews of one app through the
// Play Developer API (androidpublisher v3 reviews.list) with a service
// account, and carries the app version each review was written on
// (Post.AppVersion = appVersionName) so reviews of a new version can be
// told from reviews of the old one.
//
// reviews.list returns the reviews created or changed in the last week,
// newest first, up to maxResults per page with a nextPageToken. Each poll
// makes one request: a run walks pages until it meets a review the
// previous run saw (by last-modified time), up to options.pages pages,
// with Page.More set until the run is done.
package playreviews

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/signals"
)

// Type is the source type name used in configuration.
const Type = "playreviews"

// Defaults and bounds of Options.
const (
	DefaultEndpoint   = "https://androidpublisher.googleapis.com/"
	DefaultMaxResults = 100
	DefaultPages      = 5
	MaxPages          = 50
)

var packageRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$`)

// Options are the `options` of a playreviews source.
type Options struct {
	// PackageName is the app's application id, e.g. com.example.shop.
	PackageName string `yaml:"package_name"`
	// ServiceAccountFile is a service account JSON key with the Play
	// Console permission "Reply to reviews" (which includes reading them)
	// on the app; or ServiceAccountJSON, its content (from ${ENV}).
	ServiceAccountFile string `yaml:"service_account_file"`
	ServiceAccountJSON string `yaml:"service_account_json"`
	// Endpoint is the API root (default https://androidpublisher.googleapis.com/).
	Endpoint string `yaml:"endpoint"`
	// MaxResults is the page size (1-100, default 100).
	MaxResults int `yaml:"max_results"`
	// Pages bounds the pages read per run (default 5).
	Pages int `yaml:"pages"`
}

// Validate applies defaults and checks the options.
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	switch {
	case o.PackageName == "":
		bad("package_name", "required (the app's application id, e.g. com.example.shop)")
	case !packageRE.MatchString(o.PackageName):
		bad("package_name", "%q is not an application id", o.PackageName)
	}
	switch {
	case o.ServiceAccountFile != "" && o.ServiceAccountJSON != "":
		bad("service_account_file", "set it or service_account_json, not both")
	case o.ServiceAccountFile == "" && o.ServiceAccountJSON == "":
		bad("service_account_file", "required (a service account JSON key with access to the app in Play Console)")
	}
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	if !crawlers.IsHTTPURL(o.Endpoint) {
		bad("endpoint", "%q must be an http(s) URL", o.Endpoint)
	}
	if o.MaxResults == 0 {
		o.MaxResults = DefaultMaxResults
	}
	if o.MaxResults < 1 || o.MaxResults > 100 {
		bad("max_results", "%d, want 1-100", o.MaxResults)
	}
	if o.Pages == 0 {
		o.Pages = DefaultPages
	}
	if o.Pages < 1 || o.Pages > MaxPages {
		bad("pages", "%d, want 1-%d", o.Pages, MaxPages)
	}
	return problems.Err()
}

// Source polls the reviews of one app.
type Source struct {
	spec crawlers.Spec
	opts Options
	svc  *androidpublisher.Service
	now  func() time.Time
	log  *slog.Logger
}

// New builds a playreviews source. It reads the key file; it makes no
// network call.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	creds := []byte(opts.ServiceAccountJSON)
	if opts.ServiceAccountFile != "" {
		if creds, err = os.ReadFile(opts.ServiceAccountFile); err != nil {
			return nil, fmt.Errorf("options.service_account_file: %w", err)
		}
	}
	var sa struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(creds, &sa) != nil || sa.Type != "service_account" {
		return nil, errors.New("options.service_account_file: not a service account JSON key")
	}
	svc, err := androidpublisher.NewService(context.Background(),
		option.WithAuthCredentialsJSON(option.ServiceAccount, creds),
		option.WithScopes(androidpublisher.AndroidpublisherScope),
		option.WithEndpoint(strings.TrimRight(opts.Endpoint, "/")+"/"),
		option.WithUserAgent(deps.UserAgent),
	)
	if err != nil {
		return nil, fmt.Errorf("building the androidpublisher client: %w", err)
	}
	return &Source{spec: spec, opts: opts, svc: svc, now: deps.Now, log: deps.Logger}, nil
}

// Constructor is the crawlers.Constructor of the playreviews type.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	return crawlers.Built(New(spec, deps))
}

// cursor is the state between polls.
type cursor struct {
	// Seen is the newest last-modified time published, and the ids
	// published at exactly that time.
	Seen    time.Time `json:"seen,omitzero"`
	SeenIDs []string  `json:"seen_ids,omitempty"`
	// Run is the run in progress: the next page's token, the floor the
	// run stops at, and how many pages it read.
	Token    string    `json:"token,omitempty"`
	Floor    time.Time `json:"floor,omitzero"`
	FloorIDs []string  `json:"floor_ids,omitempty"`
	Pages    int       `json:"pages,omitempty"`
}

func decode(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	err := json.Unmarshal([]byte(s), &c)
	return c, err
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Poll reads the next page of the current run (starting one when none is
// pending) and returns the reviews newer than the previous run's newest.
func (s *Source) Poll(ctx context.Context, raw string) (crawlers.Page, error) {
	cur, err := decode(raw)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursor{}
	}
	if cur.Token == "" {
		cur.Floor, cur.FloorIDs, cur.Pages = cur.Seen, append([]string(nil), cur.SeenIDs...), 0
	}
	call := s.svc.Reviews.List(s.opts.PackageName).MaxResults(int64(s.opts.MaxResults)).Context(ctx)
	if cur.Token != "" {
		call = call.Token(cur.Token)
	}
	resp, err := call.Do()
	if err != nil {
		return crawlers.Page{}, classify(err)
	}
	cur.Pages++
	var page crawlers.Page
	now := s.now()
	reachedOld := false
	for _, r := range resp.Reviews {
		post, at, reason := s.post(r, now)
		if reason != "" {
			page.Skipped.Add(reason, 1)
			continue
		}
		switch {
		case at.Before(cur.Floor):
			reachedOld = true
			continue
		case at.Equal(cur.Floor) && contains(cur.FloorIDs, r.ReviewId):
			reachedOld = true
			continue
		}
		page.Posts = append(page.Posts, post)
		switch {
		case at.After(cur.Seen):
			cur.Seen, cur.SeenIDs = at, []string{r.ReviewId}
		case at.Equal(cur.Seen) && !contains(cur.SeenIDs, r.ReviewId):
			cur.SeenIDs = append(cur.SeenIDs, r.ReviewId)
		}
	}
	next := ""
	if resp.TokenPagination != nil {
		next = resp.TokenPagination.NextPageToken
	}
	if reachedOld || next == "" || cur.Pages >= s.opts.Pages {
		cur.Token, cur.FloorIDs, cur.Pages = "", nil, 0
	} else {
		cur.Token = next
	}
	page.More = cur.Token != ""
	page.Cursor = cur.encode()
	return page, nil
}

// post turns a review into a post: the user's comment (Play separates the
// title from the body with a tab), its stars, the app version it was
// written on and its last-modified time.
// post turns a review into a post, or says why it was skipped.
func (s *Source) post(r *androidpublisher.Review, now time.Time) (signals.Post, time.Time, string) {
	var uc *androidpublisher.UserComment
	for _, c := range r.Comments {
		if c != nil && c.UserComment != nil {
			uc = c.UserComment
			break
		}
	}
	switch {
	case r.ReviewId == "":
		return signals.Post{}, time.Time{}, crawlers.SkipNoID
	case uc == nil:
		return signals.Post{}, time.Time{}, crawlers.SkipNoText
	case uc.LastModified == nil:
		return signals.Post{}, time.Time{}, crawlers.SkipNoTime
	}
	at := time.Unix(uc.LastModified.Seconds, uc.LastModified.Nanos).UTC()
	text := strings.TrimSpace(strings.ReplaceAll(uc.Text, "\t", "\n"))
	switch {
	case text == "":
		return signals.Post{}, time.Time{}, crawlers.SkipNoText
	case uc.StarRating < 1 || uc.StarRating > 5:
		return signals.Post{}, time.Time{}, crawlers.SkipBadValue
	}
	if len(text) > signals.MaxTextBytes {
		text = strings.ToValidUTF8(text[:signals.MaxTextBytes], "")
	}
	p := signals.Post{
		Type:       signals.TypePost,
		Time:       at,
		Source:     s.spec.Name,
		ID:         r.ReviewId,
		Service:    s.spec.Service,
		Text:       text,
		Lang:       lang(uc.ReviewerLanguage),
		URL:        "https://play.google.com/store/apps/details?id=" + s.opts.PackageName + "&reviewId=" + r.ReviewId,
		Author:     strings.TrimSpace(r.AuthorName),
		Fetched:    now,
		Reach:      int(uc.ThumbsUpCount),
		Rating:     float64(uc.StarRating),
		AppVersion: strings.TrimSpace(uc.AppVersionName),
	}
	return p, at, ""
}

// lang keeps the language part of Play's reviewerLanguage ("en", "ko_KR").
func lang(l string) string {
	l, _, _ = strings.Cut(strings.ReplaceAll(l, "-", "_"), "_")
	return strings.ToLower(l)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// classify maps API errors to the runner's contract: 429 waits for
// Retry-After, 401/403/404 are permanent, the rest is retried with backoff.
func classify(err error) error {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return fmt.Errorf("listing reviews: %w", err)
	}
	msg := fmt.Errorf("listing reviews: %d %s: %s", gerr.Code, http.StatusText(gerr.Code), gerr.Message)
	switch gerr.Code {
	case http.StatusTooManyRequests:
		wait := time.Minute
		if s := gerr.Header.Get("Retry-After"); s != "" {
			if d, err := time.ParseDuration(s + "s"); err == nil && d > 0 {
				wait = d
			}
		}
		return &crawlers.RateLimitError{RetryAfter: wait, Err: msg}
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return &crawlers.PermanentError{Err: msg}
	}
	return msg
}

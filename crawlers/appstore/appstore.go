// Package appstore polls Apple's public customer-reviews feed of an app,
// per country, for reviews newer than the previous run.
//
// The feed (itunes.apple.com/{cc}/rss/customerreviews/page={n}/id={app}/
// sortby=mostrecent/json) needs no key, holds at most 10 pages of 50 reviews
// per country and reports no rate limits. Each poll makes one request: a run
// walks the countries in turn, page by page, until it meets a review the
// previous run saw (or options.pages pages), with Page.More set until the
// run is done. The cursor keeps, per country, the newest review id (ids are
// increasing numbers) and its update time, plus the pages still pending.
package appstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/signals"
)

// Type is the source type name used in configuration.
const Type = "appstore"

// Defaults and bounds of Options.
const (
	DefaultBaseURL = "https://itunes.apple.com"
	DefaultPages   = 2
	// MaxPages is the deepest page the feed serves.
	MaxPages = 10
)

var (
	appIDRE   = regexp.MustCompile(`^[0-9]{1,20}$`)
	countryRE = regexp.MustCompile(`^[a-z]{2}$`)
)

// Options are the `options` of an appstore source.
type Options struct {
	// BaseURL is the feed's host (default https://itunes.apple.com).
	BaseURL string `yaml:"base_url"`
	// AppID is the app's numeric App Store id (the digits of id389801252).
	AppID string `yaml:"app_id"`
	// Countries are the storefronts read, as two-letter codes (default [us]).
	Countries []string `yaml:"countries"`
	// Pages bounds the pages of 50 reviews read per country and run (1-10,
	// default 2).
	Pages int `yaml:"pages"`
}

// Validate applies defaults and checks the options; messages name the field
// relative to the source spec (`options.app_id: required`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if !crawlers.IsHTTPURL(o.BaseURL) {
		bad("base_url", "%q must be an http(s) URL", o.BaseURL)
	}
	o.AppID = strings.TrimPrefix(strings.TrimSpace(o.AppID), "id")
	switch {
	case o.AppID == "":
		bad("app_id", "required (the digits of the app's App Store URL, e.g. 389801252)")
	case !appIDRE.MatchString(o.AppID):
		bad("app_id", "%q is not a numeric App Store id", o.AppID)
	}
	if len(o.Countries) == 0 {
		o.Countries = []string{"us"}
	}
	for i, cc := range o.Countries {
		cc = strings.ToLower(strings.TrimSpace(cc))
		o.Countries[i] = cc
		switch j := slices.Index(o.Countries[:i], cc); {
		case !countryRE.MatchString(cc):
			bad(fmt.Sprintf("countries[%d]", i), "%q is not a two-letter country code", cc)
		case j >= 0:
			bad(fmt.Sprintf("countries[%d]", i), "%q repeats options.countries[%d]", cc, j)
		}
	}
	if o.Pages == 0 {
		o.Pages = DefaultPages
	}
	if o.Pages < 1 || o.Pages > MaxPages {
		bad("pages", "%d, want 1-%d", o.Pages, MaxPages)
	}
	return problems.Err()
}

// Source polls the review feed of one app. It is safe for concurrent use,
// though the runner polls each instance from one goroutine.
type Source struct {
	spec   crawlers.Spec
	opts   Options
	ua     string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	bench *httpsrc.Bench // countries refused (4xx)
}

// New builds an appstore source from its spec. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	return &Source{
		spec:   spec,
		opts:   opts,
		ua:     deps.UserAgent,
		client: deps.HTTPClient(spec.Timeout),
		now:    deps.Now,
		log:    deps.Logger,
		bench:  httpsrc.NewBench(opts.Countries, deps.Now, crawlers.PermanentFactor*spec.Interval),
	}, nil
}

// Constructor is the crawlers.Constructor of the appstore type.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	return crawlers.Built(New(spec, deps))
}

// Poll makes the next request of the current run (starting a new run when
// none is pending) and returns the reviews newer than the cursor.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursorState{}
	}
	cur.prune(s.opts.Countries)
	if len(cur.Pending) == 0 {
		for _, cc := range s.opts.Countries {
			cur.Pending = append(cur.Pending, step{Country: cc, Page: 1})
		}
	}
	var page crawlers.Page
	for len(cur.Pending) > 0 {
		st := cur.Pending[0]
		cur.Pending = cur.Pending[1:]
		if _, ok := s.bench.Benched(st.Country); ok {
			continue
		}
		f, err := s.fetch(ctx, st.Country, st.Page)
		var re *httpsrc.RefusedError
		if errors.As(err, &re) {
			if !s.bench.Refuse(st.Country) {
				return crawlers.Page{}, err
			}
			// Said once as a PermanentError; from now on the others go on.
			s.log.Error("country still refused, skipping it", "country", st.Country, "err", err)
			continue
		}
		if err != nil {
			return crawlers.Page{}, err
		}
		s.bench.Accept(st.Country)
		floor := cur.Marks[st.Country]
		if st.Floor != nil {
			floor = *st.Floor
		}
		newest := cur.Marks[st.Country]
		reachedOld := false
		now := s.now()
		for _, r := range f.reviews {
			switch {
			case floor.before(r.id):
				page.Posts = append(page.Posts, s.post(r, now))
				newest.add(r.id, r.updated)
			case r.updated.IsZero() || !r.updated.After(floor.Updated):
				// An undated review can only be judged by its id.
				reachedOld = true
			}
			// else: an old review edited since; sortby=mostrecent lists it
			// first, and newer reviews may follow.
		}
		page.Skipped.Merge(f.skipped)
		if cur.Marks == nil {
			cur.Marks = make(map[string]mark)
		}
		cur.Marks[st.Country] = newest
		if !reachedOld && f.entries > 0 && st.Page < s.opts.Pages && (f.lastPage == 0 || st.Page < f.lastPage) {
			next := step{Country: st.Country, Page: st.Page + 1, Floor: &floor}
			cur.Pending = append([]step{next}, cur.Pending...)
		}
		break
	}
	page.More = len(cur.Pending) > 0
	page.Cursor = cur.encode()
	return page, nil
}

func (s *Source) post(r review, now time.Time) signals.Post {
	at, from := r.updated, ""
	if at.IsZero() {
		at, from = now, signals.TimeFromFetched
	}
	return signals.Post{
		Type:     signals.TypePost,
		Time:     at,
		TimeFrom: from,
		Source:   s.spec.Name,
		ID:       r.id,
		Service:  s.spec.Service,
		Text:     r.text,
		URL:      r.url,
		Author:   r.author,
		Fetched:  now,
		Reach:    r.votes,
		Rating:   r.rating,

		AppVersion: r.version,
	}
}

// Package forum polls community boards: HTML list pages of posts, read with
// CSS selectors from the configuration, fetched with gocolly/colly.
//
// Each poll reads one list page (pinned notices skipped), keeps the rows
// not seen before and returns them as posts about the configured service;
// with follow it also reads each new post's view page for its body. A run
// goes from the first list page on (by a {page} number in the URL or a next
// link) until it reaches rows seen before, or max_pages pages.
//
// Board times are coarse ("18:31", "11.24", "3분 전"), so rows are told
// apart by id: the cursor keeps a ring of the last 500 ids plus the newest
// row time.
package forum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/andybalholm/cascadia"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/internal/scrape"
)

// Type is the source type name used in configuration.
const Type = "forum"

// Defaults and bounds of Options.
const (
	DefaultMaxBody  = 5 << 20
	DefaultMaxPages = 2
	MaxMaxPages     = 10
	DefaultDelay    = time.Second
	DefaultTimezone = "Asia/Seoul"
	// FollowPerPoll bounds the view pages read in one poll; the rest wait
	// in the cursor for the next poll (Page.More).
	FollowPerPoll = 20
	// maxSkew bounds how far in the future a row time may move the cursor.
	maxSkew = 10 * time.Minute
	// timeSlack: a row more than this older than the newest row seen before
	// the run is old even when its id has left the ring. It exceeds the
	// coarsest board time (a date without a time of day).
	timeSlack = 24 * time.Hour
)

// charsetAliases maps names the WHATWG index lacks to the encoding that
// decodes them: its euc-kr is Microsoft's code page 949, a superset.
var charsetAliases = map[string]string{"cp949": "euc-kr", "ms949": "euc-kr", "uhc": "euc-kr", "x-windows-949": "euc-kr"}

// Options are the `options` of a forum source.
type Options struct {
	// URL is the list page; a {page} placeholder is replaced by the page
	// number (1, 2, ...).
	URL string `yaml:"url"`
	// Item selects one row of the list. The other selectors apply inside
	// a row (or to the row itself when it matches).
	Item   string `yaml:"item"`
	Title  string `yaml:"title"`
	Link   string `yaml:"link"` // its href is the post URL, resolved against the page
	Time   string `yaml:"time"`
	Author string `yaml:"author"`
	Body   string `yaml:"body"`
	// TimeAttr reads the time from this attribute of the time element
	// (e.g. title="2026-11-24 18:31:05") when present, else its text.
	TimeAttr string `yaml:"time_attr"`
	// Skip selects rows to leave out (pinned notices, ads): a row that
	// matches it or holds an element that does.
	Skip string `yaml:"skip"`
	// ID is a regular expression applied to the post URL; its first group
	// (else the whole match) is the post id. Default: the URL without
	// fragment and without a page parameter.
	ID string `yaml:"id"`
	// Follow reads each new post's view page (its body under ViewBody).
	Follow   bool   `yaml:"follow"`
	ViewBody string `yaml:"view_body"`
	// Next selects the next-page link, for boards without {page} URLs.
	Next string `yaml:"next"`
	// MaxPages bounds the list pages of one run (default 2, at most 10).
	MaxPages int `yaml:"max_pages"`
	// TimeFormat lists Go layouts tried before the built-in board patterns.
	TimeFormat []string `yaml:"time_format"`
	// Timezone of the board's times (default Asia/Seoul).
	Timezone string `yaml:"timezone"`
	// Charset forces the body's encoding (euc-kr, cp949) for servers that
	// do not name it in their Content-Type header.
	Charset string `yaml:"charset"`
	// Lang is the language of the posts (e.g. "ko").
	Lang string `yaml:"lang"`
	// RespectRobots honours robots.txt (default true).
	RespectRobots *bool `yaml:"respect_robots"`
	// UserAgent replaces the default one, which names Aftershock.
	UserAgent string `yaml:"user_agent"`
	// Delay is the pause after each request to the board (default 1s).
	Delay *time.Duration `yaml:"delay"`
	// MaxBody caps the response size in bytes (default 5 MiB).
	MaxBody int `yaml:"max_body"`

	loc     *time.Location
	idRE    *regexp.Regexp
	layouts []layout
}

// Validate applies defaults and checks the options; messages name the
// field relative to the source spec (`options.url: ...`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	paged := strings.Contains(o.URL, "{page}")
	if o.URL == "" {
		bad("url", "required")
	} else if u, err := url.Parse(strings.ReplaceAll(o.URL, "{page}", "1")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "%q must be an http(s) URL", o.URL)
	}
	for _, sel := range []struct {
		field, value string
		required     bool
	}{
		{"item", o.Item, true}, {"title", o.Title, true}, {"link", o.Link, true}, {"time", o.Time, true},
		{"author", o.Author, false}, {"body", o.Body, false}, {"skip", o.Skip, false},
		{"view_body", o.ViewBody, false}, {"next", o.Next, false},
	} {
		switch {
		case sel.value == "" && sel.required:
			bad(sel.field, "required")
		case sel.value != "":
			if _, err := cascadia.Compile(sel.value); err != nil {
				bad(sel.field, "bad CSS selector %q: %v", sel.value, err)
			}
		}
	}
	switch {
	case o.Follow && o.ViewBody == "":
		bad("view_body", "required when options.follow is true")
	case !o.Follow && o.ViewBody != "":
		bad("view_body", "set, but options.follow is false")
	}
	if paged && o.Next != "" {
		bad("next", "set, but options.url pages with {page}; use one of them")
	}
	if o.ID != "" {
		re, err := regexp.Compile(o.ID)
		if err != nil {
			bad("id", "bad regular expression: %v", err)
		}
		o.idRE = re
	}
	if o.MaxPages == 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxPages < 1 || o.MaxPages > MaxMaxPages {
		bad("max_pages", "%d, want 1 to %d", o.MaxPages, MaxMaxPages)
	}
	o.layouts = nil
	for i, f := range o.TimeFormat {
		l, err := newLayout(f)
		if err != nil {
			bad(fmt.Sprintf("time_format[%d]", i), "%v", err)
			continue
		}
		o.layouts = append(o.layouts, l)
	}
	if o.Timezone == "" {
		o.Timezone = DefaultTimezone
	}
	if loc, err := time.LoadLocation(o.Timezone); err == nil {
		o.loc = loc
	} else if o.Timezone == DefaultTimezone {
		o.loc = time.FixedZone("KST", 9*60*60) // no zone database; Korea has kept +09:00 since 1988
	} else {
		bad("timezone", "unknown time zone %q", o.Timezone)
	}
	if alias, ok := charsetAliases[strings.ToLower(o.Charset)]; ok {
		o.Charset = alias
	}
	if o.Charset != "" {
		if _, err := htmlindex.Get(o.Charset); err != nil {
			bad("charset", "unknown charset %q", o.Charset)
		}
	}
	if o.RespectRobots == nil {
		yes := true
		o.RespectRobots = &yes
	}
	if o.Delay == nil {
		d := DefaultDelay
		o.Delay = &d
	}
	if *o.Delay < 0 {
		bad("delay", "%s is negative", *o.Delay)
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBody < 0 {
		bad("max_body", "%d is negative", o.MaxBody)
	}
	return problems.Err()
}

// Source polls one board. It is safe for concurrent use.
type Source struct {
	spec    crawlers.Spec
	opts    Options
	clock   clock
	now     func() time.Time
	log     *slog.Logger
	fetcher *scrape.Fetcher
	// followBatch is FollowPerPoll; tests lower it.
	followBatch int
}

// New builds a forum source from its spec. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = deps.UserAgent
	}
	return &Source{
		spec:  spec,
		opts:  opts,
		clock: clock{loc: opts.loc, layouts: opts.layouts},
		now:   deps.Now,
		log:   deps.Logger,
		fetcher: scrape.New(scrape.Config{
			UserAgent:    ua,
			Client:       func() *http.Client { return deps.HTTPClient(spec.Timeout) },
			MaxBody:      opts.MaxBody,
			Charset:      opts.Charset,
			IgnoreRobots: !*opts.RespectRobots,
			// One request at a time, with a pause after each: polite
			// to the board.
			Delay: *opts.Delay,
			Now:   deps.Now,
		}),

		followBatch: FollowPerPoll,
	}, nil
}

// Constructor is the crawlers.Constructor of the forum type.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	return crawlers.Built(New(spec, deps))
}

// pageURL is the list page of a page number in {page} mode.
func (s *Source) pageURL(n int) string {
	return strings.ReplaceAll(s.opts.URL, "{page}", strconv.Itoa(n))
}

// Poll reads the next list page of the run under way (or the first page)
// or, with follow, the next view pages, and returns the posts not seen
// before.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursorState{}
	}
	now := s.now()
	if len(cur.Pending) > 0 {
		return s.readViews(ctx, cur, now, nil)
	}

	target := s.pageURL(1)
	if cur.Next != "" {
		target = cur.Next
	} else {
		cur.endRun()
		cur.Floor = cur.Newest
	}
	r, err := s.fetch(ctx, target)
	if err != nil {
		return crawlers.Page{}, err
	}
	if !r.OK() {
		return crawlers.Page{}, r.StatusError(s.now())
	}
	list, err := s.parseList(r, now)
	if err != nil {
		return crawlers.Page{}, fmt.Errorf("parsing %s: %w", target, err)
	}
	if list.matched == 0 && cur.Pages == 0 {
		// The first page of a board always has rows: the layout changed
		// or the selectors are wrong. Later pages may run out.
		return crawlers.Page{}, &crawlers.PermanentError{Err: fmt.Errorf("parsing %s: options.item %q matched no rows (has the board's layout changed?)", target, s.opts.Item)}
	}

	reachedOld := false
	var fresh []row
	for _, rw := range list.rows {
		switch {
		case cur.seenBefore(rw.ID), !cur.Floor.IsZero() && rw.Time.Before(cur.Floor.Add(-timeSlack)):
			reachedOld = true
			continue
		case cur.seen(rw.ID): // read earlier in this run: the list moved between pages
			continue
		}
		cur.remember(rw.ID)
		if rw.Time.After(cur.Newest) && !rw.Time.After(now.Add(maxSkew)) {
			cur.Newest = rw.Time
		}
		fresh = append(fresh, rw)
	}
	cur.Pages++
	cur.Next = ""
	if !reachedOld && len(fresh) > 0 && cur.Pages < s.opts.MaxPages {
		if next, err := s.nextURL(r.URL, list.next, cur.Pages+1); err != nil {
			s.log.Warn("not following next page", "page", target, "err", err)
		} else {
			cur.Next = next
		}
	}
	if s.opts.Follow {
		cur.Pending = fresh
		return s.readViews(ctx, cur, now, list.skipped)
	}
	page := crawlers.Page{Skipped: list.skipped}
	for _, rw := range fresh {
		page.Posts = append(page.Posts, s.post(rw, "", now))
	}
	return s.finish(page, cur), nil
}

// finish sets the page's cursor and More, ending the run when nothing is left.
func (s *Source) finish(page crawlers.Page, cur cursorState) crawlers.Page {
	page.More = cur.inRun()
	if !page.More {
		cur.endRun()
	}
	page.Cursor = cur.encode()
	return page
}

// readViews reads the view pages of up to FollowPerPoll pending rows. A
// view page that is gone (4xx, robots.txt, too large) leaves the post with
// its title alone; a rate limit, a 5xx or a timeout fails the poll so the
// rows are read again.
func (s *Source) readViews(ctx context.Context, cur cursorState, now time.Time, skipped crawlers.Skips) (crawlers.Page, error) {
	page := crawlers.Page{Skipped: skipped}
	n := min(len(cur.Pending), s.followBatch)
	for _, rw := range cur.Pending[:n] {
		body, err := s.viewBody(ctx, rw.Link)
		var pe *crawlers.PermanentError
		switch {
		case errors.As(err, &pe):
			s.log.Debug("view page unreadable, keeping the title", "url", rw.Link, "err", err)
		case err != nil:
			return crawlers.Page{}, err
		}
		page.Posts = append(page.Posts, s.post(rw, body, now))
	}
	cur.Pending = cur.Pending[n:]
	return s.finish(page, cur), nil
}

// nextURL is the list page after the current one: page n in {page} mode,
// else the next link, which must stay on the board's host.
func (s *Source) nextURL(base *url.URL, ref string, n int) (string, error) {
	if strings.Contains(s.opts.URL, "{page}") {
		return s.pageURL(n), nil
	}
	if ref == "" {
		return "", nil
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("next page %q: %w", ref, err)
	}
	u := base.ResolveReference(r)
	u.Fragment = ""
	home, _ := url.Parse(s.opts.URL)
	switch {
	case u.Scheme != home.Scheme || u.Host != home.Host:
		return "", fmt.Errorf("next page %q is not on %s://%s", u, home.Scheme, home.Host)
	case u.String() == base.String():
		return "", nil // the last page links to itself
	}
	return u.String(), nil
}

// Package feed is a generic poller of RSS 2.0, Atom and JSON APIs (a forum's
// feed, a status page, a search API), fetched with gocolly/colly.
//
// Each poll fetches the configured URL (with a conditional GET), keeps the
// items newer than the cursor and returns them as posts about the configured
// service. The cursor is the newest item time plus the ids seen at exactly
// that time, so items sharing a timestamp are neither repeated nor lost.
// A JSON API with a next-page field is followed page by page (newest first)
// until it reaches items the previous run already saw.
package feed

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/internal/scrape"
)

// Type is the source type name used in configuration.
const Type = "feed"

// Defaults of Options.
const (
	DefaultMaxBody  = 5 << 20
	DefaultMaxPages = 3
	// maxSkew bounds how far in the future an item's time may move the
	// cursor, so one wrong clock cannot hide every later item.
	maxSkew = 10 * time.Minute
)

// Options are the `options` of a feed source.
type Options struct {
	// URL is the http(s) address of the feed; a {query} placeholder is
	// replaced by the URL-escaped Query.
	URL   string `yaml:"url"`
	Query string `yaml:"query"`
	// Format is rss, atom or json; empty picks it from the Content-Type and
	// the body.
	Format string `yaml:"format"`
	// Charset forces the body's encoding (e.g. euc-kr) when the server does
	// not name it in its Content-Type header.
	Charset string `yaml:"charset"`
	// Lang is the language of items that name none (e.g. "ko").
	Lang string `yaml:"lang"`
	// Headers are sent with every request (API keys: use ${ENV} in the config).
	Headers map[string]string `yaml:"headers"`
	// MaxBody caps the response size in bytes (default 5 MiB).
	MaxBody int `yaml:"max_body"`
	// JSON says where a JSON response keeps its items and their fields.
	JSON JSONFields `yaml:"json"`
}

// JSONFields are dot paths into a JSON response ("data.posts", "user.name";
// a number segment indexes an array).
type JSONFields struct {
	// Items is the path of the array of items; empty means the body itself.
	Items string `yaml:"items"`
	// ID, Text and Time are required for JSON; the rest are optional.
	ID     string `yaml:"id"`
	Title  string `yaml:"title"`
	Text   string `yaml:"text"`
	Time   string `yaml:"time"`
	URL    string `yaml:"url"`
	Author string `yaml:"author"`
	Lang   string `yaml:"lang"`
	// StripHTML removes tags and entities from title and text (search APIs
	// that highlight matches with <b>).
	StripHTML bool `yaml:"strip_html"`
	// Next is the path of the next page: a URL (absolute or relative), or a
	// token put into the query parameter NextParam of the feed URL.
	Next      string `yaml:"next"`
	NextParam string `yaml:"next_param"`
	// MaxPages bounds the pages followed in one run (default 3).
	MaxPages int `yaml:"max_pages"`
}

// Validate applies defaults and checks the options; messages name the
// field relative to the source spec (`options.url: ...`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if o.URL == "" {
		bad("url", "required")
	} else if u, err := url.Parse(strings.ReplaceAll(o.URL, "{query}", "q")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "%q must be an http(s) URL", o.URL)
	}
	hasPlaceholder := strings.Contains(o.URL, "{query}")
	switch {
	case hasPlaceholder && o.Query == "":
		bad("query", "required by the {query} placeholder in options.url")
	case !hasPlaceholder && o.Query != "":
		bad("query", "set, but options.url has no {query} placeholder")
	}
	switch o.Format {
	case "", formatRSS, formatAtom, formatJSON:
	default:
		bad("format", "%q, want rss, atom, json or empty (auto)", o.Format)
	}
	if o.Charset != "" {
		if _, err := htmlindex.Get(o.Charset); err != nil {
			bad("charset", "unknown charset %q", o.Charset)
		}
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxBody < 0 {
		bad("max_body", "%d is negative", o.MaxBody)
	}
	if o.Format == formatJSON {
		for field, v := range map[string]string{"id": o.JSON.ID, "text": o.JSON.Text, "time": o.JSON.Time} {
			if v == "" {
				bad("json."+field, "required when options.format is json")
			}
		}
	}
	if o.JSON.NextParam != "" && o.JSON.Next == "" {
		bad("json.next_param", "set without options.json.next")
	}
	if o.JSON.MaxPages == 0 {
		o.JSON.MaxPages = DefaultMaxPages
	}
	if o.JSON.MaxPages < 1 {
		bad("json.max_pages", "%d, want at least 1", o.JSON.MaxPages)
	}
	return problems.Err()
}

// Source polls one feed. It is safe for concurrent use.
type Source struct {
	spec    crawlers.Spec
	opts    Options
	url     string
	now     func() time.Time
	log     *slog.Logger
	fetcher *scrape.Fetcher
}

// New builds a feed source from its spec. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	return &Source{
		spec: spec,
		opts: opts,
		url:  strings.ReplaceAll(opts.URL, "{query}", url.QueryEscape(opts.Query)),
		now:  deps.Now,
		log:  deps.Logger,
		fetcher: scrape.New(scrape.Config{
			UserAgent: deps.UserAgent,
			Client:    func() *http.Client { return deps.HTTPClient(spec.Timeout) },
			MaxBody:   opts.MaxBody,
			Charset:   opts.Charset,
			Now:       deps.Now,
		}),
	}, nil
}

// Constructor is the crawlers.Constructor of the feed type.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	return crawlers.Built(New(spec, deps))
}

// decoded reports whether colly converted the body to UTF-8, from a
// charset forced by the options or named by the Content-Type header.
func (s *Source) decoded(r *scrape.Response) bool {
	_, params, _ := mimeParams(r.Header.Get("Content-Type"))
	cs := strings.ToLower(params["charset"])
	return s.opts.Charset != "" || (cs != "" && cs != "utf-8" && cs != "utf8")
}

// Poll fetches the feed and returns the items newer than cursor.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursorState{}
	}
	paging := cur.Next != ""
	floor := cur.Mark
	target := s.url
	hdr := http.Header{}
	for k, v := range s.opts.Headers {
		hdr.Set(k, v)
	}
	hdr.Set("Accept", "application/rss+xml, application/atom+xml, application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
	if paging {
		target = cur.Next
		if cur.Floor != nil {
			floor = *cur.Floor
		}
	} else {
		if cur.ETag != "" {
			hdr.Set("If-None-Match", cur.ETag)
		}
		if cur.Modified != "" {
			hdr.Set("If-Modified-Since", cur.Modified)
		}
	}
	r, err := s.fetcher.Fetch(ctx, target, hdr)
	if err != nil {
		return crawlers.Page{}, err
	}
	switch {
	case r.Status == http.StatusNotModified || r.Status == http.StatusNoContent:
		return crawlers.Page{Cursor: cursor}, nil
	case !r.OK():
		return crawlers.Page{}, r.StatusError(s.now())
	}

	doc, err := s.parse(r)
	if err != nil {
		return crawlers.Page{}, fmt.Errorf("parsing %s: %w", target, err)
	}
	now := s.now()
	page := crawlers.Page{Skipped: doc.skipped}
	next := cursorState{Mark: cur.Mark, ETag: cur.ETag, Modified: cur.Modified}
	if !paging {
		next.ETag, next.Modified = r.Header.Get("ETag"), r.Header.Get("Last-Modified")
	}
	reachedOld := false
	for _, it := range doc.items {
		if err := it.check(); err != nil {
			page.Skip(crawlers.SkipReason(err))
			s.log.Debug("skipping malformed item", "id", it.id, "err", err)
			continue
		}
		if !floor.isNew(it.time, it.id) {
			reachedOld = true
			continue
		}
		page.Posts = append(page.Posts, s.post(it, now))
		if !it.time.After(now.Add(maxSkew)) {
			next.Mark.add(it.time, it.id)
		}
	}
	if doc.next != "" && !reachedOld && len(page.Posts) > 0 && cur.Pages+1 < s.opts.JSON.MaxPages {
		if u, err := s.nextURL(r.URL, doc.next); err != nil {
			s.log.Warn("not following next page", "err", err)
		} else {
			next.Next, next.Pages, next.Floor = u, cur.Pages+1, &floor
			page.More = true
		}
	}
	page.Cursor = next.encode()
	return page, nil
}

// nextURL resolves the next page reference against the page's URL. It stays
// on the configured host so headers (API keys) never go elsewhere.
func (s *Source) nextURL(base *url.URL, ref string) (string, error) {
	var u *url.URL
	if s.opts.JSON.NextParam != "" {
		b, err := url.Parse(s.url)
		if err != nil {
			return "", err
		}
		q := b.Query()
		q.Set(s.opts.JSON.NextParam, ref)
		b.RawQuery = q.Encode()
		u = b
	} else {
		r, err := url.Parse(ref)
		if err != nil {
			return "", fmt.Errorf("next page %q: %w", ref, err)
		}
		u = base.ResolveReference(r)
	}
	home, _ := url.Parse(s.url)
	if u.Scheme != home.Scheme || u.Host != home.Host {
		return "", fmt.Errorf("next page %q is not on %s://%s", u, home.Scheme, home.Host)
	}
	return u.String(), nil
}

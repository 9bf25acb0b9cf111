// Package hackernews searches Hacker News stories and comments through the
// Algolia HN Search API (`/api/v1/search_by_date`, newest first).
//
// Each poll asks for the hits created at or after the newest second already
// read (numericFilters=created_at_i>=LAST) and drops the objectIDs already
// read at that second, so hits sharing a second are neither lost nor
// repeated. When the answer has more pages, the run reads them one poll at a
// time (Page.More) with the same lower bound.
package hackernews

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/signals"
)

// Type is the source type name used in configuration.
const Type = "hackernews"

// Defaults and bounds of Options.
const (
	DefaultBaseURL     = "https://hn.algolia.com"
	DefaultTags        = "(story,comment)"
	DefaultHitsPerPage = 100
	MaxHitsPerPage     = 1000
	// MaxReachable is how deep Algolia lets a query page (about 1,000 hits).
	MaxReachable = 1000
	// MaxBody caps one response.
	MaxBody = 16 << 20
	// ItemURL is the web address of an item, by objectID.
	ItemURL = "https://news.ycombinator.com/item?id="
)

// Options are the `options` of a hackernews source.
type Options struct {
	// BaseURL is the Algolia HN Search host (default https://hn.algolia.com).
	BaseURL string `yaml:"base_url"`
	// Query is the full-text query, e.g. the product's name.
	Query string `yaml:"query"`
	// Tags filters hits: story, comment, show_hn, ask_hn, author_<user>,
	// story_<id>; commas AND, parentheses OR (default "(story,comment)").
	Tags string `yaml:"tags"`
	// HitsPerPage is the page size, 1 to 1000 (default 100).
	HitsPerPage int `yaml:"hits_per_page"`
}

// Validate applies defaults and checks the options; messages name the
// field relative to the source spec (`options.base_url: ...`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if strings.TrimSpace(o.Query) == "" && strings.TrimSpace(o.Tags) == "" {
		bad("query", "required unless options.tags narrows the search (e.g. story_123 or author_pg)")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		bad("base_url", "%q must be an http(s) URL without a query", o.BaseURL)
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Tags == "" {
		o.Tags = DefaultTags
	}
	if o.HitsPerPage == 0 {
		o.HitsPerPage = DefaultHitsPerPage
	}
	if o.HitsPerPage < 1 || o.HitsPerPage > MaxHitsPerPage {
		bad("hits_per_page", "%d, want 1 to %d", o.HitsPerPage, MaxHitsPerPage)
	}
	return problems.Err()
}

// Source polls the Algolia HN search. It is safe for concurrent use.
type Source struct {
	spec   crawlers.Spec
	opts   Options
	client *http.Client
	ua     string
	now    func() time.Time
	log    *slog.Logger
}

// New builds a Hacker News source from its spec. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	deps = deps.WithDefaults()
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	return &Source{
		spec:   spec,
		opts:   opts,
		client: deps.HTTPClient(spec.Timeout),
		ua:     deps.UserAgent,
		now:    deps.Now,
		log:    deps.Logger,
	}, nil
}

// Constructor is the crawlers.Constructor of the hackernews type.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	return crawlers.Built(New(spec, deps))
}

// searchURL is the address of one page of hits at or after floor.
func (s *Source) searchURL(floor int64, page int) string {
	q := url.Values{}
	q.Set("query", s.opts.Query)
	q.Set("tags", s.opts.Tags)
	if floor > 0 {
		q.Set("numericFilters", "created_at_i>="+strconv.FormatInt(floor, 10))
	}
	q.Set("hitsPerPage", strconv.Itoa(s.opts.HitsPerPage))
	q.Set("page", strconv.Itoa(page))
	return s.opts.BaseURL + "/api/v1/search_by_date?" + q.Encode()
}

// Poll reads one page of hits newer than cursor. The first poll (empty
// cursor) reads only the newest page: no history backfill.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursorState{}
	}
	floor, pageNo, paging := cur.Mark, 0, cur.Floor != nil
	if paging {
		floor, pageNo = *cur.Floor, cur.Page
	}
	res, err := s.fetch(ctx, s.searchURL(floor.Time, pageNo))
	if err != nil {
		return crawlers.Page{}, err
	}
	now := s.now()
	page := crawlers.Page{}
	next := cursorState{Mark: cur.Mark}
	var last mark
	if paging && cur.Last != nil {
		last = *cur.Last
	}
	for _, raw := range res.Hits {
		h, err := decodeHit(raw)
		if err != nil {
			page.Skip(crawlers.SkipReason(err))
			s.log.Debug("skipping malformed hit", "err", err)
			continue
		}
		if !floor.isNew(h.time, h.ObjectID) {
			continue // read by an earlier run
		}
		// Later pages of a run hold the hits older than the second the
		// run's first page reached; the rest was read on the first page,
		// or arrived during the run and is read by the next run.
		if paging && (h.time >= cur.Mark.Time || last.Time != 0 && !last.older(h.time, h.ObjectID)) {
			continue
		}
		last.addOld(h.time, h.ObjectID)
		post, ok := s.post(h, now)
		if !ok {
			page.Skip(crawlers.SkipNoText)
			s.log.Debug("skipping hit without text or title", "id", h.ObjectID)
			continue
		}
		page.Posts = append(page.Posts, post)
		if !paging {
			next.Mark.add(h.time, h.ObjectID)
		}
	}
	firstRun := cursor == "" || (cur.Mark.Time == 0 && !paging)
	if nextPage := pageNo + 1; !firstRun && nextPage < res.NbPages && len(res.Hits) > 0 {
		if nextPage*s.opts.HitsPerPage >= MaxReachable {
			s.log.Warn("more hits than Algolia lets a query reach; older ones of this burst are not read",
				"hits", res.NbHits, "reachable", MaxReachable)
		} else {
			next.Page, next.Floor, next.Last = nextPage, &floor, &last
			page.More = true
		}
	}
	page.Cursor = next.encode()
	return page, nil
}

// response is the part of an Algolia search answer the source reads.
type response struct {
	Hits    []json.RawMessage `json:"hits"`
	NbHits  int               `json:"nbHits"`
	Page    int               `json:"page"`
	NbPages int               `json:"nbPages"`
}

func (s *Source) fetch(ctx context.Context, target string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("searching %s: %w", target, err)
	}
	req.Header.Set("User-Agent", s.ua)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("searching %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := httpsrc.ReadCapped(resp.Body, MaxBody)
	if err != nil {
		return nil, fmt.Errorf("searching %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, s.statusError(target, resp, body)
	}
	var res response
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("searching %s: not a search answer: %w", target, err)
	}
	return &res, nil
}

// statusError turns a non-200 answer into the error the runner acts on.
// Algolia sends no rate-limit headers; a 429 waits for Retry-After when
// given, else backs off.
func (s *Source) statusError(target string, resp *http.Response, body []byte) error {
	msg := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		msg += ": " + plaintext.Truncate(plaintext.Collapse(e.Message), 300)
	}
	wait, _ := httpsrc.RetryAfter(resp.Header.Get("Retry-After"), s.now())
	return httpsrc.StatusError(resp.StatusCode, wait, fmt.Errorf("searching %s: %s", target, msg))
}

// hit is the part of a search hit the source reads.
type hit struct {
	ObjectID    string  `json:"objectID"`
	CreatedAt   string  `json:"created_at"`
	CreatedAtI  *int64  `json:"created_at_i"`
	Author      string  `json:"author"`
	Title       *string `json:"title"`
	StoryText   *string `json:"story_text"`
	CommentText *string `json:"comment_text"`
	Points      *int    `json:"points"`

	time int64
}

func decodeHit(raw json.RawMessage) (*hit, error) {
	var h hit
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decoding hit: %w", err)
	}
	if h.ObjectID == "" || strings.Trim(h.ObjectID, "0123456789") != "" {
		return nil, crawlers.Skipf(crawlers.SkipNoID, "hit objectID %q is not a number", h.ObjectID)
	}
	switch {
	case h.CreatedAtI != nil && *h.CreatedAtI > crawlers.MaxUnix:
		return nil, crawlers.Skipf(crawlers.SkipNoTime, "hit %s: created_at_i %d is past year 9999", h.ObjectID, *h.CreatedAtI)
	case h.CreatedAtI != nil && *h.CreatedAtI > 0:
		h.time = *h.CreatedAtI
	case h.CreatedAt != "":
		t, err := time.Parse(time.RFC3339Nano, h.CreatedAt)
		if err != nil {
			return nil, crawlers.Skipf(crawlers.SkipNoTime, "hit %s: created_at %q: %w", h.ObjectID, h.CreatedAt, err)
		}
		h.time = t.Unix()
	default:
		return nil, crawlers.Skipf(crawlers.SkipNoTime, "hit %s: no created_at_i", h.ObjectID)
	}
	return &h, nil
}

// post turns a hit into a post: the title, then the story or comment text.
// It reports false for a hit with neither.
func (s *Source) post(h *hit, now time.Time) (signals.Post, bool) {
	var parts []string
	if h.Title != nil {
		if t := plaintext.FromHTML(*h.Title); t != "" {
			parts = append(parts, t)
		}
	}
	for _, body := range []*string{h.StoryText, h.CommentText} {
		if body != nil {
			if t := plaintext.FromHTML(*body); t != "" {
				parts = append(parts, t)
				break
			}
		}
	}
	if len(parts) == 0 {
		return signals.Post{}, false
	}
	p := signals.Post{
		Type:    signals.TypePost,
		Time:    time.Unix(h.time, 0).UTC(),
		Source:  s.spec.Name,
		ID:      h.ObjectID,
		Service: s.spec.Service,
		Text:    plaintext.Truncate(strings.Join(parts, "\n"), signals.MaxTextBytes),
		URL:     ItemURL + h.ObjectID,
		Author:  h.Author,
		Fetched: now,
	}
	if h.Points != nil {
		p.Reach = *h.Points
	}
	return p, true
}

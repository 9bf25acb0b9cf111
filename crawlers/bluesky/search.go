package bluesky

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// Source polls app.bsky.feed.searchPosts through a PDS session. It is safe
// for concurrent use; the session is shared and made at most once at a time.
type Source struct {
	base
	client *http.Client
	auth   auth
}

func newSource(spec crawlers.Spec, opts Options, deps crawlers.Deps) *Source {
	return &Source{
		base:   base{spec: spec, opts: opts, ua: deps.UserAgent, now: deps.Now, log: deps.Logger},
		client: deps.HTTPClient(spec.Timeout),
	}
}

// searchAnswer is the output of searchPosts.
type searchAnswer struct {
	Cursor string            `json:"cursor"`
	Posts  []json.RawMessage `json:"posts"`
}

// Poll asks searchPosts for the newest posts (sort=latest) since the
// cursor's newest sortAt less options.overlap, and returns those not read
// before. The first poll reads the newest page only (no history backfill).
// When a whole page is new and the answer has a search cursor, the poll says
// More and the next one pages back, until it meets a post already read.
func (s *Source) Poll(ctx context.Context, cursor string) (crawlers.Page, error) {
	cur, err := decodeCursor(cursor)
	if err != nil {
		s.log.Warn("unreadable cursor, starting over", "err", err)
		cur = cursorState{}
	}
	params := url.Values{}
	params.Set("q", s.opts.Query)
	params.Set("sort", "latest")
	params.Set("limit", strconv.Itoa(s.opts.Limit))
	if s.opts.Lang != "" {
		params.Set("lang", s.opts.Lang)
	}
	since := ""
	switch {
	case cur.Walk != nil:
		since = cur.Walk.Since
		params.Set("cursor", cur.Walk.Cursor)
	case !cur.Newest.IsZero():
		since = formatTime(cur.Newest.Add(-s.opts.Overlap))
	}
	if since != "" {
		params.Set("since", since)
	}

	r, err := s.authorized(ctx, methodSearchPosts, params)
	if err != nil {
		return crawlers.Page{}, err
	}
	if r.status != http.StatusOK {
		return crawlers.Page{}, s.statusError("searching posts on "+s.opts.Service, r)
	}
	var ans searchAnswer
	if err := json.Unmarshal(r.body, &ans); err != nil {
		return crawlers.Page{}, fmt.Errorf("searching posts: answer is not a searchPosts output: %w", err)
	}

	page := crawlers.Page{RateLimit: rateLimit(r.header, s.now())}
	next := cursorState{Newest: cur.Newest, Seen: maps.Clone(cur.Seen)}
	if next.Seen == nil {
		next.Seen = make(map[string]int64)
	}
	floor, _ := parseTime(since)
	reached := s.collect(&page, ans.Posts, cur.Seen, &next, floor)

	more := since != "" && ans.Cursor != "" && len(ans.Posts) > 0 && !reached
	keepFrom := next.Newest.Add(-s.opts.Overlap)
	if more {
		next.Walk = &walk{Since: since, Cursor: ans.Cursor}
		keepFrom = floor // later pages of this walk may still hold them
	}
	next.prune(keepFrom, MaxSeen)
	page.More = more
	page.Cursor = next.encode()
	return page, nil
}

// collect adds the page's new posts to page and records every readable id
// in next. It reports whether the page reached posts read before (an id in
// seen, or a sortAt below floor): the end of a walk.
func (s *Source) collect(page *crawlers.Page, raws []json.RawMessage, seen map[string]int64, next *cursorState, floor time.Time) (reached bool) {
	now := s.now()
	for _, raw := range raws {
		d, err := decodePostView(raw)
		if d.id != "" {
			if _, ok := seen[d.id]; ok {
				reached = true
				continue
			}
			if _, ok := next.Seen[d.id]; ok {
				continue // twice in one answer
			}
			at := d.seenAt
			if at.IsZero() {
				at = next.Newest
			}
			next.Seen[d.id] = at.UnixMilli()
		}
		if !d.sortAt.IsZero() {
			if d.sortAt.After(next.Newest) {
				next.Newest = d.sortAt
			}
			if !floor.IsZero() && d.sortAt.Before(floor) {
				reached = true // a server that ignored since
			}
		}
		if err != nil {
			page.Skip(crawlers.SkipReason(err))
			s.log.Debug("skipping malformed post", "id", d.id, "err", err)
			continue
		}
		if d.post.Text == "" {
			page.Skip(crawlers.SkipNoText)
			s.log.Debug("skipping post without text", "id", d.id)
			continue
		}
		p := d.post
		p.Source, p.Service, p.Fetched = s.spec.Name, s.spec.Service, now
		page.Posts = append(page.Posts, p)
	}
	return reached
}

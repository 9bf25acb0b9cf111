package x

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/signals"
)

// v2 request parameters. note_tweet carries the full text of posts longer
// than 280 characters, whose text field is cut.
const (
	v2SearchPath  = "/2/tweets/search/recent"
	v2TweetFields = "created_at,author_id,lang,public_metrics,note_tweet"
)

// v2Response is a recent search response, or an error body (problem JSON
// with title/detail/type/status, or the older {"errors":[{code,message}]}).
type v2Response struct {
	// Data is absent when nothing matched. Each post is decoded on its own
	// so one malformed post cannot sink the page.
	Data     []json.RawMessage `json:"data"`
	Includes struct {
		Users []v2User `json:"users"`
	} `json:"includes"`
	Meta struct {
		NewestID    string `json:"newest_id"`
		OldestID    string `json:"oldest_id"`
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
	} `json:"meta"`
	// Errors are partial problems next to the data (an author that could
	// not be found) or the cause of a failed request.
	Errors []v2Error `json:"errors"`
	Title  string    `json:"title"`
	Detail string    `json:"detail"`
	Type   string    `json:"type"`
}

type v2Error struct {
	// ID names the existing rule of a DuplicateRule error.
	ID           string                     `json:"id"`
	Title        string                     `json:"title"`
	Detail       string                     `json:"detail"`
	Type         string                     `json:"type"`
	ResourceType string                     `json:"resource_type"`
	Parameter    string                     `json:"parameter"`
	Value        string                     `json:"value"`
	Message      string                     `json:"message"`
	Code         int                        `json:"code"`
	Parameters   map[string]json.RawMessage `json:"parameters"`
}

type v2User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type v2Tweet struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	AuthorID  string `json:"author_id"`
	CreatedAt string `json:"created_at"`
	Lang      string `json:"lang"`
	NoteTweet *struct {
		Text string `json:"text"`
	} `json:"note_tweet"`
	PublicMetrics struct {
		RetweetCount int `json:"retweet_count"`
		ReplyCount   int `json:"reply_count"`
		LikeCount    int `json:"like_count"`
		QuoteCount   int `json:"quote_count"`
	} `json:"public_metrics"`
}

// describe sums up an error body for an error message.
func (r *v2Response) describe() string {
	var parts []string
	for _, p := range []string{r.Title, r.Detail} {
		if p != "" && !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	if len(r.Errors) > 0 {
		e := r.Errors[0]
		msg := e.Message
		if msg == "" {
			msg = e.Detail
		}
		if e.Code != 0 {
			msg = fmt.Sprintf("code %d %s", e.Code, msg)
		}
		if msg != "" {
			parts = append(parts, msg)
		}
	}
	return truncate(strings.Join(parts, ": "), 400)
}

// hasCode reports whether an error body carries a v1.1-style error code.
func (r *v2Response) hasCode(code int) bool {
	for _, e := range r.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// refusedParam returns since_id or next_token when a 400 names it as
// invalid: a since_id older than the 7 days recent search covers, after a
// long outage, or a page token the API no longer takes.
func (r *v2Response) refusedParam() string {
	for _, name := range []string{"since_id", "next_token"} {
		for _, e := range r.Errors {
			if _, ok := e.Parameters[name]; ok || e.Parameter == name || strings.Contains(e.Message, "'"+name+"'") {
				return name
			}
		}
	}
	return ""
}

// v2Result is one search request's outcome.
type v2Result struct {
	status int
	header http.Header
	body   v2Response
}

func (s *Source) searchV2(ctx context.Context, cur cursorState) (*v2Result, error) {
	q := url.Values{}
	q.Set("query", s.opts.Query)
	q.Set("max_results", strconv.Itoa(s.opts.MaxResults))
	q.Set("tweet.fields", v2TweetFields)
	q.Set("expansions", "author_id")
	q.Set("user.fields", "username")
	if cur.SinceID != "" {
		q.Set("since_id", cur.SinceID)
	}
	if cur.NextToken != "" {
		q.Set("next_token", cur.NextToken)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opts.BaseURL+v2SearchPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("searching X v2: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("searching X v2: %w", ctx.Err())
		}
		return nil, fmt.Errorf("searching X v2: %w", err)
	}
	defer resp.Body.Close()
	data, err := httpsrc.ReadCapped(resp.Body, MaxBody)
	if err != nil {
		return nil, fmt.Errorf("searching X v2: %d response: %w", resp.StatusCode, err)
	}
	res := &v2Result{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(data, &res.body); err != nil && resp.StatusCode == http.StatusOK {
		return nil, fmt.Errorf("searching X v2: decoding response: %w", err)
	}
	return res, nil
}

// pollV2 reads one page of v2 recent search.
func (s *Source) pollV2(ctx context.Context, cur cursorState) (crawlers.Page, error) {
	if cur.MaxID != "" { // a v1.1 run in progress before the switch to v2
		cur = cursorState{SinceID: cur.SinceID}
	}
	res, err := s.searchV2(ctx, cur)
	if err != nil {
		return crawlers.Page{}, err
	}
	if res.status == http.StatusBadRequest && (cur.SinceID != "" || cur.NextToken != "") {
		if param := res.body.refusedParam(); param != "" {
			s.log.Warn("X refused the cursor, reading on from the newest posts", "parameter", param, "detail", res.body.describe())
			if param == "since_id" {
				cur = cursorState{}
			} else {
				cur = cursorState{SinceID: cur.SinceID}
			}
			if res, err = s.searchV2(ctx, cur); err != nil {
				return crawlers.Page{}, err
			}
		}
	}
	if res.status != http.StatusOK {
		return crawlers.Page{}, s.v2Error(res)
	}

	page := crawlers.Page{RateLimit: rateLimit(res.header)}
	users := make(map[string]string, len(res.body.Includes.Users))
	for _, u := range res.body.Includes.Users {
		users[u.ID] = u.Username
	}
	now := s.now()
	next := cur
	next.NewestID = newer(cur.NewestID, res.body.Meta.NewestID)
	for i, raw := range res.body.Data {
		p, err := s.v2Post(raw, users, now)
		s.take(&page, &next, cur.SinceID, i, p, err)
	}
	if n := len(res.body.Errors); n > 0 {
		e := res.body.Errors[0]
		s.log.Warn("X reported partial errors", "count", n, "title", e.Title, "detail", truncate(e.Detail, 200))
	}
	s.turnPage(&page, next, res.body.Meta.NextToken, cur.NextToken, func(c *cursorState, token string) { c.NextToken = token })
	return page, nil
}

// v2Post decodes one v2 post (a search result or a stream message's data);
// users maps author ids to usernames.
func (s *Source) v2Post(raw json.RawMessage, users map[string]string, fetched time.Time) (signals.Post, error) {
	var t v2Tweet
	if err := json.Unmarshal(raw, &t); err != nil {
		return signals.Post{}, err
	}
	if !validID(t.ID) {
		return signals.Post{}, fmt.Errorf("id %q is not a post id", t.ID)
	}
	// A response may lack a requested field (created_at, includes.users:
	// a partial error, a field the plan does not grant). The id carries the
	// time the post was made, and author_id names the author.
	created, from := time.Time{}, ""
	if t.CreatedAt != "" {
		c, err := time.Parse(time.RFC3339, t.CreatedAt)
		if err != nil {
			return signals.Post{}, crawlers.Skipf(crawlers.SkipNoTime, "post %s: created_at: %w", t.ID, err)
		}
		created = c
	} else if c, ok := snowflakeTime(t.ID); ok {
		created, from = c, signals.TimeFromID
	} else {
		return signals.Post{}, crawlers.Skipf(crawlers.SkipNoTime, "post %s: no created_at and an id that is no snowflake", t.ID)
	}
	text := t.Text
	if t.NoteTweet != nil && t.NoteTweet.Text != "" {
		text = t.NoteTweet.Text
	}
	if strings.TrimSpace(text) == "" {
		// Found by FuzzV2Response: a post without text was published.
		return signals.Post{}, crawlers.Skipf(crawlers.SkipNoText, "post %s: no text", t.ID)
	}
	m := t.PublicMetrics
	p := s.post(t.ID, created, text, t.Lang, users[t.AuthorID],
		m.LikeCount+m.RetweetCount+m.ReplyCount+m.QuoteCount, fetched)
	p.TimeFrom = from
	if p.Author == "" && validID(t.AuthorID) {
		p.Author = t.AuthorID
	}
	return p, nil
}

// v2Error classifies a failed v2 request. Both 429 bodies (code 88 and
// problem JSON) wait for x-rate-limit-reset; 401/403 are permanent.
func (s *Source) v2Error(res *v2Result) error {
	return s.statusError(res.status, res.header, "searching X v2", res.body.describe(), res.body.hasCode(88))
}

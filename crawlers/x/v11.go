package x

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dghubble/go-twitter/twitter"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/signals"
)

// Error codes of the v1.1 API that change what the source does.
const (
	codeRateLimited   = 88
	codeLimitedAccess = 453 // "You currently have access to a subset of ... v2 endpoints and limited v1.1 endpoints"
)

// hostTransport sends go-twitter's requests, built for its hard-coded
// https://api.twitter.com/1.1/ base, to the configured base URL instead,
// keeping the path (/1.1/search/tweets.json) behind any prefix. It also
// binds each request to ctx, since go-twitter takes no context, and caps
// the response body.
type hostTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	target *url.URL
}

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(retarget(req, t.ctx, t.target))
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: MaxBody}
	return resp, nil
}

// retarget returns a copy of req bound to ctx and sent to target's scheme
// and host, with target's path prefix before req's path.
func retarget(req *http.Request, ctx context.Context, target *url.URL) *http.Request {
	r := req.Clone(ctx)
	r.URL.Scheme = target.Scheme
	r.URL.Host = target.Host
	r.URL.Path = target.Path + req.URL.Path
	r.URL.RawPath = ""
	r.Host = ""
	return r
}

// cappedBody fails a read past its cap instead of reading on.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Anything beyond the cap is too much; one byte tells.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, &httpsrc.TooLargeError{Limit: MaxBody}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// pollV11 reads one page of v1.1 search through go-twitter.
func (s *Source) pollV11(ctx context.Context, cur cursorState) (crawlers.Page, error) {
	if cur.NextToken != "" { // a v2 run in progress before the switch to v1.1
		cur = cursorState{SinceID: cur.SinceID}
	}
	params := &twitter.SearchTweetParams{
		Query: s.opts.Query,
		Count: s.opts.Count,
		// "mixed" (the default) puts popular older posts first.
		ResultType:      "recent",
		TweetMode:       "extended",
		IncludeEntities: twitter.Bool(false),
	}
	var err error
	if params.SinceID, err = parseID(cur.SinceID); err != nil {
		return crawlers.Page{}, err
	}
	if params.MaxID, err = parseID(cur.MaxID); err != nil {
		return crawlers.Page{}, err
	}
	// The request timeout goes into the context: hostTransport replaces the
	// request's context, which would drop an http.Client.Timeout.
	if s.http.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.http.Timeout)
		defer cancel() // Search.Tweets has read and closed the body by then
	}
	target, _ := url.Parse(s.opts.BaseURL) // checked by Validate
	client := twitter.NewClient(&http.Client{
		Transport:     &hostTransport{ctx: ctx, base: s.http.Transport, target: target},
		CheckRedirect: s.http.CheckRedirect,
	})
	search, resp, err := client.Search.Tweets(params)
	if resp == nil {
		if ctx.Err() != nil {
			return crawlers.Page{}, fmt.Errorf("searching X v1.1: %w", ctx.Err())
		}
		return crawlers.Page{}, fmt.Errorf("searching X v1.1: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return crawlers.Page{}, s.v11Error(resp, err)
	}
	if err != nil {
		return crawlers.Page{}, fmt.Errorf("searching X v1.1: decoding response: %w", err)
	}

	page := crawlers.Page{RateLimit: rateLimit(resp.Header)}
	now := s.now()
	next := cur
	for i, t := range search.Statuses {
		p, err := s.v11Post(&t, now)
		s.take(&page, &next, cur.SinceID, i, p, err)
	}
	s.turnPage(&page, next, nextMaxID(search.Metadata), cur.MaxID, func(c *cursorState, maxID string) { c.MaxID = maxID })
	return page, nil
}

// v11Post maps a v1.1 post (a search result or a stream message) to a post.
func (s *Source) v11Post(t *twitter.Tweet, fetched time.Time) (signals.Post, error) {
	id := t.IDStr
	if id == "" && t.ID > 0 {
		id = strconv.FormatInt(t.ID, 10)
	}
	if !validID(id) {
		return signals.Post{}, fmt.Errorf("id_str %q is not a post id", id)
	}
	created, err := t.CreatedAtTime()
	if err != nil {
		return signals.Post{}, fmt.Errorf("post %s: created_at: %w", id, err)
	}
	text, username := v11Text(t), ""
	if t.User != nil {
		username = t.User.ScreenName
	}
	if rt := t.RetweetedStatus; rt != nil && v11Text(rt) != "" {
		// A retweet's own text is cut at 140 characters.
		by := ""
		if rt.User != nil {
			by = rt.User.ScreenName
		}
		text = "RT @" + by + ": " + v11Text(rt)
	}
	if strings.TrimSpace(text) == "" {
		return signals.Post{}, crawlers.Skipf(crawlers.SkipNoText, "post %s: no text", id)
	}
	return s.post(id, created, text, t.Lang, username,
		t.FavoriteCount+t.RetweetCount+t.ReplyCount+t.QuoteCount, fetched), nil
}

// v11Text is a v1.1 post's full text: extended_tweet.full_text on a stream
// (where text is cut at 140 characters and truncated is set), full_text
// from search with tweet_mode=extended, else text.
func v11Text(t *twitter.Tweet) string {
	switch {
	case t.ExtendedTweet != nil && t.ExtendedTweet.FullText != "":
		return t.ExtendedTweet.FullText
	case t.FullText != "":
		return t.FullText
	}
	return t.Text
}

// nextMaxID reads max_id from search_metadata.next_results
// ("?max_id=…&q=…"), present while older results remain.
func nextMaxID(m *twitter.SearchMetadata) string {
	if m == nil || m.NextResults == "" {
		return ""
	}
	q, err := url.ParseQuery(strings.TrimPrefix(m.NextResults, "?"))
	if err != nil || !validID(q.Get("max_id")) {
		return ""
	}
	return q.Get("max_id")
}

// parseID turns a stored id into go-twitter's int64 (0 when absent).
func parseID(id string) (int64, error) {
	if id == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cursor id %q does not fit v1.1's 64-bit ids: %w", id, err)
	}
	return n, nil
}

// v11Error classifies a failed v1.1 request from its status and the
// APIError go-twitter decoded from {"errors":[{"code":..,"message":..}]}.
func (s *Source) v11Error(resp *http.Response, err error) error {
	var apiErr twitter.APIError
	detail, code := "", 0
	if errors.As(err, &apiErr) && !apiErr.Empty() {
		code = apiErr.Errors[0].Code
		detail = truncate(fmt.Sprintf("code %d %s", code, apiErr.Errors[0].Message), 400)
	}
	if code == codeLimitedAccess {
		return &crawlers.PermanentError{Err: fmt.Errorf("searching X v1.1: %d %s: X no longer serves v1.1 search to this app's access level (%s); set options.api: v2 to use recent search",
			resp.StatusCode, http.StatusText(resp.StatusCode), detail)}
	}
	return s.statusError(resp.StatusCode, resp.Header, "searching X v1.1", detail, code == codeRateLimited)
}

package reddit

import (
	"encoding/json"
	"fmt"
	"github.com/aftershock/aftershock/crawlers"
	"math"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/signals"
)

// listing is one parsed listing page.
type listing struct {
	items   []item
	after   string
	skipped crawlers.Skips
}

// item is a post (t3) or comment (t1) of a listing.
type item struct {
	name    string  // fullname: t3_abc, t1_xyz
	created float64 // created_utc, epoch seconds
	text    string
	url     string
	author  string
	reach   int
}

func (it item) time() time.Time {
	sec, frac := math.Modf(it.created)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}

// thingData holds the fields read from a t3 or t1.
type thingData struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Title      string   `json:"title"`
	Selftext   string   `json:"selftext"`
	Body       string   `json:"body"`
	Author     string   `json:"author"`
	Permalink  string   `json:"permalink"`
	CreatedUTC *float64 `json:"created_utc"`
	Score      float64  `json:"score"`
}

// parseListing reads a listing. A child that does not decode or lacks an
// id, a creation time or text is counted in skipped; children of other
// kinds (subreddits, "more" stubs) are left out silently.
func parseListing(body []byte) (listing, error) {
	var doc struct {
		Kind string `json:"kind"`
		Data struct {
			After    *string           `json:"after"`
			Children []json.RawMessage `json:"children"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return listing{}, fmt.Errorf("decoding listing: %w", err)
	}
	if doc.Kind != "Listing" {
		return listing{}, fmt.Errorf("decoding listing: kind %q, want Listing", doc.Kind)
	}
	var ls listing
	if doc.Data.After != nil {
		ls.after = *doc.Data.After
	}
	for _, raw := range doc.Data.Children {
		it, ok, err := parseChild(raw)
		switch {
		case err != nil:
			ls.skipped.Add(crawlers.SkipReason(err), 1)
		case ok:
			ls.items = append(ls.items, it)
		}
	}
	return ls, nil
}

// parseChild returns ok false for a child that is neither a post nor a
// comment, and an error for a malformed one.
func parseChild(raw json.RawMessage) (item, bool, error) {
	var th struct {
		Kind string          `json:"kind"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &th); err != nil {
		return item{}, false, err
	}
	if th.Kind != "t3" && th.Kind != "t1" {
		return item{}, false, nil
	}
	var d thingData
	if err := json.Unmarshal(th.Data, &d); err != nil {
		return item{}, false, err
	}
	it := item{name: d.Name, author: d.Author, reach: int(max(0, min(d.Score, math.MaxInt32)))}
	if it.name == "" && d.ID != "" {
		it.name = th.Kind + "_" + d.ID
	}
	if it.name == "" || !strings.HasPrefix(it.name, th.Kind+"_") {
		return item{}, false, crawlers.Skipf(crawlers.SkipNoID, "no fullname of kind %s", th.Kind)
	}
	// Found by FuzzListing: a created_utc past year 9999 made a post no
	// message can carry.
	if d.CreatedUTC == nil || *d.CreatedUTC <= 0 || *d.CreatedUTC > crawlers.MaxUnix || math.IsNaN(*d.CreatedUTC) {
		return item{}, false, crawlers.Skipf(crawlers.SkipNoTime, "no created_utc")
	}
	it.created = *d.CreatedUTC
	if th.Kind == "t3" {
		it.text = joinText(d.Title, d.Selftext)
	} else {
		it.text = joinText("", d.Body)
	}
	if it.text == "" {
		return item{}, false, crawlers.Skipf(crawlers.SkipNoText, "no text")
	}
	if strings.HasPrefix(d.Permalink, "/") {
		// Links copied from search carry ?ref=search_posts and the like.
		it.url = crawlers.CleanURL(webURL + d.Permalink)
	}
	return it, true, nil
}

// joinText makes the post text: title and body on two lines, without the
// placeholders of removed or deleted bodies, cut to signals.MaxTextBytes.
func joinText(title, body string) string {
	title, body = strings.TrimSpace(title), strings.TrimSpace(body)
	if body == "[removed]" || body == "[deleted]" {
		body = ""
	}
	text := title
	switch {
	case title == "":
		text = body
	case body != "":
		text = title + "\n" + body
	}
	return plaintext.Truncate(text, signals.MaxTextBytes)
}

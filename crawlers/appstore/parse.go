package appstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aftershock/aftershock/crawlers"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/signals"
)

// parsed is one parsed page of the feed.
type parsed struct {
	reviews []review
	entries int // entries on the page, app metadata and malformed included
	skipped crawlers.Skips
	// lastPage is the number of the feed's last page (its rel=last link),
	// 0 when the feed does not say.
	lastPage int
}

// review is one customer review.
type review struct {
	id string
	// updated is zero when the feed gave no time for the review.
	updated time.Time
	rating  float64
	text    string
	author  string
	url     string
	votes   int
	version string // the app version reviewed (im:version)
}

// label is how the feed wraps every value: {"label": "..."}.
type label struct {
	Label string `json:"label"`
}

// entry is a review as the feed writes it. App metadata entries (older
// feeds put one first) have no im:rating.
type entry struct {
	ID      label  `json:"id"`
	Updated label  `json:"updated"`
	Rating  *label `json:"im:rating"`
	Title   label  `json:"title"`
	Content label  `json:"content"`
	Author  struct {
		Name label `json:"name"`
	} `json:"author"`
	VoteCount label           `json:"im:voteCount"`
	Version   label           `json:"im:version"`
	Link      json.RawMessage `json:"link"`
}

// parseFeed reads a page. Its `entry` is an array, a single object (one
// entry) or absent (no reviews). A malformed entry is counted in skipped.
func parseFeed(body []byte, cc string) (parsed, error) {
	var doc struct {
		Feed *struct {
			Entry json.RawMessage `json:"entry"`
			Link  json.RawMessage `json:"link"`
		} `json:"feed"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return parsed{}, fmt.Errorf("decoding feed: %w", err)
	}
	if doc.Feed == nil {
		return parsed{}, errors.New("decoding feed: no \"feed\" object")
	}
	var raws []json.RawMessage
	switch e := bytes.TrimSpace(doc.Feed.Entry); {
	case len(e) == 0 || string(e) == "null":
	case e[0] == '[':
		if err := json.Unmarshal(e, &raws); err != nil {
			return parsed{}, fmt.Errorf("decoding feed entries: %w", err)
		}
	default:
		raws = []json.RawMessage{e}
	}
	p := parsed{entries: len(raws), lastPage: lastPage(doc.Feed.Link)}
	for _, raw := range raws {
		r, ok, err := parseEntry(raw, cc)
		switch {
		case err != nil:
			p.skipped.Add(crawlers.SkipReason(err), 1)
		case ok:
			p.reviews = append(p.reviews, r)
		}
	}
	return p, nil
}

// parseEntry returns ok false for app metadata and an error for a
// malformed review.
func parseEntry(raw json.RawMessage, cc string) (review, bool, error) {
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return review{}, false, err
	}
	if e.Rating == nil {
		return review{}, false, nil
	}
	r := review{id: strings.TrimSpace(e.ID.Label), author: strings.TrimSpace(e.Author.Name.Label)}
	if !isNumber(r.id) {
		return review{}, false, crawlers.Skipf(crawlers.SkipNoID, "review id %q is not a number", r.id)
	}
	stars, err := strconv.Atoi(strings.TrimSpace(e.Rating.Label))
	if err != nil || stars < 1 || stars > 5 {
		return review{}, false, crawlers.Skipf(crawlers.SkipBadValue, "review %s: rating %q, want 1-5", r.id, e.Rating.Label)
	}
	r.rating = float64(stars)
	// Reviews of the JSON feed often carry no updated at all (recorded
	// responses of public clients show whole pages without it): such a
	// review is kept and dated when it was read. A present but unreadable
	// time is a malformed review.
	if u := strings.TrimSpace(e.Updated.Label); u != "" {
		if r.updated, err = time.Parse(time.RFC3339, u); err != nil {
			return review{}, false, crawlers.Skipf(crawlers.SkipNoTime, "review %s: %w", r.id, err)
		}
		r.updated = r.updated.UTC()
	}
	r.text = reviewText(e.Title.Label, e.Content.Label)
	if r.text == "" {
		return review{}, false, crawlers.Skipf(crawlers.SkipNoText, "review %s: no text", r.id)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(e.VoteCount.Label)); err == nil && n > 0 {
		r.votes = n
	}
	r.url = linkHref(e.Link)
	r.version = strings.TrimSpace(e.Version.Label)
	return r, true, nil
}

// reviewText is the title and the body on two lines, cut to
// signals.MaxTextBytes. The app version the review was written on
// (im:version) is not added to the text — the enrichment would read it as
// the reviewer talking about an update — but carried as Post.AppVersion.
func reviewText(title, content string) string {
	title, content = strings.TrimSpace(title), strings.TrimSpace(content)
	text := title
	switch {
	case title == "":
		text = content
	case content != "":
		text = title + "\n" + content
	}
	return plaintext.Truncate(text, signals.MaxTextBytes)
}

// linkHref reads the review's link ({"attributes": {"href": ...}}, or a
// list of them).
func linkHref(raw json.RawMessage) string {
	type link struct {
		Attributes struct {
			Href string `json:"href"`
		} `json:"attributes"`
	}
	var one link
	if json.Unmarshal(raw, &one) == nil && one.Attributes.Href != "" {
		return one.Attributes.Href
	}
	var many []link
	if json.Unmarshal(raw, &many) == nil {
		for _, l := range many {
			if l.Attributes.Href != "" {
				return l.Attributes.Href
			}
		}
	}
	return ""
}

var pageRE = regexp.MustCompile(`/page=([0-9]+)/`)

// lastPage reads the page number of the feed's rel=last link.
func lastPage(raw json.RawMessage) int {
	var links []struct {
		Attributes struct {
			Rel  string `json:"rel"`
			Href string `json:"href"`
		} `json:"attributes"`
	}
	if json.Unmarshal(raw, &links) != nil {
		return 0
	}
	for _, l := range links {
		if l.Attributes.Rel != "last" {
			continue
		}
		if m := pageRE.FindStringSubmatch(l.Attributes.Href); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

func isNumber(s string) bool {
	if s == "" || len(s) > 30 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

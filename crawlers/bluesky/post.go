package bluesky

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aftershock/aftershock/crawlers"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/signals"
)

// collectionPost is the NSID of a post record.
const collectionPost = "app.bsky.feed.post"

// record is the part of an app.bsky.feed.post record the source reads.
type record struct {
	Type      string   `json:"$type"`
	Text      string   `json:"text"`
	CreatedAt string   `json:"createdAt"`
	Langs     []string `json:"langs"`
}

// postView is the part of an app.bsky.feed.defs#postView the source reads.
type postView struct {
	URI    string `json:"uri"`
	CID    string `json:"cid"`
	Author struct {
		DID    string `json:"did"`
		Handle string `json:"handle"`
	} `json:"author"`
	Record      record `json:"record"`
	IndexedAt   string `json:"indexedAt"`
	LikeCount   int    `json:"likeCount"`
	RepostCount int    `json:"repostCount"`
	QuoteCount  int    `json:"quoteCount"`
}

// decoded is a post view read and checked.
type decoded struct {
	id     string    // "<did>/<rkey>"; set whenever the uri could be read
	sortAt time.Time // min(createdAt, indexedAt), what search sorts on; zero if unknown
	seenAt time.Time // max(createdAt, indexedAt): until when to remember the id
	post   signals.Post
}

// decodePostView parses and checks one post view. On error the result still
// carries the id (and sortAt) when they could be read, so a malformed post
// is remembered as read.
func decodePostView(raw json.RawMessage) (decoded, error) {
	var pv postView
	if err := json.Unmarshal(raw, &pv); err != nil {
		var uriOnly struct {
			URI       string `json:"uri"`
			IndexedAt string `json:"indexedAt"`
		}
		_ = json.Unmarshal(raw, &uriOnly)
		d := decoded{}
		if did, rkey, err := parseURI(uriOnly.URI); err == nil {
			d.id = did + "/" + rkey
		}
		d.sortAt, _ = parseTime(uriOnly.IndexedAt)
		d.seenAt = d.sortAt
		return d, fmt.Errorf("decoding post view: %w", err)
	}
	did, rkey, err := parseURI(pv.URI)
	if err != nil {
		return decoded{}, err
	}
	d := decoded{id: did + "/" + rkey}
	indexed, errIndexed := parseTime(pv.IndexedAt)
	created, errCreated := parseTime(pv.Record.CreatedAt)
	switch {
	case errCreated == nil && errIndexed == nil:
		d.sortAt = minTime(created, indexed)
		d.seenAt = maxTime(created, indexed)
	case errIndexed == nil:
		d.sortAt, d.seenAt = indexed, indexed
	}
	if pv.Record.Type != "" && pv.Record.Type != collectionPost {
		return d, fmt.Errorf("post %s: record type %q, want %s", d.id, pv.Record.Type, collectionPost)
	}
	if errCreated != nil {
		// A client wrote a bad createdAt: the post still counts, at the
		// time it was indexed.
		if errIndexed != nil {
			return d, crawlers.Skipf(crawlers.SkipNoTime, "post %s: neither createdAt %q nor indexedAt %q is a datetime", d.id, pv.Record.CreatedAt, pv.IndexedAt)
		}
		created = indexed
	}
	if pv.Author.Handle == "" && pv.Author.DID == "" {
		return d, fmt.Errorf("post %s: no author", d.id)
	}
	author := pv.Author.Handle
	if author == "" || author == "handle.invalid" {
		author = did
	}
	d.post = signals.Post{
		Type:   signals.TypePost,
		Time:   created,
		ID:     d.id,
		Text:   plaintext.Truncate(pv.Record.Text, signals.MaxTextBytes),
		Lang:   firstLang(pv.Record.Langs),
		URL:    postURL(author, rkey),
		Author: author,
		Reach:  max(0, pv.LikeCount) + max(0, pv.RepostCount) + max(0, pv.QuoteCount),
	}
	return d, nil
}

// parseURI splits at://<did>/app.bsky.feed.post/<rkey>.
func parseURI(uri string) (did, rkey string, err error) {
	rest, ok := strings.CutPrefix(uri, "at://")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		return "", "", fmt.Errorf("uri %q is not at://<did>/%s/<rkey>", uri, collectionPost)
	}
	if parts[1] != collectionPost {
		return "", "", fmt.Errorf("uri %q is not a post (collection %q)", uri, parts[1])
	}
	if !validDID(parts[0]) || !validRkey(parts[2]) {
		return "", "", fmt.Errorf("uri %q: bad did or record key", uri)
	}
	return parts[0], parts[2], nil
}

// validDID reports whether s has the shape did:<method>:<id>.
func validDID(s string) bool {
	method, id, ok := strings.Cut(strings.TrimPrefix(s, "did:"), ":")
	return strings.HasPrefix(s, "did:") && ok && method != "" && id != "" && len(s) <= 2048 && printableASCII(s)
}

// validRkey reports whether s is an atproto record key.
func validRkey(s string) bool {
	if s == "" || len(s) > 512 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:~-", c) >= 0) {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == '/' {
			return false
		}
	}
	return true
}

// postURL is the web address of a post.
func postURL(actor, rkey string) string {
	return "https://bsky.app/profile/" + actor + "/post/" + rkey
}

// firstLang is the primary subtag of the post's first language ("en-US"
// → "en"), so an "en" filter downstream takes it.
func firstLang(langs []string) string {
	if len(langs) > 0 && langRE(langs[0]) {
		return crawlers.Lang(langs[0])
	}
	return ""
}

// parseTime reads an atproto datetime (RFC 3339 with a zone; a missing zone
// is read as UTC, as some clients write it).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("not a datetime")
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pageText returns the visible text of an error page (HTML or plain),
// collapsed, or "" for a binary body.
func pageText(body []byte) string {
	if !utf8.Valid(body) {
		return ""
	}
	s := string(body)
	if !strings.Contains(s, "<") {
		return plaintext.Collapse(s)
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			return plaintext.Collapse(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
				b.WriteByte(' ')
			}
		case html.StartTagToken, html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "title":
				if tt == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			}
		}
	}
}

package forum

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/aftershock/aftershock/crawlers"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"

	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/crawlers/internal/scrape"
	"github.com/aftershock/aftershock/signals"
)

// row is one post as a list page shows it. It is kept in the cursor while
// its view page waits to be read, hence the JSON tags.
type row struct {
	ID     string    `json:"id"`
	Title  string    `json:"title"`
	Body   string    `json:"body,omitempty"`
	Author string    `json:"author,omitempty"`
	Link   string    `json:"link"`
	Time   time.Time `json:"time"`
}

// list is a parsed list page.
type list struct {
	rows    []row
	next    string // href of the next-page link
	matched int    // rows the item selector matched, skipped ones included
	skipped crawlers.Skips
}

// maxTitleBytes bounds a title; longer ones are cut.
const maxTitleBytes = 1 << 10

func (s *Source) parseList(r *scrape.Response, now time.Time) (list, error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(r.Body))
	if err != nil {
		return list{}, err
	}
	var l list
	doc.Find(s.opts.Item).Each(func(i int, sel *goquery.Selection) {
		l.matched++
		if s.opts.Skip != "" && (sel.Is(s.opts.Skip) || sel.Find(s.opts.Skip).Length() > 0) {
			return
		}
		rw, err := s.parseRow(sel, r.URL, now)
		if err != nil {
			l.skipped.Add(crawlers.SkipReason(err), 1)
			s.log.Debug("skipping malformed row", "page", r.URL.String(), "row", i, "err", err)
			return
		}
		l.rows = append(l.rows, rw)
	})
	if s.opts.Next != "" {
		l.next, _ = doc.Find(s.opts.Next).First().Attr("href")
	}
	return l, nil
}

func (s *Source) parseRow(sel *goquery.Selection, base *url.URL, now time.Time) (row, error) {
	var rw row
	rw.Title = cleanTitle(pick(sel, s.opts.Title).Text())
	if rw.Title == "" {
		return row{}, crawlers.Skipf(crawlers.SkipNoText, "no title")
	}
	href, ok := pick(sel, s.opts.Link).Attr("href")
	if !ok {
		return row{}, crawlers.Skipf(crawlers.SkipNoID, "no link")
	}
	link, err := resolve(base, href)
	if err != nil {
		return row{}, err
	}
	rw.Link = link
	if rw.ID, err = s.postID(link); err != nil {
		return row{}, err
	}
	tsel := pick(sel, s.opts.Time)
	when := tsel.Text()
	if s.opts.TimeAttr != "" {
		if v, ok := tsel.Attr(s.opts.TimeAttr); ok && strings.TrimSpace(v) != "" {
			when = v
		}
	}
	if rw.Time, err = s.clock.parse(when, now); err != nil {
		return row{}, &crawlers.SkipError{Reason: crawlers.SkipNoTime, Err: err}
	}
	if s.opts.Author != "" {
		rw.Author = plaintext.Collapse(pick(sel, s.opts.Author).Text())
	}
	if s.opts.Body != "" {
		rw.Body = selectionText(pick(sel, s.opts.Body))
	}
	for _, v := range []string{rw.Title, rw.Author, rw.Body} {
		if !utf8.ValidString(v) {
			return row{}, errors.New("text is not valid UTF-8 (set options.charset?)")
		}
	}
	return rw, nil
}

// pick is the first element under sel matching selector, or sel itself
// when it matches.
func pick(sel *goquery.Selection, selector string) *goquery.Selection {
	m := sel.Find(selector).First()
	if m.Length() == 0 && sel.Is(selector) {
		return sel
	}
	return m
}

// resolve makes a link absolute against the page's URL.
func resolve(base *url.URL, href string) (string, error) {
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("link %q: %w", href, err)
	}
	u := base.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("link %q is not an http(s) URL", href)
	}
	return u.String(), nil
}

// postID applies the id pattern to a post URL. Without one the id is the
// URL minus its fragment and its page parameter (the list page it was
// found on, which changes as the board moves).
func (s *Source) postID(link string) (string, error) {
	if s.opts.idRE != nil {
		m := s.opts.idRE.FindStringSubmatch(link)
		switch {
		case m == nil:
			return "", fmt.Errorf("options.id %q does not match link %q", s.opts.ID, link)
		case len(m) > 1 && m[1] != "":
			return m[1], nil
		}
		return m[0], nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	u.Fragment = ""
	if q := u.Query(); q.Has("page") {
		q.Del("page")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// parseView returns the text under view_body.
func (s *Source) parseView(r *scrape.Response) (string, error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(r.Body))
	if err != nil {
		return "", err
	}
	sel := doc.Find(s.opts.ViewBody).First()
	if sel.Length() == 0 {
		return "", fmt.Errorf("no %q on the view page", s.opts.ViewBody)
	}
	text := selectionText(sel)
	if !utf8.ValidString(text) {
		return "", errors.New("text is not valid UTF-8 (set options.charset?)")
	}
	return text, nil
}

// post turns a row into a post; body, if set, replaces the row's own.
func (s *Source) post(rw row, body string, now time.Time) signals.Post {
	if body == "" {
		body = rw.Body
	}
	text := rw.Title
	if body != "" {
		text += "\n" + body
	}
	return signals.Post{
		Type:    signals.TypePost,
		Time:    rw.Time,
		Source:  s.spec.Name,
		ID:      rw.ID,
		Service: s.spec.Service,
		Text:    plaintext.Truncate(text, signals.MaxTextBytes),
		Lang:    s.opts.Lang,
		URL:     rw.Link,
		Author:  rw.Author,
		Fetched: now,
	}
}

// commentCount is a trailing comment count in a title: "[12]", "[3/1]".
var commentCount = regexp.MustCompile(`\s*\[\d+(?:/\d+)?\]$`)

// cleanTitle collapses white space and drops a trailing comment count.
func cleanTitle(s string) string {
	s = plaintext.Collapse(s)
	s = strings.TrimSpace(commentCount.ReplaceAllString(s, ""))
	return plaintext.Truncate(s, maxTitleBytes)
}

// selectionText is the plain text of an element: block elements and line
// breaks become spaces, scripts and styles are dropped.
func selectionText(sel *goquery.Selection) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "noscript":
				return
			case "br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr":
				b.WriteByte(' ')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range sel.Nodes {
		walk(n)
	}
	return plaintext.Collapse(b.String())
}

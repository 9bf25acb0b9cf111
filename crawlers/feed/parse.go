package feed

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
	"github.com/aftershock/aftershock/crawlers/internal/scrape"
	"github.com/aftershock/aftershock/signals"
)

// Formats.
const (
	formatRSS  = "rss"
	formatAtom = "atom"
	formatJSON = "json"
)

// item is one entry of a feed before it becomes a post.
type item struct {
	id, title, text, link, author, lang string
	rawTime                             string
	time                                time.Time
	timeErr                             error
	// badUTF8 is set when the body had invalid UTF-8 that landed in this item.
	badUTF8 bool
}

// check reports why the item cannot become a post.
func (it item) check() error {
	switch {
	case it.id == "":
		return errors.New("no id or link")
	case it.timeErr != nil:
		return it.timeErr
	case it.badUTF8:
		return errors.New("text is not valid UTF-8")
	case strings.TrimSpace(it.postText()) == "":
		// Found by FuzzParse: an item without title or text was published.
		return crawlers.Skipf(crawlers.SkipNoText, "no title or text")
	case len(it.postText()) > signals.MaxTextBytes:
		return fmt.Errorf("text of %d bytes, more than %d", len(it.postText()), signals.MaxTextBytes)
	}
	return nil
}

func (it item) postText() string {
	switch {
	case it.title == "":
		return it.text
	case it.text == "" || strings.HasPrefix(it.text, it.title):
		return it.title
	}
	return it.title + "\n" + it.text
}

func (s *Source) post(it item, now time.Time) signals.Post {
	lang := it.lang
	if lang == "" {
		lang = s.opts.Lang
	}
	return signals.Post{
		Type:    signals.TypePost,
		Time:    it.time,
		Source:  s.spec.Name,
		ID:      it.id,
		Service: s.spec.Service,
		Text:    it.postText(),
		Lang:    crawlers.Lang(lang),
		URL:     crawlers.CleanURL(it.link),
		Author:  it.author,
		Fetched: now,
	}
}

// doc is a parsed response.
type doc struct {
	items   []item
	next    string
	skipped crawlers.Skips
}

func mimeParams(ct string) (string, map[string]string, error) {
	if ct == "" {
		return "", nil, nil
	}
	return mime.ParseMediaType(ct)
}

// parse picks the format and parses the body.
func (s *Source) parse(r *scrape.Response) (doc, error) {
	body := r.Body
	// Invalid UTF-8 would fail the whole document; mark it instead, so
	// only the items that hold it are skipped.
	badUTF8 := !utf8.Valid(body)
	if badUTF8 {
		body = bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	format := s.opts.Format
	if format == "" {
		ct, _, _ := mimeParams(r.Header.Get("Content-Type"))
		var err error
		if format, err = sniff(ct, body); err != nil {
			return doc{}, &crawlers.PermanentError{Err: err}
		}
	}
	var d doc
	var err error
	switch format {
	case formatJSON:
		d, err = s.parseJSON(body)
	default:
		d, err = parseXML(body, format, s.decoded(r))
	}
	if err != nil {
		return doc{}, err
	}
	if badUTF8 {
		for i := range d.items {
			it := &d.items[i]
			it.badUTF8 = strings.ContainsRune(it.id+it.title+it.text+it.author+it.link, utf8.RuneError)
		}
	}
	return d, nil
}

// sniff tells the format from the media type and the body.
func sniff(mediaType string, body []byte) (string, error) {
	if strings.Contains(mediaType, "json") {
		return formatJSON, nil
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return formatJSON, nil
	}
	dec := newXMLDecoder(body, false)
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("unknown feed format (Content-Type %q); set options.format", mediaType)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "rss", "RDF":
				return formatRSS, nil
			case "feed":
				return formatAtom, nil
			}
			return "", fmt.Errorf("unknown feed format: root element <%s>; set options.format", se.Name.Local)
		}
	}
}

// newXMLDecoder is a lenient decoder: feeds are often sloppy XML with HTML
// entities. When the body was already converted to UTF-8 (decoded) its
// encoding declaration is stale and ignored; otherwise the declaration is
// honoured.
func newXMLDecoder(body []byte, decoded bool) *xml.Decoder {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if decoded {
			return in, nil
		}
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, fmt.Errorf("unknown encoding %q in the XML declaration: %w", label, err)
		}
		return enc.NewDecoder().Reader(in), nil
	}
	return dec
}

type rssItem struct {
	Title       string `xml:"title"`
	Link        string `xml:"link"`
	Description string `xml:"description"`
	Encoded     string `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
	PubDate     string `xml:"pubDate"`
	DCDate      string `xml:"http://purl.org/dc/elements/1.1/ date"`
	GUID        string `xml:"guid"`
	Author      string `xml:"author"`
	Creator     string `xml:"http://purl.org/dc/elements/1.1/ creator"`
}

type rssDoc struct {
	Channel struct {
		Language string    `xml:"language"`
		Items    []rssItem `xml:"item"`
	} `xml:"channel"`
	Items []rssItem `xml:"item"` // RSS 1.0 keeps items beside the channel
}

type atomText struct {
	Type  string `xml:"type,attr"`
	Text  string `xml:",chardata"`
	Inner string `xml:",innerxml"`
}

func (t atomText) plain() string {
	switch t.Type {
	case "xhtml":
		return plaintext.FromHTML(t.Inner)
	case "html", "text/html":
		return plaintext.FromHTML(redditBody(t.Text))
	}
	return plaintext.Collapse(t.Text)
}

// Reddit's Atom feeds (/r/<sub>/.rss, /search.rss) wrap a post's own text
// in <!-- SC_OFF --><div class="md">…</div><!-- SC_ON --> and end every
// entry with "submitted by /u/<name> [link] [comments]".
const (
	redditOpen    = "<!-- SC_OFF -->"
	redditClose   = "<!-- SC_ON -->"
	redditTrailer = "submitted by"
)

// redditBody keeps the post's own text of a Reddit entry's HTML content and
// drops the trailer; other HTML is returned as it is.
func redditBody(h string) string {
	if i := strings.Index(h, redditOpen); i >= 0 {
		if j := strings.Index(h[i:], redditClose); j >= 0 {
			return h[i+len(redditOpen) : i+j]
		}
	}
	if i := strings.LastIndex(h, redditTrailer); i >= 0 && strings.Contains(h[i:], "[comments]") {
		return h[:i]
	}
	return h
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     atomText `xml:"title"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
	Links     []struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr"`
	} `xml:"link"`
	Summary atomText `xml:"summary"`
	Content atomText `xml:"content"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
}

type atomDoc struct {
	Lang    string      `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Entries []atomEntry `xml:"entry"`
}

func parseXML(body []byte, format string, decoded bool) (doc, error) {
	var d doc
	switch format {
	case formatRSS:
		var rss rssDoc
		if err := newXMLDecoder(body, decoded).Decode(&rss); err != nil {
			return doc{}, fmt.Errorf("decoding rss: %w", err)
		}
		for _, ri := range append(rss.Channel.Items, rss.Items...) {
			it := item{
				id:     strings.TrimSpace(ri.GUID),
				title:  plaintext.FromHTML(ri.Title),
				text:   plaintext.FromHTML(ri.Description),
				link:   strings.TrimSpace(ri.Link),
				author: strings.TrimSpace(ri.Creator),
				lang:   rss.Channel.Language,
			}
			if it.text == "" {
				it.text = plaintext.FromHTML(ri.Encoded)
			}
			if it.author == "" {
				it.author = strings.TrimSpace(ri.Author)
			}
			if it.id == "" {
				it.id = it.link
			}
			raw := ri.PubDate
			if strings.TrimSpace(raw) == "" {
				raw = ri.DCDate
			}
			it.time, it.timeErr = parseTime(raw)
			d.items = append(d.items, it)
		}
	case formatAtom:
		var atom atomDoc
		if err := newXMLDecoder(body, decoded).Decode(&atom); err != nil {
			return doc{}, fmt.Errorf("decoding atom: %w", err)
		}
		for _, e := range atom.Entries {
			it := item{
				id:    strings.TrimSpace(e.ID),
				title: e.Title.plain(),
				text:  e.Content.plain(),
				// Reddit names authors "/u/<name>".
				author: strings.TrimPrefix(strings.TrimSpace(e.Author.Name), "/u/"),
				lang:   e.Lang,
			}
			if it.lang == "" {
				it.lang = atom.Lang
			}
			if it.text == "" {
				it.text = e.Summary.plain()
			}
			for _, l := range e.Links {
				if l.Rel == "" || l.Rel == "alternate" {
					it.link = strings.TrimSpace(l.Href)
					break
				}
			}
			if it.id == "" {
				it.id = it.link
			}
			raw := e.Published
			if strings.TrimSpace(raw) == "" {
				raw = e.Updated
			}
			it.time, it.timeErr = parseTime(raw)
			d.items = append(d.items, it)
		}
	default:
		return doc{}, fmt.Errorf("unknown format %q", format)
	}
	return d, nil
}

func (s *Source) parseJSON(body []byte) (doc, error) {
	f := s.opts.JSON
	if f.ID == "" || f.Text == "" || f.Time == "" {
		return doc{}, &crawlers.PermanentError{Err: errors.New("the response is JSON but options.json.id, text and time are not all set")}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return doc{}, fmt.Errorf("decoding json: %w", err)
	}
	var d doc
	if f.Next != "" {
		if v, ok := lookup(root, f.Next); ok {
			d.next, _ = scalar(v)
		}
	}
	list, ok := lookup(root, f.Items)
	if !ok || list == nil {
		return d, nil // APIs leave the list out when nothing matched
	}
	arr, ok := list.([]any)
	if !ok {
		return doc{}, &crawlers.PermanentError{Err: fmt.Errorf("options.json.items: %q is a %T, not an array", f.Items, list)}
	}
	text := func(v string) string {
		if f.StripHTML {
			return plaintext.FromHTML(v)
		}
		return strings.TrimSpace(v)
	}
	for _, raw := range arr {
		obj, ok := raw.(map[string]any)
		if !ok {
			d.skipped.Add(crawlers.SkipMalformed, 1)
			continue
		}
		get := func(path string) string {
			if path == "" {
				return ""
			}
			v, _ := lookup(obj, path)
			sv, _ := scalar(v)
			return sv
		}
		it := item{
			id:     strings.TrimSpace(get(f.ID)),
			title:  text(get(f.Title)),
			text:   text(get(f.Text)),
			link:   strings.TrimSpace(get(f.URL)),
			author: strings.TrimSpace(get(f.Author)),
			lang:   get(f.Lang),
		}
		if tv, ok := lookup(obj, f.Time); ok {
			it.time, it.timeErr = jsonTime(tv)
		} else {
			it.timeErr = errors.New("no time")
		}
		d.items = append(d.items, it)
	}
	return d, nil
}

// lookup follows a dot path ("data.posts", "items.0.id"); "" is v itself.
func lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// scalar renders a JSON string, number or bool as a string.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// jsonTime accepts a time string or unix seconds (milliseconds when the
// number is too large to be seconds).
func jsonTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case json.Number:
		return unixTime(x.String())
	case string:
		return parseTime(x)
	}
	return time.Time{}, fmt.Errorf("time %v is neither a string nor a number", v)
}

func unixTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return time.Time{}, fmt.Errorf("time %q is not unix seconds", s)
	}
	if f > 1e11 { // year 5138 in seconds: this is milliseconds
		f /= 1000
	}
	if f > crawlers.MaxUnix {
		return time.Time{}, fmt.Errorf("time %q is past year 9999", s)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Truncate(time.Millisecond), nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	time.RFC1123Z,
	time.RFC1123,
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 02 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	time.RFC822Z,
	time.RFC822,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"20060102", // Naver blog search "postdate"
}

// parseTime accepts RFC 3339, RFC 1123 (and the RSS variants), yyyymmdd
// and unix seconds.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("no time")
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := unixTime(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("unparsable time %q", s)
}

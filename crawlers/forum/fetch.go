package forum

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/internal/scrape"
)

// fetch reads a page of the board, its body in UTF-8 where the charset was
// known.
func (s *Source) fetch(ctx context.Context, target string) (*scrape.Response, error) {
	hdr := http.Header{}
	hdr.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
	r, err := s.fetcher.Fetch(ctx, target, hdr)
	if err != nil {
		return nil, err
	}
	r.Body = s.decodeByMeta(r)
	return r, nil
}

// decodeByMeta converts a body in a legacy charset that only its <meta>
// names (colly reads the header alone). A forced charset or one named in the
// header was already applied by colly.
func (s *Source) decodeByMeta(r *scrape.Response) []byte {
	if s.opts.Charset != "" || utf8.Valid(r.Body) {
		return r.Body
	}
	if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && params["charset"] != "" {
		return r.Body
	}
	enc, name, _ := charset.DetermineEncoding(r.Body, "text/html")
	if name == "utf-8" || name == "windows-1252" { // no <meta> (windows-1252 is the fallback guess)
		return r.Body
	}
	out, err := enc.NewDecoder().Bytes(r.Body)
	if err != nil {
		return r.Body
	}
	return bytes.ToValidUTF8(out, []byte("\uFFFD"))
}

// viewBody reads a post's view page and returns the text under view_body.
// A page that is gone or refused is a PermanentError.
func (s *Source) viewBody(ctx context.Context, link string) (string, error) {
	r, err := s.fetch(ctx, link)
	if err != nil {
		return "", err
	}
	if !r.OK() {
		return "", r.StatusError(s.now())
	}
	text, err := s.parseView(r)
	if err != nil {
		return "", &crawlers.PermanentError{Err: fmt.Errorf("parsing %s: %w", link, err)}
	}
	return text, nil
}

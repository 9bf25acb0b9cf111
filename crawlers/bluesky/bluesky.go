// Package bluesky reads Bluesky posts: polled from app.bsky.feed.searchPosts
// through an authenticated PDS session (a Poller), or followed live on the
// Jetstream firehose and filtered by terms on the client (a Streamer, when
// options.stream is true).
//
// Polling asks for the newest posts (sort=latest) since the newest sortAt
// already read, less options.overlap for late-indexed posts; the ids read
// inside that window travel in the cursor so nothing is returned twice.
// When a burst outruns one page, the poll pages back with the search cursor
// (Page.More) until it reaches a post it has already read.
//
// Post ids are "<did>/<rkey>" on both paths, so a post found by search and by
// the firehose is one post (Nats-Msg-Id <source>:<did>/<rkey>).
package bluesky

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// Type is the source type name used in configuration.
const Type = "bluesky"

// Defaults and bounds of Options.
const (
	DefaultService      = "https://bsky.social"
	DefaultJetstreamURL = "wss://jetstream2.us-east.bsky.network/subscribe"
	DefaultLimit        = 100
	MaxLimit            = 100
	DefaultOverlap      = time.Minute
	DefaultIdleTimeout  = time.Minute
	// MaxBody caps one XRPC response (100 post views are well under 1 MiB).
	MaxBody = 8 << 20
)

// Options are the `options` of a bluesky source.
type Options struct {
	// Service is the PDS (or entryway) base URL the session is made on and
	// searchPosts is asked through (default https://bsky.social).
	Service string `yaml:"service"`
	// Identifier is the account's handle, DID or email.
	Identifier string `yaml:"identifier"`
	// AppPassword is an app password of the account (Settings → App
	// passwords), not the account password.
	AppPassword string `yaml:"app_password"`
	// Query is the searchPosts query (Lucene-like: words, "phrases",
	// from:handle, #tag, lang:ko ...).
	Query string `yaml:"query"`
	// Lang keeps posts in this language (the search's lang parameter; on
	// the stream, the post's first-listed languages).
	Lang string `yaml:"lang"`
	// Limit is the page size, 1-100 (default 100).
	Limit int `yaml:"limit"`
	// Overlap is how far before the newest post read each poll looks again,
	// for posts indexed late (default 1m, at most 1h).
	Overlap time.Duration `yaml:"overlap"`

	// Stream follows Jetstream instead of polling searchPosts.
	Stream bool `yaml:"stream"`
	// JetstreamURL is the Jetstream subscribe endpoint (ws or wss).
	JetstreamURL string `yaml:"jetstream_url"`
	// Terms select the streamed posts: a post matches when its text holds
	// any term, case-insensitively (see matcher).
	Terms []string `yaml:"terms"`
	// IdleTimeout ends a stream that sent nothing for this long (default 1m;
	// the firehose normally carries many posts a second).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Validate applies defaults and checks the options; messages name the field
// relative to the source spec (`options.query: required`).
func (o *Options) Validate() error {
	problems := crawlers.Problems{Prefix: "options."}
	bad := problems.Add
	if o.Limit == 0 {
		o.Limit = DefaultLimit
	}
	if o.Limit < 1 || o.Limit > MaxLimit {
		bad("limit", "%d, want 1 to %d", o.Limit, MaxLimit)
	}
	if o.Overlap == 0 {
		o.Overlap = DefaultOverlap
	}
	if o.Overlap < 0 || o.Overlap > time.Hour {
		bad("overlap", "%s, want 0 to 1h", o.Overlap)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.IdleTimeout < 0 {
		bad("idle_timeout", "%s is negative", o.IdleTimeout)
	}
	o.Lang = strings.TrimSpace(o.Lang)
	if o.Lang != "" && !langRE(o.Lang) {
		bad("lang", "%q is not a language tag such as ko or en-US", o.Lang)
	}
	if o.Stream {
		o.validateStream(bad)
	} else {
		o.validatePoll(bad)
	}
	return problems.Err()
}

func (o *Options) validatePoll(bad func(field, format string, args ...any)) {
	if o.Service == "" {
		o.Service = DefaultService
	}
	if err := checkURL(o.Service, "https", "http"); err != nil {
		bad("service", "%q %v", o.Service, err)
	}
	o.Service = strings.TrimRight(o.Service, "/")
	o.Query = strings.TrimSpace(o.Query)
	if o.Query == "" {
		bad("query", "required (or set options.stream: true and options.terms)")
	}
	if o.Identifier == "" {
		bad("identifier", "required: searchPosts answers 403 without a session (a handle, DID or email)")
	}
	if o.AppPassword == "" {
		bad("app_password", "required: an app password of options.identifier")
	}
	if len(o.Terms) > 0 {
		bad("terms", "only used with options.stream: true (searchPosts filters by options.query)")
	}
	if o.JetstreamURL != "" {
		bad("jetstream_url", "only used with options.stream: true")
	}
}

func (o *Options) validateStream(bad func(field, format string, args ...any)) {
	if o.JetstreamURL == "" {
		o.JetstreamURL = DefaultJetstreamURL
	}
	if err := checkURL(o.JetstreamURL, "wss", "ws"); err != nil {
		bad("jetstream_url", "%q %v", o.JetstreamURL, err)
	}
	if len(o.Terms) == 0 {
		bad("terms", "required with options.stream: true (Jetstream cannot search: posts are matched by these terms)")
	}
	for i, t := range o.Terms {
		o.Terms[i] = strings.TrimSpace(t)
		if o.Terms[i] == "" {
			bad(fmt.Sprintf("terms[%d]", i), "empty")
		}
	}
	if o.Query != "" {
		bad("query", "not used with options.stream: true (Jetstream cannot search; set options.terms)")
	}
	if o.Identifier != "" || o.AppPassword != "" {
		bad("identifier", "not used with options.stream: true (Jetstream needs no account)")
	}
}

// checkURL checks that s is an absolute URL of the first scheme (the second
// is allowed too, for local servers) without credentials or fragment.
func checkURL(s, scheme, plain string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != scheme && u.Scheme != plain) || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("must be a %s URL without credentials", scheme)
	}
	return nil
}

// langRE reports whether s looks like a BCP 47 language tag.
func langRE(s string) bool {
	if len(s) > 35 {
		return false
	}
	for i, part := range strings.Split(s, "-") {
		if part == "" || len(part) > 8 || (i == 0 && len(part) < 2) {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// Constructor is the crawlers.Constructor of the bluesky type: a *Source
// (Poller), or a *StreamSource (Streamer) when options.stream is true. It
// does no I/O: the session is made on the first poll.
func Constructor(spec crawlers.Spec, deps crawlers.Deps) (any, error) {
	opts, err := crawlers.ParseOptions[Options](spec)
	if err != nil {
		return nil, err
	}
	deps = deps.WithDefaults()
	if opts.Stream {
		return newStream(spec, opts, deps), nil
	}
	return newSource(spec, opts, deps), nil
}

// New builds a polling Bluesky source from its spec; options.stream must be
// false. It does no I/O.
func New(spec crawlers.Spec, deps crawlers.Deps) (*Source, error) {
	v, err := Constructor(spec, deps)
	if err != nil {
		return nil, err
	}
	s, ok := v.(*Source)
	if !ok {
		return nil, errors.New("options.stream: must be false for a polling source (use NewStream)")
	}
	return s, nil
}

// NewStream builds a Jetstream source from its spec; options.stream must be
// true. It does no I/O.
func NewStream(spec crawlers.Spec, deps crawlers.Deps) (*StreamSource, error) {
	v, err := Constructor(spec, deps)
	if err != nil {
		return nil, err
	}
	s, ok := v.(*StreamSource)
	if !ok {
		return nil, errors.New("options.stream: must be true for a streaming source (use New)")
	}
	return s, nil
}

// base is what both kinds of source share.
type base struct {
	spec crawlers.Spec
	opts Options
	ua   string
	now  func() time.Time
	log  *slog.Logger
}

// header sets the headers every request carries.
func (b *base) header(h http.Header) {
	h.Set("User-Agent", b.ua)
}

package crawlertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/signals"
)

// ReadWant reads the expected posts of a case, testdata/<path>, one JSON
// post a line (want.jsonl), their times in UTC.
func ReadWant(t testing.TB, path string) []signals.Post {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return ParseWant(t, path, data)
}

// ParseWant parses expected posts, one JSON post a line, their times in
// UTC; name says where they came from.
func ParseWant(t testing.TB, name string, data []byte) []signals.Post {
	t.Helper()
	var want []signals.Post
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var p signals.Post
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.Time = p.Time.UTC()
		want = append(want, p)
	}
	return want
}

// ComparePosts checks got against want field by field, times compared in
// UTC; each post's Fetched must be fetched.
func ComparePosts(t testing.TB, got, want []signals.Post, fetched time.Time) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d posts %q, want %d %q", len(got), IDs(got), len(want), IDs(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if !g.Fetched.Equal(fetched) {
			t.Errorf("post %d: fetched %v, want %v", i, g.Fetched, fetched)
		}
		g.Fetched = time.Time{}
		g.Time, w.Time = g.Time.UTC(), w.Time.UTC()
		if !reflect.DeepEqual(g, w) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			t.Errorf("post %d:\ngot  %s\nwant %s", i, gj, wj)
		}
	}
}

// Pages polls p from cursor while Page.More, at most limit times, and
// returns the pages; an error, or still More after limit polls, fails the
// test.
func Pages(t testing.TB, p crawlers.Poller, cursor string, limit int) []crawlers.Page {
	t.Helper()
	var pages []crawlers.Page
	for range limit {
		page, err := p.Poll(context.Background(), cursor)
		if err != nil {
			t.Fatalf("poll %d with cursor %q: %v", len(pages)+1, cursor, err)
		}
		pages = append(pages, page)
		cursor = page.Cursor
		if !page.More {
			return pages
		}
	}
	t.Fatalf("still More after %d polls", limit)
	return nil
}

// AllPosts returns the posts of pages, in order.
func AllPosts(pages []crawlers.Page) []signals.Post {
	var out []signals.Post
	for _, p := range pages {
		out = append(out, p.Posts...)
	}
	return out
}

// An ErrorCheck says what is wrong with an error, "" when nothing.
type ErrorCheck = func(error) string

// RateLimited checks for a RateLimitError (and no PermanentError) asking
// to wait want.
func RateLimited(want time.Duration) ErrorCheck {
	return func(err error) string {
		var rl *crawlers.RateLimitError
		if !errors.As(err, &rl) {
			return "not a RateLimitError"
		}
		var pe *crawlers.PermanentError
		if errors.As(err, &pe) {
			return "both rate limited and permanent"
		}
		if rl.RetryAfter != want {
			return "RetryAfter " + rl.RetryAfter.String() + ", want " + want.String()
		}
		return ""
	}
}

// Permanent checks for a PermanentError that is not also rate limited.
func Permanent(err error) string {
	var pe *crawlers.PermanentError
	if !errors.As(err, &pe) {
		return "not a PermanentError"
	}
	if errors.Is(err, crawlers.ErrRateLimited) {
		return "both permanent and rate limited"
	}
	return ""
}

// Transient checks for a plain error the runner retries: neither
// permanent nor rate limited.
func Transient(err error) string {
	var pe *crawlers.PermanentError
	if errors.As(err, &pe) || errors.Is(err, crawlers.ErrRateLimited) {
		return "want a plain (retryable) error"
	}
	return ""
}

// Saying adds to check that the error's text holds text.
func Saying(check ErrorCheck, text string) ErrorCheck {
	return func(err error) string {
		if msg := check(err); msg != "" {
			return msg
		}
		if !strings.Contains(err.Error(), text) {
			return "does not say " + text
		}
		return ""
	}
}

// CheckErrors polls p from the empty cursor once for each check, in order:
// a nil check wants a recovery, no error and posts posts; any other wants
// an error that passes the check.
func CheckErrors(t testing.TB, p crawlers.Poller, posts int, checks ...ErrorCheck) {
	t.Helper()
	for i, check := range checks {
		page, err := p.Poll(context.Background(), "")
		if check == nil {
			if err != nil || len(page.Posts) != posts {
				t.Errorf("poll %d: %d posts, err %v; want recovery with %d posts", i+1, len(page.Posts), err, posts)
			}
			continue
		}
		if err == nil {
			t.Fatalf("poll %d: no error", i+1)
		}
		if msg := check(err); msg != "" {
			t.Errorf("poll %d: %v: %s", i+1, err, msg)
		}
	}
}

// RequirePosts fails the test at once unless posts holds at least least
// posts: a real-shaped page that yields nothing is a broken source, not a
// quiet one, and comparing an empty list to an empty want proves nothing.
func RequirePosts(t testing.TB, posts []signals.Post, least int) {
	t.Helper()
	if least < 1 {
		least = 1
	}
	if len(posts) < least {
		t.Fatalf("a real-shaped page yielded %d posts, want at least %d", len(posts), least)
	}
}

// CheckDecoded fails the test unless p, as a source decoded it from bytes
// nobody here wrote, is a post the runner can publish: an id, a time, text
// that is valid UTF-8 within signals.MaxTextBytes, and a URL and author
// that are valid UTF-8. Fuzz targets call it on every post a decoder
// accepts.
func CheckDecoded(t testing.TB, p signals.Post) {
	t.Helper()
	if p.Source == "" {
		p.Source = "fuzz"
	}
	if p.Service == "" {
		p.Service = "fuzz"
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("decoded post %q is invalid: %v", p.ID, err)
	}
	switch {
	case strings.TrimSpace(p.Text) == "":
		t.Fatalf("decoded post %q has no text", p.ID)
	case !utf8.ValidString(p.URL) || !utf8.ValidString(p.Author) || !utf8.ValidString(p.Lang):
		t.Fatalf("decoded post %q: URL, author or language not valid UTF-8", p.ID)
	}
	if _, err := json.Marshal(p); err != nil {
		t.Fatalf("decoded post %q cannot be encoded: %v", p.ID, err)
	}
}

package feed

import (
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 24, 9, 31, 0, 0, time.UTC)
	for _, in := range []string{
		"2026-11-24T09:31:00Z",
		"2026-11-24T18:31:00+09:00",
		"Tue, 24 Nov 2026 09:31:00 +0000",
		"Tue, 24 Nov 2026 18:31:00 +0900",
		"Tue, 24 Nov 2026 09:31:00 GMT",
		"Tue, 24 Nov 2026 09:31 +0000",
		"  1795512660 ",
		"1795512660000",
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseTime("20261124"); err != nil || !got.Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("parseTime(yyyymmdd) = %v, %v", got, err)
	}
	for _, in := range []string{"", "yesterday", "24/11/2026", "-5", "0"} {
		if _, err := parseTime(in); err == nil {
			t.Errorf("parseTime(%q) accepted", in)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"120":                           2 * time.Minute,
		" 0 ":                           0,
		"-3":                            0,
		"Tue, 24 Nov 2026 10:05:00 GMT": 5 * time.Minute,
		"Tue, 24 Nov 2026 09:55:00 GMT": 0,
		"soon":                          0,
		"":                              0,
	} {
		if got, _ := httpsrc.RetryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestHTMLText(t *testing.T) {
	for in, want := range map[string]string{
		"plain  text\n here":                            "plain text here",
		"<p>One</p><p>Two<br/>Three</p>":                "One Two Three",
		"a <b>bold</b> move":                            "a bold move",
		"Tom &amp; Jerry &lt;3 &#39;x&#39; &nbsp;":      "Tom & Jerry <3 'x'",
		"x<script>alert(1)</script>y<style>p{}</style>": "xy",
		"1 < 2 and 3 > 2":                               "1 < 2 and 3 > 2",
	} {
		if got := plaintext.FromHTML(in); got != want {
			t.Errorf("plaintext.FromHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMark(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var m mark
	m.add(t0, "a")
	m.add(t0, "b")
	m.add(t0.Add(-time.Minute), "old")
	switch {
	case m.isNew(t0, "a"), m.isNew(t0, "b"), m.isNew(t0.Add(-time.Second), "z"):
		t.Error("seen or older item counted as new")
	case !m.isNew(t0, "c"), !m.isNew(t0.Add(time.Second), "a"):
		t.Error("new item at or after the mark not counted as new")
	}
	c, err := decodeCursor(cursorState{Mark: m, ETag: `"e"`}.encode())
	if err != nil || !c.Mark.Time.Equal(t0) || len(c.Mark.IDs) != 2 || c.ETag != `"e"` {
		t.Errorf("cursor round trip: %+v, %v", c, err)
	}
	if _, err := decodeCursor("{not json"); err == nil {
		t.Error("bad cursor accepted")
	}
}

package forum

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers/httpsrc"
)

func TestParseTime(t *testing.T) {
	seoul := time.FixedZone("KST", 9*60*60)
	// 19:00 on Tuesday 24 November 2026 in Seoul.
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	kst := func(y int, mo time.Month, d, h, mi, s int) time.Time { return time.Date(y, mo, d, h, mi, s, 0, seoul) }
	endOf := func(y int, mo time.Month, d int) time.Time { return kst(y, mo, d, 23, 59, 59) }
	c := clock{loc: seoul}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"18:31", kst(2026, 11, 24, 18, 31, 0)},
		{" 18:31:05 ", kst(2026, 11, 24, 18, 31, 5)},
		{"9:05", kst(2026, 11, 24, 9, 5, 0)},
		{"오늘 18:31", kst(2026, 11, 24, 18, 31, 0)},
		{"23:50", kst(2026, 11, 23, 23, 50, 0)}, // ahead of now: rendered yesterday
		{"19:05", kst(2026, 11, 24, 19, 5, 0)},  // within the allowed skew
		{"11.23", endOf(2026, 11, 23)},
		{"11-23", endOf(2026, 11, 23)},
		{"11/23", endOf(2026, 11, 23)},
		{"11.24", now}, // today, no time of day: the latest it can mean
		{"12.31", endOf(2025, 12, 31)},
		{"11-23 18:31", kst(2026, 11, 23, 18, 31, 0)},
		{"26.11.23", endOf(2026, 11, 23)},
		{"26.11.23 18:31", kst(2026, 11, 23, 18, 31, 0)},
		{"2026.11.23", endOf(2026, 11, 23)},
		{"2026.11.23.", endOf(2026, 11, 23)},
		{"2026. 11. 23.", endOf(2026, 11, 23)},
		{"2026-11-23", endOf(2026, 11, 23)},
		{"2026-11-23 18:31", kst(2026, 11, 23, 18, 31, 0)},
		{"2026-11-23 18:31:05", kst(2026, 11, 23, 18, 31, 5)},
		{"2026/11/23 18:31", kst(2026, 11, 23, 18, 31, 0)},
		{"2026-11-23T18:31:05+09:00", kst(2026, 11, 23, 18, 31, 5)},
		{"2026-11-23T09:31:05Z", kst(2026, 11, 23, 18, 31, 5)},
		{"방금", now},
		{"방금 전", now},
		{"30초 전", now.Add(-30 * time.Second)},
		{"5분 전", now.Add(-5 * time.Minute)},
		{"5분전", now.Add(-5 * time.Minute)},
		{"2시간 전", now.Add(-2 * time.Hour)},
		{"3일 전", now.Add(-72 * time.Hour)},
		{"1주 전", now.Add(-7 * 24 * time.Hour)},
		{"어제", endOf(2026, 11, 23)},
		{"어제 22:10", kst(2026, 11, 23, 22, 10, 0)},
		{"그제", endOf(2026, 11, 22)},
		{"just now", now},
		{"5 minutes ago", now.Add(-5 * time.Minute)},
		{"1 minute ago", now.Add(-time.Minute)},
		{"a minute ago", now.Add(-time.Minute)},
		{"an hour ago", now.Add(-time.Hour)},
		{"3 hours ago", now.Add(-3 * time.Hour)},
		{"10 mins ago", now.Add(-10 * time.Minute)},
		{"2 days ago", now.Add(-48 * time.Hour)},
		{"Yesterday", endOf(2026, 11, 23)},
	}
	for _, tt := range tests {
		got, err := c.parse(tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parse(%q) = %v, %v; want %v", tt.in, got.In(seoul), err, tt.want)
		}
		if err == nil && got.Location() != time.UTC {
			t.Errorf("parse(%q) in %v, want UTC", tt.in, got.Location())
		}
	}
	for _, in := range []string{"", "조회 12", "25:00", "13.40", "2026.13.01", "어제 24:10", "soon", "5 fortnights ago", "18:61"} {
		if got, err := c.parse(in, now); err == nil {
			t.Errorf("parse(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseTimeLayouts(t *testing.T) {
	seoul := time.FixedZone("KST", 9*60*60)
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var layouts []layout
	for _, f := range []string{"Jan 2, 2006 3:04 PM", "01월 02일", "2006년 1월 2일 15시 04분"} {
		l, err := newLayout(f)
		if err != nil {
			t.Fatal(err)
		}
		layouts = append(layouts, l)
	}
	c := clock{loc: seoul, layouts: layouts}
	for in, want := range map[string]time.Time{
		"Nov 23, 2026 6:31 PM":  time.Date(2026, 11, 23, 18, 31, 0, 0, seoul),
		"11월 23일":               time.Date(2026, 11, 23, 23, 59, 59, 0, seoul),
		"12월 31일":               time.Date(2025, 12, 31, 23, 59, 59, 0, seoul),
		"2026년 11월 23일 18시 31분": time.Date(2026, 11, 23, 18, 31, 0, 0, seoul),
		"18:31":                 time.Date(2026, 11, 24, 18, 31, 0, 0, seoul), // built-ins still apply
	} {
		if got, err := c.parse(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := newLayout("조회수"); err == nil {
		t.Error("a layout with neither date nor time accepted")
	}
}

func TestCleanTitle(t *testing.T) {
	for in, want := range map[string]string{
		"결제가 안 돼요 [12]":          "결제가 안 돼요",
		"  결제가\n\t안 돼요   [3/1] ": "결제가 안 돼요",
		"[공지] 4.2 업데이트 안내":       "[공지] 4.2 업데이트 안내",
		"장바구니 비워짐 [버그]":          "장바구니 비워짐 [버그]",
		"버전 [4.2]":               "버전 [4.2]",
		"v2 (12)":                "v2 (12)",
	} {
		if got := cleanTitle(in); got != want {
			t.Errorf("cleanTitle(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("가", 1000) // 3000 bytes
	if got := cleanTitle(long); len(got) > maxTitleBytes || !strings.HasPrefix(long, got) {
		t.Errorf("long title cut to %d bytes, not on a rune boundary or too long", len(got))
	}
}

func TestPostID(t *testing.T) {
	s := &Source{}
	for in, want := range map[string]string{
		"https://b.example/bbs/board.php?bo_table=free&wr_id=5&page=3#c_9": "https://b.example/bbs/board.php?bo_table=free&wr_id=5",
		"https://b.example/post/9006?ref=list#content":                     "https://b.example/post/9006?ref=list",
		"https://b.example/post/9006":                                      "https://b.example/post/9006",
	} {
		if got, err := s.postID(in); err != nil || got != want {
			t.Errorf("postID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	o := Options{ID: `no=(\d+)`}
	_ = o.Validate()
	s = &Source{opts: o}
	if got, err := s.postID("https://b.example/view?id=free&no=12345&page=2"); err != nil || got != "12345" {
		t.Errorf("postID with pattern = %q, %v", got, err)
	}
	if _, err := s.postID("https://b.example/view?id=free"); err == nil {
		t.Error("a link the id pattern does not match was accepted")
	}
}

func TestResolve(t *testing.T) {
	base, _ := url.Parse("http://b.example/bbs/board.php?bo_table=free&page=1")
	for href, want := range map[string]string{
		"./board.php?bo_table=free&wr_id=5": "http://b.example/bbs/board.php?bo_table=free&wr_id=5",
		"/community/post/1":                 "http://b.example/community/post/1",
		"https://m.b.example/p/1":           "https://m.b.example/p/1",
	} {
		if got, err := resolve(base, href); err != nil || got != want {
			t.Errorf("resolve(%q) = %q, %v; want %q", href, got, err, want)
		}
	}
	for _, href := range []string{"javascript:view(5)", "mailto:a@b.example"} {
		if _, err := resolve(base, href); err == nil {
			t.Errorf("resolve(%q) accepted", href)
		}
	}
}

func TestCursorRing(t *testing.T) {
	var c cursorState
	for i := range maxSeen + 50 {
		c.remember(fmt.Sprint(i))
	}
	if len(c.Seen) != maxSeen || c.seen("49") || !c.seen("50") || !c.seen(fmt.Sprint(maxSeen+49)) {
		t.Errorf("ring holds %d ids from %s; want the last %d", len(c.Seen), c.Seen[0], maxSeen)
	}
	c.endRun()
	c.remember("new")
	if c.seenBefore("new") || !c.seenBefore("100") || !c.seen("new") {
		t.Error("seenBefore must tell ids of this run from older ones")
	}
	c.Newest = time.Date(2026, 11, 24, 9, 52, 0, 0, time.UTC)
	got, err := decodeCursor(c.encode())
	if err != nil || len(got.Seen) != maxSeen || got.Fresh != 1 || !got.Newest.Equal(c.Newest) {
		t.Errorf("cursor round trip: %d ids, fresh %d, newest %v, %v", len(got.Seen), got.Fresh, got.Newest, err)
	}
	if len(c.encode()) > 8<<10 {
		t.Errorf("cursor of %d bytes for short ids", len(c.encode()))
	}
	if _, err := decodeCursor("{not json"); err == nil {
		t.Error("bad cursor accepted")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"120":                           2 * time.Minute,
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

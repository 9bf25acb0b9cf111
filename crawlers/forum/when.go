package forum

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
)

// clock turns the times boards print ("18:31", "11.24", "3분 전") into
// instants, in the board's time zone and relative to the time of the fetch.
type clock struct {
	loc     *time.Location
	layouts []layout
}

// layout is one configured time_format with what it carries.
type layout struct {
	text                     string
	hasYear, hasDate, hasDay bool // hasDay: a time of day
}

// newLayout finds what a Go layout carries by formatting a probe time with
// it and reading it back.
func newLayout(text string) (layout, error) {
	probe := time.Date(2001, 3, 4, 5, 6, 7, 0, time.UTC)
	got, err := time.Parse(text, probe.Format(text))
	if err != nil {
		return layout{}, err
	}
	l := layout{text: text, hasYear: got.Year() == 2001, hasDate: got.Month() == 3 && got.Day() == 4, hasDay: got.Hour() == 5}
	if !l.hasDate && !l.hasDay {
		return layout{}, fmt.Errorf("%q holds neither a date nor a time of day", text)
	}
	return l, nil
}

// Built-in board time patterns, tried after the configured layouts.
var (
	clockRE    = `(\d{1,2}):(\d{2})(?::(\d{2}))?`
	reTime     = regexp.MustCompile(`^(?:오늘\s*|today\s+)?` + clockRE + `$`)
	reFullDate = regexp.MustCompile(`^(\d{4})[./-]\s*(\d{1,2})[./-]\s*(\d{1,2})\.?(?:[\sT]+` + clockRE + `)?$`)
	reYYDate   = regexp.MustCompile(`^(\d{2})[./-](\d{1,2})[./-](\d{1,2})\.?(?:\s+` + clockRE + `)?$`)
	reMonthDay = regexp.MustCompile(`^(\d{1,2})[./-](\d{1,2})\.?(?:\s+` + clockRE + `)?$`)
	reAgoKo    = regexp.MustCompile(`^(\d+)\s*(초|분|시간|일|주)\s*전$`)
	reAgoEn    = regexp.MustCompile(`^(\d+|an?|one)\s+(sec|second|min|minute|hr|hour|day|week)s?\s+ago$`)
	reDaysBack = regexp.MustCompile(`^(어제|그제|그저께|yesterday)(?:\s+` + clockRE + `)?$`)
)

var agoUnits = map[string]time.Duration{
	"초": time.Second, "sec": time.Second, "second": time.Second,
	"분": time.Minute, "min": time.Minute, "minute": time.Minute,
	"시간": time.Hour, "hr": time.Hour, "hour": time.Hour,
	"일": 24 * time.Hour, "day": 24 * time.Hour,
	"주": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour,
}

// parse reads a board time. A time of day without a date is today (or
// yesterday, when it lies ahead of now: the page was rendered before
// midnight); a date without a year is the latest such date not ahead of
// now; a date without a time of day is the latest moment it can mean: the
// end of that day, or now when the day is today. The result is in UTC.
func (c clock) parse(s string, now time.Time) (time.Time, error) {
	s = plaintext.Collapse(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("no time")
	}
	now = now.In(c.loc).Truncate(time.Second)
	for _, l := range c.layouts {
		if t, err := time.ParseInLocation(l.text, s, c.loc); err == nil {
			return c.fromLayout(l, t, now).UTC(), nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, ok := c.builtin(strings.ToLower(s), now)
	if !ok {
		return time.Time{}, fmt.Errorf("unrecognised time %q", s)
	}
	return t.UTC(), nil
}

func (c clock) fromLayout(l layout, t, now time.Time) time.Time {
	switch {
	case !l.hasDate:
		return c.today(now, t.Hour(), t.Minute(), t.Second())
	case !l.hasYear:
		if l.hasDay {
			return c.guessYear(now, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second())
		}
		return c.day(now, c.yearFor(now, t.Month(), t.Day()), t.Month(), t.Day())
	case !l.hasDay:
		return c.day(now, t.Year(), t.Month(), t.Day())
	}
	return t
}

func (c clock) builtin(s string, now time.Time) (time.Time, bool) {
	if m := reTime.FindStringSubmatch(s); m != nil {
		h, mi, sec, ok := hms(m[1:4])
		return c.today(now, h, mi, sec), ok
	}
	if m := reFullDate.FindStringSubmatch(s); m != nil {
		return c.dated(now, atoi(m[1]), m[2], m[3], m[4:7])
	}
	if m := reYYDate.FindStringSubmatch(s); m != nil {
		return c.dated(now, 2000+atoi(m[1]), m[2], m[3], m[4:7])
	}
	if m := reMonthDay.FindStringSubmatch(s); m != nil {
		return c.dated(now, 0, m[1], m[2], m[3:6])
	}
	if m := reAgoKo.FindStringSubmatch(s); m != nil {
		return now.Add(-time.Duration(atoi(m[1])) * agoUnits[m[2]]), true
	}
	if m := reAgoEn.FindStringSubmatch(s); m != nil {
		n := 1
		if m[1] != "a" && m[1] != "an" && m[1] != "one" {
			n = atoi(m[1])
		}
		return now.Add(-time.Duration(n) * agoUnits[m[2]]), true
	}
	if m := reDaysBack.FindStringSubmatch(s); m != nil {
		back := 1
		if m[1] == "그제" || m[1] == "그저께" {
			back = 2
		}
		d := now.AddDate(0, 0, -back)
		if m[2] == "" {
			return c.day(now, d.Year(), d.Month(), d.Day()), true
		}
		h, mi, sec, ok := hms(m[2:5])
		return time.Date(d.Year(), d.Month(), d.Day(), h, mi, sec, 0, c.loc), ok
	}
	switch s {
	case "방금", "방금 전", "just now", "now":
		return now, true
	}
	return time.Time{}, false
}

// dated builds a time from a matched date (year 0: guess it) and an
// optional time of day.
func (c clock) dated(now time.Time, year int, month, day string, clock []string) (time.Time, bool) {
	mo, d := atoi(month), atoi(day)
	if mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	if clock[0] == "" {
		if year == 0 {
			year = c.yearFor(now, time.Month(mo), d)
		}
		return c.day(now, year, time.Month(mo), d), true
	}
	h, mi, sec, ok := hms(clock)
	if year == 0 {
		return c.guessYear(now, time.Month(mo), d, h, mi, sec), ok
	}
	return time.Date(year, time.Month(mo), d, h, mi, sec, 0, c.loc), ok
}

// today is a time of day today, or yesterday when it lies ahead of now.
func (c clock) today(now time.Time, h, mi, sec int) time.Time {
	t := time.Date(now.Year(), now.Month(), now.Day(), h, mi, sec, 0, c.loc)
	if t.After(now.Add(maxSkew)) {
		t = t.AddDate(0, 0, -1)
	}
	return t
}

// yearFor picks the year of a month and day: this year, or last year when
// that date lies ahead ("12.31" read on January 1st).
func (c clock) yearFor(now time.Time, mo time.Month, d int) int {
	if time.Date(now.Year(), mo, d, 0, 0, 0, 0, c.loc).After(now) {
		return now.Year() - 1
	}
	return now.Year()
}

func (c clock) guessYear(now time.Time, mo time.Month, d, h, mi, sec int) time.Time {
	t := time.Date(now.Year(), mo, d, h, mi, sec, 0, c.loc)
	if t.After(now.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t
}

// day is the latest moment a date without a time of day can mean: its
// last second, or now when that lies ahead.
func (c clock) day(now time.Time, y int, mo time.Month, d int) time.Time {
	start := time.Date(y, mo, d, 0, 0, 0, 0, c.loc)
	end := start.AddDate(0, 0, 1).Add(-time.Second)
	switch {
	case end.Before(now):
		return end
	case start.After(now):
		return start
	}
	return now
}

// hms reads hour, minute and optional second.
func hms(m []string) (h, mi, sec int, ok bool) {
	h, mi = atoi(m[0]), atoi(m[1])
	if m[2] != "" {
		sec = atoi(m[2])
	}
	return h, mi, sec, h < 24 && mi < 60 && sec < 60
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

package slack

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/signals"
)

// Message is the JSON body of an incoming webhook post. Text carries the
// whole notice in a form every Slack-compatible server shows (Mattermost and
// Rocket.Chat ignore Blocks); Slack shows Blocks and uses Text for
// notifications.
type Message struct {
	Text     string  `json:"text"`
	Blocks   []Block `json:"blocks,omitempty"`
	Channel  string  `json:"channel,omitempty"`
	Username string  `json:"username,omitempty"`
}

// Block is a Block Kit layout block: a section with Text or a context with
// Elements.
type Block struct {
	Type     string      `json:"type"`
	Text     *TextBlock  `json:"text,omitempty"`
	Elements []TextBlock `json:"elements,omitempty"`
}

// TextBlock is a Block Kit text object.
type TextBlock struct {
	Type string `json:"type"` // mrkdwn
	Text string `json:"text"`
}

// Limits on what a message quotes, so one notice stays readable and under
// Slack's 3000-character section limit.
const (
	maxReasons     = 10
	maxReasonLen   = 300 // characters
	maxKeywords    = 8
	maxKeywordLen  = 40
	maxExamples    = 2
	maxExampleLen  = 200
	maxSectionText = 3000
)

// Status is how a verdict reads at a glance.
type Status struct {
	Emoji  string // ✅ ⚠️ 🛑 🚩 👀
	Word   string // PASS, MARGINAL, FAIL, WAIT
	Action string // what happens next: "halting", "proceeding", …
}

// StatusOf maps a verdict's decision and action to an emoji and words. The
// action wins over the decision: a marginal verdict that needs a review
// reads ⚠️, a failure that switches a flag off reads 🚩.
func StatusOf(v signals.Verdict) Status {
	s := Status{Word: strings.ToUpper(oneLine(v.Decision, 20))}
	if s.Word == "" {
		s.Word = "UNKNOWN"
	}
	switch v.Action {
	case signals.ActionHalt:
		s.Emoji, s.Action = "🛑", "halting"
		return s
	case signals.ActionFlagOff:
		s.Emoji, s.Action = "🚩", "switching off its feature flag"
		if f := oneLine(v.Feature, 80); f != "" {
			s.Action = "switching off feature " + f
		}
		return s
	case signals.ActionReviewRequired:
		s.Emoji, s.Action = "⚠️", "review required"
		return s
	}
	switch v.Decision {
	case signals.DecisionPass:
		s.Emoji, s.Action = "✅", "ring may proceed"
	case signals.DecisionMarginal:
		s.Emoji, s.Action = "⚠️", "watching closely"
	case signals.DecisionWait:
		s.Emoji, s.Action = "👀", "watching"
	case signals.DecisionFail:
		s.Emoji, s.Action = "🛑", "no automatic action"
	default:
		s.Emoji, s.Action = "❔", "no action"
	}
	return s
}

// Headline is the first line of a notice: the release id first, so a
// channel reads as one line of history per release, e.g.
// "shop-4.2.0 ring H3: 🛑 FAIL 33/100 → halting".
func Headline(v signals.Verdict) string {
	s := StatusOf(v)
	var b strings.Builder
	b.WriteString(ReleaseID(v))
	if r := oneLine(v.Ring, 20); r != "" {
		b.WriteString(" ring " + r)
	}
	fmt.Fprintf(&b, ": %s %s %s → %s", s.Emoji, s.Word, score(v.Score), s.Action)
	return b.String()
}

// ReleaseID is how a notice names its release: the verdict's release id,
// or service-version when it is missing, on one line.
func ReleaseID(v signals.Verdict) string {
	if r := oneLine(v.Release, 100); r != "" {
		return r
	}
	if v.Service != "" && v.Version != "" {
		return oneLine(v.Service+"-"+v.Version, 100)
	}
	if s := oneLine(v.Service, 100); s != "" {
		return s
	}
	return "(unknown release)"
}

func score(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "?/100"
	}
	return fmt.Sprintf("%.0f/100", math.Max(0, math.Min(100, f)))
}

// NewMessage renders a notice. Everything taken from the verdict (post
// texts above all) is made inert: control characters become spaces,
// &, < and > are escaped so no <!channel> or link markup survives, and
// @mentions and Markdown links are broken with an invisible space.
func NewMessage(n deploy.Notice, channel, username string) Message {
	v := n.Verdict
	id := esc(neutral(ReleaseID(v)))
	rest := esc(neutral(strings.TrimPrefix(Headline(v), ReleaseID(v))))

	var text []string
	var blocks []Block
	section := func(s string) {
		blocks = append(blocks, Block{Type: "section", Text: &TextBlock{Type: "mrkdwn", Text: cut(s, maxSectionText)}})
	}

	text = append(text, id+rest)
	section("*" + id + "*" + rest)

	if len(v.Reasons) > 0 {
		var lines []string
		for i, r := range v.Reasons {
			if i == maxReasons {
				lines = append(lines, fmt.Sprintf("• … and %d more", len(v.Reasons)-maxReasons))
				break
			}
			lines = append(lines, "• "+esc(neutral(oneLine(r, maxReasonLen))))
		}
		text = append(text, lines...)
		section("*Reasons*\n" + strings.Join(lines, "\n"))
	}

	var kws []string
	for _, k := range v.Keywords {
		if k = esc(neutral(oneLine(k, maxKeywordLen))); k != "" && len(kws) < maxKeywords {
			kws = append(kws, k)
		}
	}
	if len(kws) > 0 {
		text = append(text, "Keywords: "+strings.Join(kws, ", "))
		section("*Keywords:* " + strings.Join(kws, ", "))
	}

	var exText, exBlock []string
	for _, e := range v.Examples {
		if len(exText) == maxExamples {
			break
		}
		quote := esc(neutral(oneLine(e.Text, maxExampleLen)))
		source := esc(neutral(oneLine(e.Source, 40)))
		link, ok := safeURL(e.URL)
		if quote == "" && !ok {
			continue
		}
		if source == "" {
			source = "post"
		}
		t, b := "Example ("+source+"):", "• "
		if ok {
			b += "<" + link + "|" + source + ">:"
		} else {
			b += source + ":"
		}
		if quote != "" {
			t += " “" + quote + "”"
			b += " “" + quote + "”"
		}
		if ok {
			t += " " + link
		}
		exText = append(exText, t)
		exBlock = append(exBlock, b)
	}
	if len(exText) > 0 {
		text = append(text, exText...)
		section("*Examples*\n" + strings.Join(exBlock, "\n"))
	}

	if link, ok := safeURL(n.Dashboard); ok {
		text = append(text, "Dashboard: "+link)
		blocks = append(blocks, Block{Type: "context", Elements: []TextBlock{{Type: "mrkdwn", Text: "📈 <" + link + "|Dashboard>"}}})
	}

	return Message{
		Text:     strings.Join(text, "\n"),
		Blocks:   blocks,
		Channel:  channel,
		Username: username,
	}
}

// oneLine makes s valid UTF-8 on one line: control characters and runs of
// white space become one space; at most max characters, cut with "…".
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	return cut(s, max)
}

// cut keeps at most max characters of s, ending in "…" when it cut.
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	i, n := 0, 0
	for i = range s {
		if n == max-1 {
			break
		}
		n++
	}
	return s[:i] + "…"
}

// esc escapes Slack's control characters (Markdown renderers decode the
// same entities).
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// neutral breaks @mentions (@channel, @here, @all ping everyone on
// Mattermost and Rocket.Chat) and Markdown links ([text](url) hides its
// target) in quoted text with a zero-width space.
func neutral(s string) string {
	return strings.NewReplacer("@", "@\u200b", "](", "]\u200b(").Replace(s)
}

// safeURL returns u ready to go inside <…|…> when it is an absolute http(s)
// URL.
func safeURL(raw string) (string, bool) {
	if raw == "" || len(raw) > 2000 || strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	s := strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E").Replace(u.String())
	return strings.ReplaceAll(s, "&", "&amp;"), true
}

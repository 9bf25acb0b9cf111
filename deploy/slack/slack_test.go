package slack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/notifiertest"
	"github.com/aftershock/aftershock/signals"
)

// hookPath is shaped like a Slack webhook path; its last part is the secret.
const (
	hookToken = "Zq3xWv9LmN2pR7tY4uK8sA1d"
	hookPath  = "/services/T0AB12CDE/B0FG34HIJ/" + hookToken
)

func newClock() *notifiertest.Clock {
	return notifiertest.NewClock(time.Date(2026, 11, 24, 9, 31, 0, 0, time.UTC))
}

func newTest(t *testing.T, url string, now func() time.Time) *Notifier {
	t.Helper()
	n, err := New(Config{URL: url, Timeout: 2 * time.Second}, now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChecklist(t *testing.T) {
	notifiertest.RunHTTP(t, notifiertest.HTTPTarget{
		New: func(t *testing.T, url string) deploy.Notifier {
			return newTest(t, url+hookPath, newClock().Now)
		},
		Secrets: []string{hookToken, hookPath},
	})
}

// replay answers with a raw HTTP response from testdata/replies and records
// the request bodies.
type replay struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (rp *replay) server(t *testing.T, fixture string) *httptest.Server {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "replies", fixture+".http"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rp.mu.Lock()
		rp.bodies = append(rp.bodies, body)
		rp.mu.Unlock()
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), r)
		if err != nil {
			t.Errorf("fixture %s: %v", fixture, err)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (rp *replay) count() int { rp.mu.Lock(); defer rp.mu.Unlock(); return len(rp.bodies) }

// TestReplies runs the answers Slack, Mattermost and Rocket.Chat really
// give.
func TestReplies(t *testing.T) {
	tests := []struct {
		fixture    string
		wantErr    string // "" for success
		retry      bool
		retryAfter time.Duration
	}{
		{"slack-ok", "", false, 0},
		{"mattermost-ok", "", false, 0},
		{"rocketchat-ok", "", false, 0},
		{"rocketchat-failed", "error-invalid-integration-xyz", false, 0},
		{"webapi-not-ok", "invalid_blocks", false, 0},
		{"invalid-payload", "400 Bad Request: invalid_payload", false, 0},
		{"no-text", "no_text", false, 0},
		{"action-prohibited", "403 Forbidden: action_prohibited", false, 0},
		{"no-service", "404 Not Found: no_service", false, 0},
		{"channel-not-found", "channel_not_found", false, 0},
		{"channel-is-archived", "410 Gone: channel_is_archived", false, 0},
		{"rate-limited", "429 Too Many Requests: rate_limited", true, 30 * time.Second},
		{"rollup-error", "500 Internal Server Error: rollup_error", true, 0},
		{"moved", "302 Found", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			var rp replay
			srv := rp.server(t, tc.fixture)
			retry, err := newTest(t, srv.URL+hookPath, newClock().Now).Notify(context.Background(), notifiertest.Sample())
			if tc.wantErr == "" {
				if err != nil || retry {
					t.Fatalf("got retry=%v err=%v, want success", retry, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got success, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), hookToken) {
				t.Errorf("error %q contains the webhook token", err)
			}
			if retry != tc.retry {
				t.Errorf("retry=%v, want %v", retry, tc.retry)
			}
			if d, _ := deploy.RetryAfter(err); d != tc.retryAfter {
				t.Errorf("RetryAfter=%s, want %s", d, tc.retryAfter)
			}
			if rp.count() != 1 {
				t.Errorf("server got %d requests, want 1 (redirects are not followed)", rp.count())
			}
		})
	}
}

// TestMessage pins the body a receiver gets for the sample halt
// (testdata/halt.json).
func TestMessage(t *testing.T) {
	var rp replay
	srv := rp.server(t, "slack-ok")
	n, err := New(Config{URL: srv.URL + hookPath, Channel: "#releases", Username: "Aftershock"}, newClock().Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil {
		t.Fatal(err)
	}
	got := rp.bodies[0]
	want, err := os.ReadFile("testdata/halt.json")
	if err != nil {
		t.Fatal(err)
	}
	if !notifiertest.JSONEqual(t, got, want) {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, got, "", "  ")
		t.Errorf("body:\n%s\nwant (testdata/halt.json):\n%s", pretty.String(), want)
	}
	var m Message
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "shop-4.2.0 ") {
		t.Errorf("text %q does not start with the release id", m.Text)
	}
}

func TestHeadline(t *testing.T) {
	base := notifiertest.Sample().Verdict
	tests := []struct {
		name     string
		decision string
		action   string
		score    float64
		feature  string
		want     string
	}{
		{"halt", signals.DecisionFail, signals.ActionHalt, 33.4, "", "shop-4.2.0 ring H2: 🛑 FAIL 33/100 → halting"},
		{"pass", signals.DecisionPass, signals.ActionNone, 91.6, "", "shop-4.2.0 ring H2: ✅ PASS 92/100 → ring may proceed"},
		{"marginal", signals.DecisionMarginal, signals.ActionNone, 62, "", "shop-4.2.0 ring H2: ⚠️ MARGINAL 62/100 → watching closely"},
		{"review", signals.DecisionMarginal, signals.ActionReviewRequired, 58, "", "shop-4.2.0 ring H2: ⚠️ MARGINAL 58/100 → review required"},
		{"flag off", signals.DecisionFail, signals.ActionFlagOff, 40, "new-checkout", "shop-4.2.0 ring H2: 🚩 FAIL 40/100 → switching off feature new-checkout"},
		{"flag off, no feature", signals.DecisionFail, signals.ActionFlagOff, 40, "", "shop-4.2.0 ring H2: 🚩 FAIL 40/100 → switching off its feature flag"},
		{"watch started", signals.DecisionWait, signals.ActionNone, 100, "", "shop-4.2.0 ring H2: 👀 WAIT 100/100 → watching"},
		{"fail without action", signals.DecisionFail, signals.ActionNone, 10, "", "shop-4.2.0 ring H2: 🛑 FAIL 10/100 → no automatic action"},
		{"unknown", "", "", math.NaN(), "", "shop-4.2.0 ring H2: ❔ UNKNOWN ?/100 → no action"},
		{"score out of range", signals.DecisionPass, signals.ActionNone, 140, "", "shop-4.2.0 ring H2: ✅ PASS 100/100 → ring may proceed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := base
			v.Decision, v.Action, v.Score, v.Feature = tc.decision, tc.action, tc.score, tc.feature
			if got := Headline(v); got != tc.want {
				t.Errorf("Headline = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("no release id", func(t *testing.T) {
		v := base
		v.Release = ""
		if got := Headline(v); !strings.HasPrefix(got, "shop-4.2.0 ring H2: ") {
			t.Errorf("Headline = %q, want it to start with service-version", got)
		}
	})
}

// TestHostileContent: post texts and keywords come from the internet.
func TestHostileContent(t *testing.T) {
	n := notifiertest.Sample()
	n.Verdict.Keywords = []string{"<!channel>", "a&b", "`x`"}
	n.Verdict.Examples = []signals.Example{
		{Source: "x", URL: "https://x.com/u/status/1?a=1&b=<2>|3", Text: "@here <!everyone> look [free](https://evil.example) \r\n\x00 now\u2028done"},
		{Source: "bad-url", URL: "javascript:alert(1)", Text: "hi"},
		{Source: "third", URL: "https://example.com/3", Text: "not shown: only two examples"},
	}
	n.Verdict.Reasons = []string{"complaints\nabout <b>checkout</b>", string([]byte{0xff, 0xfe, 'o', 'k'})}
	m := NewMessage(n, "", "")
	all := m.Text
	for _, b := range m.Blocks {
		if b.Text != nil {
			all += "\n" + b.Text.Text
		}
		for _, e := range b.Elements {
			all += "\n" + e.Text
		}
	}
	for _, bad := range []string{"<!channel>", "<!everyone>", "@here", "](", "<b>", "\r", "\x00", "\u2028", "javascript:", "not shown", "<2>"} {
		if strings.Contains(all, bad) {
			t.Errorf("message contains %q:\n%s", bad, all)
		}
	}
	if !utf8.ValidString(all) {
		t.Errorf("message is not valid UTF-8")
	}
	for _, want := range []string{"&lt;!channel&gt;", "a&amp;b", "<https://x.com/u/status/1?a=1&amp;b=%3C2%3E%7C3|x>", "complaints about &lt;b&gt;checkout&lt;/b&gt;", "bad-url: “hi”"} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
	// Every line of the plain text outside the headline is one item.
	if lines := strings.Split(m.Text, "\n"); len(lines) != 1+2+1+2+1 {
		t.Errorf("text has %d lines, want 7:\n%s", len(lines), m.Text)
	}
}

func TestLimits(t *testing.T) {
	n := notifiertest.Sample()
	n.Verdict.Reasons = nil
	for i := 0; i < 25; i++ {
		n.Verdict.Reasons = append(n.Verdict.Reasons, strings.Repeat("ü", 1000))
	}
	for i := 0; i < 20; i++ {
		n.Verdict.Keywords = append(n.Verdict.Keywords, strings.Repeat("k", 100))
	}
	n.Verdict.Examples = append(n.Verdict.Examples, signals.Example{Source: "bluesky", URL: "https://bsky.app/p/1", Text: strings.Repeat("🔥", 5000)})
	m := NewMessage(n, "", "")
	for i, b := range m.Blocks {
		if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > maxSectionText {
			t.Errorf("block %d has %d characters, Slack takes %d", i, utf8.RuneCountInString(b.Text.Text), maxSectionText)
		}
	}
	if !strings.Contains(m.Text, "• … and 15 more") {
		t.Errorf("text does not say how many reasons were left out")
	}
	if got := strings.Count(m.Text, "Example ("); got != 2 {
		t.Errorf("%d examples, want 2", got)
	}
	if n := utf8.RuneCountInString(m.Text); n > 8000 {
		t.Errorf("text is %d characters", n)
	}
}

func TestMinInterval(t *testing.T) {
	var rp replay
	srv := rp.server(t, "slack-ok")
	clk := newClock()
	n := newTest(t, srv.URL+hookPath, clk.Now)
	ctx := context.Background()
	if retry, err := n.Notify(ctx, notifiertest.Sample()); err != nil || retry {
		t.Fatalf("first post: retry=%v err=%v", retry, err)
	}
	clk.Add(400 * time.Millisecond)
	retry, err := n.Notify(ctx, notifiertest.Sample())
	if !retry || !errors.Is(err, ErrTooSoon) {
		t.Fatalf("second post 400ms later: retry=%v err=%v, want retry and ErrTooSoon", retry, err)
	}
	if d, ok := deploy.RetryAfter(err); !ok || d != 600*time.Millisecond {
		t.Errorf("RetryAfter = %s, %v; want 600ms", d, ok)
	}
	if rp.count() != 1 {
		t.Errorf("server got %d posts, want 1", rp.count())
	}
	clk.Add(600 * time.Millisecond)
	if retry, err := n.Notify(ctx, notifiertest.Sample()); err != nil || retry {
		t.Fatalf("post after min_interval: retry=%v err=%v", retry, err)
	}
	if rp.count() != 2 {
		t.Errorf("server got %d posts, want 2", rp.count())
	}
}

// TestRetryAfterHeld: after a 429 with Retry-After, the notifier itself
// refuses to post until the wait is over.
func TestRetryAfterHeld(t *testing.T) {
	var rp replay
	srv := rp.server(t, "rate-limited")
	clk := newClock()
	n := newTest(t, srv.URL+hookPath, clk.Now)
	if _, err := n.Notify(context.Background(), notifiertest.Sample()); err == nil {
		t.Fatal("want a 429 error")
	}
	clk.Add(10 * time.Second)
	retry, err := n.Notify(context.Background(), notifiertest.Sample())
	if d, _ := deploy.RetryAfter(err); !retry || !errors.Is(err, ErrTooSoon) || d != 20*time.Second {
		t.Errorf("10s after Retry-After 30: retry=%v err=%v RetryAfter=%s, want ErrTooSoon after 20s", retry, err, d)
	}
	if rp.count() != 1 {
		t.Errorf("server got %d posts, want 1", rp.count())
	}
}

func TestConcurrentNotify(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	n := newTest(t, srv.URL+hookPath, newClock().Now)
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := n.Notify(context.Background(), notifiertest.Sample()); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || hits.Load() != 1 {
		t.Errorf("%d calls succeeded and %d reached the server within one min_interval, want 1 and 1", ok.Load(), hits.Load())
	}
}

func TestConfig(t *testing.T) {
	type file struct {
		Notifiers []Config `yaml:"notifiers"`
	}
	read := func(name string) file {
		t.Helper()
		var f file
		notifiertest.ReadYAML(t, filepath.Join("testdata", name), &f)
		return f
	}
	good := read("good.yml")
	for i := range good.Notifiers {
		if err := good.Notifiers[i].ValidateAt("notifiers[0].slack"); err != nil {
			t.Errorf("good.yml notifier %d: %v", i, err)
		}
	}
	if c := good.Notifiers[0]; c.Timeout != DefaultTimeout || c.MinInterval != DefaultMinInterval {
		t.Errorf("defaults: timeout %s min_interval %s", c.Timeout, c.MinInterval)
	}
	if c := good.Notifiers[1]; c.Timeout != 5*time.Second || c.MinInterval != 2*time.Second || c.Channel != "town-square" {
		t.Errorf("good.yml second entry read as %+v", c)
	}

	bad := read("bad.yml")
	want := [][]string{
		{"notifiers[0].url: required", "notifiers[0].timeout: -1s"},
		{"notifiers[1].url: must be an http(s) URL", "notifiers[1].username: contains a control character", "notifiers[1].min_interval: 2h0m0s"},
		{"notifiers[2].timeout: 6m0s", "notifiers[2].min_interval: -1s"},
	}
	for i := range bad.Notifiers {
		err := bad.Notifiers[i].ValidateAt("notifiers[" + string(rune('0'+i)) + "]")
		if err == nil {
			t.Errorf("bad.yml notifier %d: no error", i)
			continue
		}
		for _, w := range want[i] {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("bad.yml notifier %d: error %q lacks %q", i, err, w)
			}
		}
		if strings.Contains(err.Error(), "XXXXXXXX") {
			t.Errorf("bad.yml notifier %d: error %q contains the webhook token", i, err)
		}
	}

	t.Run("log value", func(t *testing.T) {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "config", good.Notifiers[0])
		if strings.Contains(buf.String(), "XXXXXXXX") || !strings.Contains(buf.String(), `"url":"https://hooks.slack.com"`) {
			t.Errorf("logged %s", buf.String())
		}
	})
}

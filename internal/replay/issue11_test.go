package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/config"
)

// Issue 11's "what must exist", as `aftershock replay` shows it: each test
// feeds a recorded stream and reads the printed verdict lines.

// recording builds replay input line by line, in event time.
type recording struct{ lines []string }

func at(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *recording) release(min float64, event, ring string) {
	s.lines = append(s.lines, fmt.Sprintf(`{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":%q,"event":%q}`, ts(at(min)), ring, event))
}

// chatter adds perMin neutral posts a minute in [from, to) from each source.
func (s *recording) chatter(from, to float64, perMin int, sources ...string) {
	n := len(s.lines)
	for m := from; m < to; m++ {
		for k := range perMin {
			for i, src := range sources {
				t := at(m).Add(time.Duration((k*60/perMin)+i*7+1) * time.Second)
				s.lines = append(s.lines, fmt.Sprintf(`{"type":"post","time":%q,"source":%q,"id":"c%d-%d","service":"shop","text":%q,"lang":"en"}`,
					ts(t), src, n, len(s.lines), neutralTexts[len(s.lines)%len(neutralTexts)]))
			}
		}
	}
}

// complaints adds perMin login complaints naming 4.2 a minute in [from, to).
func (s *recording) complaints(from, to float64, perMin int) {
	for m := from; m < to; m++ {
		for k := range perMin {
			t := at(m).Add(time.Duration(k*60/perMin+3) * time.Second)
			id := len(s.lines)
			s.lines = append(s.lines, fmt.Sprintf(`{"type":"post","time":%q,"source":"mastodon","id":"x%d","service":"shop","text":%q,"lang":"en"}`,
				ts(t), id, fmt.Sprintf("%s #%d", complaintTexts[id%len(complaintTexts)], id)))
		}
	}
}

// metric adds one sample a minute in [from, to); version "" is the old cohort.
func (s *recording) metric(from, to float64, version, ring string, value float64) {
	for m := from; m < to; m++ {
		v := ""
		if version != "" {
			v = fmt.Sprintf(`"version":%q,`, version)
		}
		s.lines = append(s.lines, fmt.Sprintf(`{"type":"metric","time":%q,"service":"shop",%s"ring":%q,"name":"error_rate","value":%g}`,
			ts(at(m).Add(30*time.Second)), v, ring, value))
	}
}

// input sorts the lines by time (stable), as a recorder would write them.
func (s *recording) input() string {
	type tl struct {
		t    string
		line string
	}
	var all []tl
	for _, l := range s.lines {
		i := strings.Index(l, `"time":"`) + len(`"time":"`)
		all = append(all, tl{l[i : i+20], l})
	}
	for i := 1; i < len(all); i++ { // insertion sort keeps equal times in order
		for j := i; j > 0 && all[j].t < all[j-1].t; j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	var b strings.Builder
	for _, x := range all {
		b.WriteString(x.line)
		b.WriteByte('\n')
	}
	return b.String()
}

func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "aftershock.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func reasons(v map[string]any) string { return fmt.Sprint(v["reasons"]) }

func neverPasses(t *testing.T, r result) {
	t.Helper()
	for _, v := range r.verdicts {
		if v["decision"] == "pass" || v["action"] == "halt" {
			t.Fatalf("verdict %v at %v; all: %v", v["decision"], v["time"], r.decisions())
		}
	}
}

// A release whose sources post during the baseline and the first minutes
// of H2, then go silent: the ring never passes, and says which sources.
func TestSilentSourcesNeverPass(t *testing.T) {
	var s recording
	s.chatter(0, 130, 2, "mastodon", "reddit")
	s.release(120, "started", "H2")
	s.metric(100, 185, "", "H2", 0.01) // the old cohort goes on: the replay's clock runs
	r := run(t, s.input(), Options{})
	neverPasses(t, r)
	last := r.verdicts[len(r.verdicts)-1]
	if last["decision"] != "wait" || last["time"] != ts(at(180)) {
		t.Fatalf("last verdict %v at %v, want wait at the end of the minimum watch (%s)", last["decision"], last["time"], ts(at(180)))
	}
	first, _ := last["reasons"].([]any)
	if len(first) == 0 || !strings.HasPrefix(fmt.Sprint(first[0]), "sources silent since "+ts(at(129).Add(38*time.Second))) {
		t.Fatalf("first reason %v, want sources silent since the last post", first)
	}
	for _, src := range []string{"mastodon (last post", "reddit (last post"} {
		if !strings.Contains(fmt.Sprint(first[0]), src) {
			t.Errorf("silence reason %q does not name %s", first[0], src)
		}
	}
}

// A ring that passed goes back to wait when its sources go silent while it
// is live (past its minimum watch).
func TestSilenceAfterPassWaits(t *testing.T) {
	cfg := loadConfig(t, "detector:\n  rings: [{name: H2, exposure: 0.01, window: 20m}]\n")
	var s recording
	s.chatter(0, 150, 3, "mastodon", "bluesky")
	s.release(120, "started", "H2")
	s.metric(100, 200, "", "H2", 0.01)
	s.metric(121, 200, "4.2.0", "H2", 0.01)
	r := run(t, s.input(), Options{Config: cfg})
	var passed, silent bool
	for _, v := range r.verdicts {
		switch {
		case v["decision"] == "pass":
			passed = true
			if silent {
				t.Fatalf("passed at %v after the sources went silent: %v", v["time"], r.decisions())
			}
		case strings.Contains(reasons(v), "sources silent since"):
			silent = true
			if v["decision"] != "wait" {
				t.Errorf("silent sources with decision %v", v["decision"])
			}
		}
	}
	if !passed || !silent {
		t.Fatalf("want a pass, then a silent-sources wait; got %v", r.decisions())
	}
}

// A ring with posts but no new-version samples: the metric has no
// evidence. The social signals have, so the ring may pass on them — unless
// the metric is in must_have_data.
func TestPostsWithoutNewVersionMetrics(t *testing.T) {
	var s recording
	s.chatter(0, 190, 3, "mastodon")
	s.release(120, "started", "H2")
	s.metric(100, 190, "", "H2", 0.01) // the old cohort only
	def := run(t, s.input(), Options{})
	last := def.verdicts[len(def.verdicts)-1]
	if !strings.Contains(reasons(last), "error_rate") {
		t.Errorf("last verdict does not say error_rate lacks evidence: %v", last["reasons"])
	}
	if last["decision"] != "pass" {
		t.Errorf("defaults: %v, want pass on the social evidence", def.decisions())
	}

	must := run(t, s.input(), Options{Config: loadConfig(t, "detector:\n  must_have_data: [error_rate]\n")})
	neverPasses(t, must)
	if last := must.verdicts[len(must.verdicts)-1]; last["decision"] != "wait" || !strings.Contains(reasons(last), "error_rate") {
		t.Errorf("must_have_data [error_rate]: last verdict %v %v, want wait naming error_rate", last["decision"], last["reasons"])
	}
}

// must_have_data on a social signal: no posts, no pass, even when the
// new version's metric has evidence and passes.
func TestMustHaveDataSocial(t *testing.T) {
	var s recording
	s.release(0, "started", "H2")
	s.metric(0, 65, "", "H2", 0.01)
	s.metric(0, 65, "4.2.0", "H2", 0.01)
	cfg := loadConfig(t, "detector:\n  must_have_data: [complaint_volume]\n  rings: [{name: H2, exposure: 0.01, window: 1h, no_data: pass}]\n")
	r := run(t, s.input(), Options{Config: cfg})
	neverPasses(t, r)
	if last := r.verdicts[len(r.verdicts)-1]; !strings.Contains(reasons(last), "complaint_volume") {
		t.Errorf("last verdict %v does not name complaint_volume", last["reasons"])
	}
}

// Watch while live: an incident 90 minutes into a ring whose window is
// an hour is still judged, and halts.
func TestWatchWhileLive(t *testing.T) {
	var s recording
	s.chatter(0, 240, 3, "mastodon")
	s.release(120, "started", "H2")
	s.complaints(210, 240, 5)
	r := run(t, s.input(), Options{})
	h := r.halts()
	if len(h) != 1 || h[0]["ring"] != "H2" {
		t.Fatalf("halts %v, want one on H2; verdicts %v", h, r.decisions())
	}
	if ht := h[0]["time"].(string); ht < ts(at(210)) || ht > ts(at(225)) {
		t.Errorf("halted at %s, want within 15 minutes of the onset %s", ht, ts(at(210)))
	}
}

// Promotion closes the previous ring with a final verdict, at the
// promotion time.
func TestPromotionClosesPreviousRing(t *testing.T) {
	var s recording
	s.chatter(0, 200, 3, "mastodon")
	s.release(120, "started", "H2")
	s.release(190, "promoted", "H3")
	r := run(t, s.input(), Options{})
	var closed map[string]any
	for _, v := range r.verdicts {
		if v["ring"] == "H2" && strings.Contains(reasons(v), "ring H2 closed: the release moved on to H3") {
			closed = v
		}
		if closed != nil && v["ring"] == "H2" && v["time"].(string) > ts(at(190)) {
			t.Errorf("H2 verdict after it was closed: %v", v)
		}
	}
	if closed == nil || closed["time"] != ts(at(190)) || closed["decision"] != "pass" {
		t.Fatalf("final verdict of H2 %v, want pass at the promotion %s; verdicts %v", closed, ts(at(190)), r.decisions())
	}
}

// halted and rolled_back close the release's watches: an incident after
// them gives no verdict.
func TestHaltAndRollbackCloseWatches(t *testing.T) {
	for _, ev := range []string{"halted", "rolled_back", "fixed_forward"} {
		t.Run(ev, func(t *testing.T) {
			var s recording
			s.chatter(0, 220, 3, "mastodon")
			s.release(120, "started", "H2")
			s.release(150, ev, "H2")
			s.complaints(160, 220, 6)
			r := run(t, s.input(), Options{})
			for _, v := range r.verdicts {
				if v["time"].(string) > ts(at(150)) {
					t.Errorf("verdict after %s: %v", ev, v)
				}
			}
		})
	}
}

// completed starts the soak: the ring is still watched and an incident
// in the soak halts; service_soak from the config file shortens it for one
// service, whose soak then ends with a final verdict and judges nothing
// after.
func TestSoakAfterCompleted(t *testing.T) {
	var s recording
	s.chatter(0, 320, 3, "mastodon")
	s.release(120, "started", "H3")
	s.release(250, "completed", "H3")
	s.complaints(290, 320, 10)
	soak := run(t, s.input(), Options{})
	var soaking bool
	for _, v := range soak.verdicts {
		if v["time"].(string) > ts(at(250)) && strings.Contains(reasons(v), "soak: the release completed; still watched") {
			soaking = true
		}
	}
	h := soak.halts()
	if len(h) != 1 || h[0]["ring"] != "H3" || h[0]["time"].(string) < ts(at(290)) {
		t.Fatalf("default soak: halts %v, want one on H3 after the onset; verdicts %v", h, soak.decisions())
	}
	if !soaking {
		t.Errorf("no verdict says the ring is in its soak: %v", soak.decisions())
	}

	cfg := loadConfig(t, "services: [{name: shop}, {name: cart}]\ndetector:\n  soak: 24h\n  service_soak: {shop: 20m, cart: 48h}\n")
	short := run(t, s.input(), Options{Config: cfg})
	if h := short.halts(); len(h) != 0 {
		t.Fatalf("service_soak shop 20m: halted %v after the soak ended", h)
	}
	last := short.verdicts[len(short.verdicts)-1]
	if last["time"] != ts(at(270)) || !strings.Contains(reasons(last), "soak watch of 20m0s after completion ended") {
		t.Errorf("last verdict %v %v, want the soak's final verdict at %s", last["time"], last["reasons"], ts(at(270)))
	}

	// A rollback after the completion (docs/lifecycle.md allows it) closes
	// the soak: the incident after it gives no verdict.
	s.release(280, "rolled_back", "H3")
	rolled := run(t, s.input(), Options{})
	for _, v := range rolled.verdicts {
		if v["time"].(string) > ts(at(280)) {
			t.Errorf("verdict after the rollback: %v", v)
		}
	}
}

// Critical per signal and per category, from the config file: a failing
// critical signal halts at its first failing evaluation; a failure of
// signals that are not critical acts (halts when the score fails, asks for
// review when it is marginal) only after `consecutive` evaluations one
// minute apart.
func TestCriticalAndConsecutive(t *testing.T) {
	var social recording
	social.chatter(0, 180, 3, "mastodon")
	social.release(120, "started", "H2")
	social.complaints(150, 180, 4) // login complaints naming 4.2

	var metric recording
	metric.chatter(0, 180, 3, "mastodon")
	metric.release(120, "started", "H2")
	metric.metric(100, 180, "", "H2", 0.010)
	metric.metric(121, 150, "4.2.0", "H2", 0.010)
	metric.metric(150, 180, "4.2.0", "H2", 0.060) // the new version's error rate ×6

	for _, tc := range []struct {
		name   string
		input  string
		config string
		action string // the action taken
		// minutes from the first failing (fail or marginal) verdict to
		// the action; 0: that verdict acts, naming a critical signal.
		delay int
	}{
		{"defaults: login and release complaints are critical", social.input(), "", "halt", 0},
		{"one category critical", social.input(), "detector:\n  critical: [login]\n", "halt", 0},
		{"another category critical", social.input(), "detector:\n  critical: [payment]\n", "halt", 1},
		{"nothing social critical", social.input(), "detector:\n  critical: [error_rate]\n", "halt", 1},
		{"consecutive 3", social.input(), "detector:\n  critical: [error_rate]\n  consecutive: 3\n", "halt", 2},
		{"defaults: error_rate is critical", metric.input(), "", "halt", 0},
		{"error_rate not critical: one signal of many asks for review", metric.input(), "detector:\n  critical: [login]\n", "review_required", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{}
			if tc.config != "" {
				o.Config = loadConfig(t, tc.config)
			}
			r := run(t, tc.input, o)
			var first, acted map[string]any
			for _, v := range r.verdicts {
				if first == nil && (v["decision"] == "fail" || v["decision"] == "marginal") {
					first = v
				}
				if acted == nil && v["action"] != "none" {
					acted = v
				}
			}
			if first == nil || acted == nil || acted["action"] != tc.action {
				t.Fatalf("first failing verdict %v, first action %v, want %s; verdicts %v", first, acted, tc.action, r.decisions())
			}
			if tc.action == "review_required" && len(r.halts()) != 0 {
				t.Errorf("halted: %v", r.decisions())
			}
			ft, _ := time.Parse(time.RFC3339, first["time"].(string))
			at2, _ := time.Parse(time.RFC3339, acted["time"].(string))
			if got := int(at2.Sub(ft) / time.Minute); got != tc.delay {
				t.Errorf("%s %d minutes after the first failing verdict, want %d; verdicts %v", tc.action, got, tc.delay, r.decisions())
			}
			critical := strings.HasPrefix(reasons(acted), "[a critical signal failed")
			if critical != (tc.delay == 0) {
				t.Errorf("reasons %v: critical %v, want %v", acted["reasons"], critical, tc.delay == 0)
			}
			if onset := at(150); ft.Before(onset) || ft.After(onset.Add(10*time.Minute)) {
				t.Errorf("first failing verdict at %s, want within 10 minutes of the onset %s", ft, onset)
			}
		})
	}
}

// The mirror case: the new version's metric has evidence and passes, but
// no post ever came. Most of the counted signals lack evidence: Kayenta's
// rule keeps the ring from passing. (The internal ring H1 is judged on its
// metrics alone: its users are employees, not the public.)
func TestMetricsWithoutPostsWait(t *testing.T) {
	for _, tc := range []struct{ ring, want string }{{"H2", "wait"}, {"H1", "pass"}} {
		t.Run(tc.ring, func(t *testing.T) {
			var s recording
			s.release(0, "started", tc.ring)
			s.metric(0, 70, "", tc.ring, 0.01)
			s.metric(0, 70, "4.2.0", tc.ring, 0.01)
			r := run(t, s.input(), Options{})
			if tc.want == "wait" {
				neverPasses(t, r)
			}
			last := r.verdicts[len(r.verdicts)-1]
			if last["decision"] != tc.want {
				t.Fatalf("last verdict %v %v, want %s", last["decision"], last["reasons"], tc.want)
			}
			if tc.want == "wait" && !strings.Contains(reasons(last), "counted signals lack evidence: cannot pass") {
				t.Errorf("reasons %v do not give Kayenta's rule", last["reasons"])
			}
		})
	}
}

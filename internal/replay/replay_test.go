package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/config"
)

var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

// gen builds a replay input: steady neutral chatter, one release, and an
// optional burst of login complaints after it (each complaint a different
// text: the detector counts a copy of a recent text once).
type gen struct {
	minutes   int    // length of the stream
	perMin    int    // neutral posts per minute
	release   int    // minute of the ring start; -1 for none
	ring      string // ring of the release
	incident  int    // minute complaints start; -1 for none
	complaint int    // complaints per minute during the incident
	extra     string // raw JSON fields added to every post, e.g. `"mood":"x",`
}

var neutralTexts = []string{
	"just ordered new shoes on shop", "shop has a sale on today", "browsing shop for birthday gifts",
	"the new shop design looks nice", "shop delivery was quick this time", "anyone tried the shop app yet?",
}

var complaintTexts = []string{
	"can't log in to shop since the update to 4.2", "shop login broken after 4.2, keeps saying wrong password",
	"4.2 update: login loop, can't sign in", "shop app won't let me log in since the update",
}

func (g gen) lines() []string {
	var out []string
	id := 0
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for m := 0; m < g.minutes; m++ {
		t := t0.Add(time.Duration(m) * time.Minute)
		if m == g.release {
			out = append(out, fmt.Sprintf(`{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":%q,"event":"started"}`, ts(t), g.ring))
		}
		for k := 0; k < g.perMin; k++ {
			id++
			at := t.Add(time.Duration(k*60/g.perMin+1) * time.Second)
			out = append(out, fmt.Sprintf(`{"type":"post","time":%q,%s"source":"mastodon","id":"%d","service":"shop","text":%q,"lang":"en"}`, ts(at), g.extra, id, neutralTexts[id%len(neutralTexts)]))
		}
		if g.incident >= 0 && m >= g.incident {
			for k := 0; k < g.complaint; k++ {
				id++
				at := t.Add(time.Duration(k*60/g.complaint+2) * time.Second)
				out = append(out, fmt.Sprintf(`{"type":"post","time":%q,%s"source":"mastodon","id":"%d","service":"shop","text":%q}`, ts(at), g.extra, id, fmt.Sprintf("%s #%d", complaintTexts[id%len(complaintTexts)], id)))
			}
		}
	}
	return out
}

func (g gen) input() string { return strings.Join(g.lines(), "\n") + "\n" }

var incident = gen{minutes: 60, perMin: 3, release: 40, ring: "H2", incident: 42, complaint: 4}

type result struct {
	verdicts []map[string]any
	raw      []string // verdict lines as printed
	summary  map[string]any
	sum      Summary
	stderr   string
}

func run(t *testing.T, input string, opts Options) result {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := Run(ctx, strings.NewReader(input), &out, &errOut, opts)
	if err != nil {
		t.Fatalf("Run: %v (stderr %s)", err, errOut.String())
	}
	return parse(t, out.String(), errOut.String(), sum)
}

func parse(t *testing.T, stdout, stderr string, sum Summary) result {
	t.Helper()
	r := result{stderr: stderr, sum: sum}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("output line %d %q: %v", i+1, l, err)
		}
		if i == len(lines)-1 {
			if m["type"] != "summary" {
				t.Fatalf("last line is not the summary: %s", l)
			}
			r.summary = m
			continue
		}
		r.verdicts = append(r.verdicts, m)
		r.raw = append(r.raw, l)
	}
	return r
}

func (r result) decisions() []string {
	var out []string
	for _, v := range r.verdicts {
		out = append(out, fmt.Sprintf("%s/%s %s %s", v["release"], v["ring"], v["decision"], v["action"]))
	}
	return out
}

func (r result) halts() []map[string]any {
	var out []map[string]any
	for _, v := range r.verdicts {
		if v["action"] == "halt" {
			out = append(out, v)
		}
	}
	return out
}

func TestIncidentHalts(t *testing.T) {
	r := run(t, incident.input(), Options{})
	halts := r.halts()
	if len(halts) != 1 {
		t.Fatalf("got %d halts, want 1; verdicts %v", len(halts), r.decisions())
	}
	h := halts[0]
	if h["release"] != "shop-4.2.0" || h["ring"] != "H2" || h["service"] != "shop" || h["decision"] != "fail" {
		t.Errorf("halt = %v", h)
	}
	ht, err := time.Parse(time.RFC3339, h["time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if start := t0.Add(42 * time.Minute); ht.Before(start) || ht.After(start.Add(15*time.Minute)) {
		t.Errorf("halted at %s, want within 15m of the incident start %s", ht, start)
	}
	if reasons, _ := h["reasons"].([]any); len(reasons) == 0 {
		t.Errorf("halt without reasons: %v", h)
	}
	fh, _ := r.summary["first_halt"].(map[string]any)
	if fh == nil || fh["release"] != "shop-4.2.0" || fh["ring"] != "H2" || fh["time"] != h["time"] {
		t.Errorf("summary first_halt = %v, want the halt %v", r.summary["first_halt"], h)
	}
	if r.summary["halts"] != 1.0 {
		t.Errorf("summary halts = %v", r.summary["halts"])
	}
}

// The verdict line has exactly the documented keys in the documented order.
func TestVerdictLineShape(t *testing.T) {
	r := run(t, incident.input(), Options{})
	if len(r.raw) == 0 {
		t.Fatal("no verdict lines")
	}
	want := []string{"time", "release", "service", "ring", "score", "decision", "action", "reasons"}
	for _, l := range r.raw {
		if got := keysInOrder(t, l); !reflect.DeepEqual(got, want) {
			t.Fatalf("keys %v, want %v in line %s", got, want, l)
		}
	}
	sumKeys := []string{"type", "lines", "bad_lines", "posts", "metrics", "releases", "verdicts", "halts", "first_halt", "duration_simulated", "duplicates", "out_of_order"}
	b, _ := json.Marshal(r.sum)
	if got := keysInOrder(t, string(b)); !reflect.DeepEqual(got, sumKeys) {
		t.Errorf("summary keys %v, want %v", got, sumKeys)
	}
}

func keysInOrder(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestSummaryCounts(t *testing.T) {
	in := gen{minutes: 50, perMin: 2, release: 40, ring: "H2", incident: -1}.lines()
	in = append(in,
		`{"type":"metric","time":"2025-03-04T10:50:10Z","service":"shop","name":"error_rate","value":0.01}`,
		`{"type":"metric","time":"2025-03-04T10:50:20Z","service":"shop","version":"4.2.0","ring":"H2","name":"error_rate","value":0.011}`,
		"",
		`{"type":"release","time":"2025-03-04T10:51:00Z","release":"shop-4.2.0","service":"shop","ring":"H2","event":"completed"}`,
	)
	r := run(t, strings.Join(in, "\n"), Options{})
	want := map[string]any{"type": "summary", "lines": 104.0, "bad_lines": 0.0, "posts": 100.0, "metrics": 2.0, "releases": 2.0, "halts": 0.0, "first_halt": nil, "duplicates": 0.0}
	for k, v := range want {
		if r.summary[k] != v {
			t.Errorf("summary %s = %v, want %v (%v)", k, r.summary[k], v, r.summary)
		}
	}
	if r.summary["verdicts"] != float64(len(r.verdicts)) {
		t.Errorf("summary verdicts = %v, printed %d", r.summary["verdicts"], len(r.verdicts))
	}
	// The release completed at 10:51, so the replay ends at the last message.
	if r.summary["duration_simulated"] != "50m59s" {
		t.Errorf("duration_simulated = %v, want 50m59s (first post 10:00:01)", r.summary["duration_simulated"])
	}
}

func TestBadLinesReportedAndSkipped(t *testing.T) {
	good := incident.lines()
	bad := map[int]struct{ line, msg string }{
		3:  {`{"type":"post","time":"2025-03-04T10:00:05Z","id":"x1","service":"shop","text":"hi"}`, `missing "source"`},
		5:  {`not json at all`, "invalid"},
		8:  {"{\"type\":\"post\",\"time\":\"2025-03-04T10:01:05Z\",\"source\":\"m\",\"id\":\"x2\",\"service\":\"shop\",\"text\":\"bad \xff\"}", "not valid UTF-8"},
		13: {`{"type":"release","time":"2025-03-04T10:02:00Z","release":"r","service":"shop","ring":"H2","event":"exploded"}`, `unknown event "exploded"`},
		21: {`{"type":"metric","time":"yesterday","service":"shop","name":"error_rate","value":1}`, "invalid"},
		34: {`{"type":"verdict","time":"2025-03-04T10:02:00Z","release":"r","service":"shop","decision":"pass"}`, `type "verdict" cannot be replayed`},
		55: {`{"type":"post","time":"2025-03-04T10:05:00Z","source":"bad source!","id":"x3","service":"shop","text":"hi"}`, `source "bad source!"`},
		89: {`{"time":"2025-03-04T10:05:00Z"}`, `missing "type"`},
		// what the push API refuses (internal/inbound): rates, counts and
		// latencies are never negative
		95: {`{"type":"metric","time":"2025-03-04T10:06:00Z","service":"shop","version":"4.2.0","name":"error_rate","value":-1}`, "negative"},
	}
	var in []string
	for n := 1; len(good) > 0; n++ {
		if b, ok := bad[n]; ok {
			in = append(in, b.line)
			continue
		}
		in = append(in, good[0])
		good = good[1:]
	}
	r := run(t, strings.Join(in, "\n")+"\n", Options{})
	errLines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(errLines) != len(bad) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(errLines), len(bad), r.stderr)
	}
	for n, b := range bad {
		prefix := fmt.Sprintf("line %d: ", n)
		found := false
		for _, l := range errLines {
			if strings.HasPrefix(l, prefix) {
				found = true
				if !strings.Contains(l, b.msg) {
					t.Errorf("%s does not say %q", l, b.msg)
				}
			}
		}
		if !found {
			t.Errorf("no report for line %d:\n%s", n, r.stderr)
		}
	}
	if r.sum.BadLines != len(bad) || r.sum.Lines != len(in) {
		t.Errorf("lines %d, bad %d; want %d, %d", r.sum.Lines, r.sum.BadLines, len(in), len(bad))
	}
	// The good lines are all used: the same verdicts as without the bad ones.
	clean := run(t, incident.input(), Options{})
	if !reflect.DeepEqual(r.decisions(), clean.decisions()) || r.sum.Posts != clean.sum.Posts {
		t.Errorf("with bad lines: %v (%d posts); without: %v (%d posts)", r.decisions(), r.sum.Posts, clean.decisions(), clean.sum.Posts)
	}
}

func TestOversizedLine(t *testing.T) {
	huge := `{"type":"post","time":"2025-03-04T10:00:05Z","source":"m","id":"big","service":"shop","text":"` + strings.Repeat("a", MaxLineBytes) + `"}`
	mid := `{"type":"post","time":"2025-03-04T10:00:05Z","source":"m","id":"mid","service":"shop","text":"` + strings.Repeat("a", 300<<10) + `"}`
	in := []string{`{"type":"post","time":"2025-03-04T10:00:01Z","source":"m","id":"1","service":"shop","text":"hello"}`, huge, mid,
		`{"type":"post","time":"2025-03-04T10:00:09Z","source":"m","id":"2","service":"shop","text":"hello again"}`}
	r := run(t, strings.Join(in, "\n"), Options{})
	if !strings.Contains(r.stderr, fmt.Sprintf("line 2: longer than %d bytes", MaxLineBytes)) {
		t.Errorf("stderr = %q, want a line 2 length error", r.stderr)
	}
	if !strings.Contains(r.stderr, "line 3: ") {
		t.Errorf("stderr = %q, want a line 3 error (larger than a wire message)", r.stderr)
	}
	if r.sum.Posts != 2 || r.sum.BadLines != 2 {
		t.Errorf("posts %d, bad lines %d; want 2 and 2", r.sum.Posts, r.sum.BadLines)
	}
}

func TestDuplicatePostsDropped(t *testing.T) {
	lines := incident.lines()
	n := len(lines)
	// Repeat every post of the incident: a crawler that saw them twice.
	var in []string
	dups := 0
	for _, l := range lines {
		in = append(in, l)
		if strings.Contains(l, `"type":"post"`) && strings.Contains(l, "log in") {
			in = append(in, strings.Replace(l, `"text":"`, `"text":"(edited) `, 1))
			dups++
		}
	}
	r := run(t, strings.Join(in, "\n"), Options{})
	clean := run(t, incident.input(), Options{})
	if r.sum.Duplicates != dups || r.summary["duplicates"] != float64(dups) {
		t.Errorf("duplicates %d (%v), want %d", r.sum.Duplicates, r.summary["duplicates"], dups)
	}
	if r.sum.Posts != clean.sum.Posts || r.sum.Lines != n+dups {
		t.Errorf("posts %d lines %d, want %d and %d", r.sum.Posts, r.sum.Lines, clean.sum.Posts, n+dups)
	}
	if !reflect.DeepEqual(r.raw, clean.raw) {
		t.Errorf("duplicates changed the verdicts:\n%v\nvs\n%v", r.raw, clean.raw)
	}
	if !strings.Contains(r.stderr, "duplicate post mastodon:") {
		t.Errorf("stderr does not mention the duplicates: %q", r.stderr)
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	g := incident
	g.extra = `"mood":"grumpy","nested":{"a":[1,2]},"reach_estimate":12,`
	r := run(t, g.input(), Options{})
	clean := run(t, incident.input(), Options{})
	if r.sum.BadLines != 0 || r.stderr != "" {
		t.Errorf("unknown fields reported: %q", r.stderr)
	}
	if !reflect.DeepEqual(r.raw, clean.raw) {
		t.Errorf("unknown fields changed the verdicts:\n%v\nvs\n%v", r.raw, clean.raw)
	}
}

// A clean release is watched to the end of its window after the last
// message, and the final verdict comes out.
func TestFinalVerdictAfterLastMessage(t *testing.T) {
	g := gen{minutes: 50, perMin: 3, release: 40, ring: "H2", incident: -1}
	r := run(t, g.input(), Options{})
	if len(r.verdicts) == 0 {
		t.Fatal("no verdicts")
	}
	last := r.verdicts[len(r.verdicts)-1]
	if last["time"] != "2025-03-04T11:40:00Z" || last["action"] == "halt" {
		t.Errorf("last verdict %v, want the final one at the end of the 1h H2 window (11:40)", last)
	}
	if !strings.Contains(fmt.Sprint(last["reasons"]), "window") {
		t.Errorf("last verdict reasons %v do not mention the end of the window", last["reasons"])
	}
	if r.summary["duration_simulated"] != "1h39m59s" {
		t.Errorf("duration_simulated = %v, want 1h39m59s", r.summary["duration_simulated"])
	}
}

func TestSpeedMatchesSimulated(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time pacing")
	}
	cfg := &config.Config{}
	cfg.Detector.Baseline = 10 * time.Minute
	cfg.Detector.MinBaseline = 5 * time.Minute
	if err := cfg.Detector.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	g := gen{minutes: 20, perMin: 4, release: 10, ring: "H2", incident: 11, complaint: 6}
	sim := run(t, g.input(), Options{Config: cfg})
	if len(sim.halts()) == 0 {
		t.Fatalf("simulated replay did not halt: %v", sim.decisions())
	}
	start := time.Now()
	fast := run(t, g.input(), Options{Config: cfg, Speed: 600})
	took := time.Since(start)
	if !reflect.DeepEqual(fast.decisions(), sim.decisions()) {
		t.Errorf("speed 600: %v\nsimulated: %v", fast.decisions(), sim.decisions())
	}
	// The replay covers the span up to the halt; at 600× that is paced.
	span := sim.sum.Simulated
	if min := span / 600 * 8 / 10; took < min {
		t.Errorf("speed 600 took %s for %s of event time, want at least %s", took, span, min)
	}
}

func TestConfigCustomRing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "replay.yaml")
	yaml := `# the daemon's sections that replay does not use are ignored
http:
  listen: 127.0.0.1:9999
detector:
  min_baseline: 20m
  rings:
    - {name: canary, exposure: 0.02, window: 20m, no_data: wait}
    - {name: everyone, exposure: 1, window: 1h}
services:
  - name: shop
    enrich:
      keywords:
        login: ["passkey"]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	g := gen{minutes: 40, perMin: 3, release: 30, ring: "canary", incident: -1}
	r := run(t, g.input(), Options{Config: cfg})
	if r.stderr != "" {
		t.Errorf("stderr = %q", r.stderr)
	}
	if len(r.verdicts) == 0 || r.verdicts[0]["ring"] != "canary" {
		t.Fatalf("verdicts %v, want verdicts of ring canary", r.decisions())
	}
	// The canary window is 20m: the replay stops at its end, 10:50.
	if last := r.verdicts[len(r.verdicts)-1]; last["time"] != "2025-03-04T10:50:00Z" {
		t.Errorf("last verdict at %v, want 10:50 (end of the 20m canary window)", last["time"])
	}
	// Without the config, the ring is unknown: reported, judged with defaults.
	def := run(t, g.input(), Options{})
	if !strings.Contains(def.stderr, `ring "canary" is not configured`) {
		t.Errorf("default config stderr = %q, want an unknown-ring warning", def.stderr)
	}
	if def.sum.BadLines != 0 {
		t.Errorf("unknown ring counted as a bad line")
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad ring", "detector:\n  rings:\n    - {name: H1, exposure: 2}\n", "detector.rings[0].exposure"},
		{"typo", "detector:\n  buckett: 1m\n", "buckett"},
		{"bad enrich", "services:\n  - name: shop\n    enrich:\n      keywords:\n        nope: [x]\n", "services[0].enrich.keywords.nope"},
		{"not yaml", "detector: [", "parsing yaml"},
		// the key and the line of the file, in both sections at once
		{"wrong type", "# replay\n\ndetector:\n\n  pass_score: ninety\nservices:\n  - {name: shop, colour: red}\n",
			"detector.pass_score: `ninety` is not a number (line 5)\nservices[0].colour: unknown key (line 7)"},
		{"second document", "detector: {}\n---\ndetector: {pass_score: 95}\n", "a second YAML document at line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRunCLI(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(file, []byte(incident.input()), 0o600); err != nil {
		t.Fatal(err)
	}
	badCfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("detector:\n  alpha: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		args      []string
		stdin     string
		code      int
		out, errS string
	}{
		{"file", []string{file}, "", 0, `"action":"halt"`, ""},
		{"stdin", []string{"-"}, incident.input(), 0, `"action":"halt"`, ""},
		{"bad lines still exit 0", []string{"-"}, "garbage\n{\"type\":\"metric\",\"time\":\"2026-11-24T09:00:00Z\",\"service\":\"shop\",\"name\":\"error_rate\",\"value\":0.01}\n", 0, `"bad_lines":1`, "line 1: "},
		{"only bad lines exit 1", []string{"-"}, "garbage\n", 1, `"bad_lines":1`, "every input line"},
		{"no file", []string{}, "", 2, "", "usage:"},
		{"two files", []string{file, file}, "", 2, "", "usage:"},
		{"missing file", []string{filepath.Join(dir, "nope.jsonl")}, "", 1, "", "no such file"},
		{"bad config", []string{"-c", badCfg, file}, "", 1, "", "detector.alpha"},
		{"negative speed", []string{"--speed", "-1", file}, "", 2, "", "--speed"},
		{"NaN speed", []string{"--speed", "NaN", file}, "", 2, "", "--speed"},
		{"bad flag", []string{"--nope", file}, "", 2, "", "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := RunCLI(context.Background(), tc.args, strings.NewReader(tc.stdin), &out, &errOut)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tc.code, errOut.String())
			}
			if !strings.Contains(out.String(), tc.out) || !strings.Contains(errOut.String(), tc.errS) {
				t.Errorf("stdout %q\nstderr %q\nwant %q and %q", out.String(), errOut.String(), tc.out, tc.errS)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	if _, err := Run(ctx, strings.NewReader(incident.input()), &out, &errOut, Options{}); err == nil {
		t.Error("Run with a cancelled context returned no error")
	}
}

// Issue 11's reproduction: a release started on H2 followed by two
// old-cohort error_rate samples and nothing else went wait → pass 100. A
// ring with no evidence must never pass.
func TestNoEvidenceNeverPasses(t *testing.T) {
	input := `{"type":"release","time":"2025-03-04T10:00:00Z","release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","event":"started"}
{"type":"metric","time":"2025-03-04T10:01:00Z","service":"shop","version":"4.1.0","ring":"H2","name":"error_rate","value":0.01}
{"type":"metric","time":"2025-03-04T10:02:00Z","service":"shop","version":"4.1.0","ring":"H2","name":"error_rate","value":0.011}
`
	r := run(t, input, Options{})
	if len(r.verdicts) == 0 {
		t.Fatal("no verdicts")
	}
	for _, v := range r.verdicts {
		if v["decision"] == "pass" || v["action"] != "none" {
			t.Fatalf("a ring with no evidence: %v", r.decisions())
		}
	}
	if last := r.verdicts[len(r.verdicts)-1]; last["decision"] != "wait" || last["time"] != "2025-03-04T11:00:00Z" {
		t.Fatalf("last verdict %v, want wait at the end of the minimum watch", last)
	}
}

// TestReportsKeepInputOrder: loading publishes asynchronously, yet what it
// reports (duplicates known only from the ack, bad lines known at once,
// warnings) comes out in input order, past the in-flight bound too.
func TestReportsKeepInputOrder(t *testing.T) {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	postLine := func(id, sec int) string {
		return fmt.Sprintf(`{"type":"post","time":%q,"source":"m","id":"%d","service":"shop","text":"hello %d"}`, ts(t0.Add(time.Duration(sec)*time.Second)), id, id)
	}
	var in, want []string
	n := 0
	add := func(line, report string) {
		in = append(in, line)
		n++
		if report != "" {
			want = append(want, fmt.Sprintf("line %d: %s", n, report))
		}
	}
	for i := range 3 * loadInFlight {
		add(postLine(i, i), "")
		switch i % 500 {
		case 7:
			add(postLine(i-3, i), fmt.Sprintf("duplicate post m:%d dropped", i-3))
		case 8:
			add(`not json`, "invalid")
		case 9:
			add(fmt.Sprintf(`{"type":"release","time":%q,"release":"r%d","service":"shop","version":"1","ring":"canary","event":"started"}`, ts(t0.Add(time.Duration(i)*time.Second)), i), `ring "canary" is not configured`)
		}
	}
	r := run(t, strings.Join(in, "\n")+"\n", Options{})
	got := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(got) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(got), len(want), r.stderr)
	}
	for i := range want {
		prefix := want[i][:strings.Index(want[i], ": ")+2]
		if !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i], want[i][len(prefix):]) {
			t.Errorf("stderr line %d = %q, want %q", i+1, got[i], want[i])
		}
	}
	if r.sum.Posts != 3*loadInFlight || r.sum.Duplicates != 7 || r.sum.BadLines != 7 {
		t.Errorf("posts %d, duplicates %d, bad lines %d; want %d, 7, 7", r.sum.Posts, r.sum.Duplicates, r.sum.BadLines, 3*loadInFlight)
	}
}

// A metric line naming a release the input never starts is not counted and
// not dropped without a word: at the end it is said on stderr, whether it
// still waited for its release event or was set aside after its grace.
func TestUnresolvedReleaseSaid(t *testing.T) {
	metric := func(at time.Time, release string) string {
		return fmt.Sprintf(`{"type":"metric","time":%q,"service":"shop","release":%q,"name":"error_rate","value":0.02}`, ts(at), release)
	}
	// Alone: the input ends within the grace.
	r := run(t, metric(t0, "r9")+"\n", Options{})
	if !strings.Contains(r.stderr, `naming release "r9" still waited for its release event`) {
		t.Errorf("stderr %q, want the held sample said", r.stderr)
	}
	// Before an hour of an incident's replay: set aside after the grace,
	// and logged as such.
	r = run(t, metric(t0, "r9")+"\n"+incident.input(), Options{})
	if !strings.Contains(r.stderr, `naming release "r9" set aside (unknown_release)`) {
		t.Errorf("stderr %q, want the set-aside sample said", r.stderr)
	}
}

// TestLoadConfigExpandsEnv: -c reads the daemon's own file, whose values
// may be ${VAR} or ${VAR:-default}; the daemon expands them, so the replay
// must too (it read "${PASS:-95}" as the text and refused it). Variables in
// the sections the replay ignores (secrets, say) need not be set.
func TestLoadConfigExpandsEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	t.Setenv("AUDIT8_WINDOW", "20m")
	doc := "http:\n  tokens: [{name: a, token: \"${AUDIT8_UNSET_SECRET}\", role: deploy-system}]\n" +
		"detector:\n  pass_score: ${AUDIT8_UNSET_PASS:-95}\n  rings:\n    - {name: canary, window: \"${AUDIT8_WINDOW}\"}\n" +
		"services:\n  - {name: \"${AUDIT8_UNSET_SVC:-shop}\"}\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Detector.PassScore != 95 || cfg.Detector.Rings[0].Window != 20*time.Minute || cfg.Services[0].Name != "shop" {
		t.Errorf("pass_score %v, window %v, service %q: want 95, 20m, shop", cfg.Detector.PassScore, cfg.Detector.Rings[0].Window, cfg.Services[0].Name)
	}
	if err := os.WriteFile(path, []byte("detector:\n  alpha: ${AUDIT8_UNSET_ALPHA}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "detector.alpha: environment variable AUDIT8_UNSET_ALPHA is not set") {
		t.Errorf("err = %v, want the unset variable named by its key", err)
	}
}

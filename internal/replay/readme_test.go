package replay

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// readmeReplaySection returns the README's section on the replay format.
func readmeReplaySection(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "### `aftershock replay`: input and output")
	if start < 0 {
		t.Fatal("README.md has no section \"### `aftershock replay`: input and output\"")
	}
	sec := doc[start+4:]
	if end := strings.Index(sec, "\n#"); end >= 0 {
		sec = sec[:end]
	}
	return sec
}

// fenced returns the body of the first ``` block with the given info string.
func fenced(t *testing.T, sec, info string) string {
	t.Helper()
	open := "```" + info + "\n"
	i := strings.Index(sec, open)
	if i < 0 {
		t.Fatalf("README replay section has no ```%s block", info)
	}
	body := sec[i+len(open):]
	j := strings.Index(body, "```")
	if j < 0 {
		t.Fatalf("unterminated ```%s block", info)
	}
	return body[:j]
}

// TestREADMEReplayExample: the README's replay example is what the replay
// prints for its input, line by line, so the documented contract cannot
// drift from the code unnoticed.
func TestREADMEReplayExample(t *testing.T) {
	sec := readmeReplaySection(t)
	input := fenced(t, sec, "jsonl")
	console := strings.Split(strings.TrimSpace(fenced(t, sec, "console")), "\n")
	if len(console) < 2 || !strings.HasPrefix(console[0], "$ aftershock replay ") {
		t.Fatalf("console block %q: want a $ aftershock replay line and its output", console)
	}
	want := console[1:]
	r := run(t, input, Options{})
	if r.stderr != "" {
		t.Errorf("stderr %q", r.stderr)
	}
	summary, err := json.Marshal(r.sum)
	if err != nil {
		t.Fatal(err)
	}
	got := append(append([]string{}, r.raw...), string(summary))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("README replay example drifted from the real output.\nREADME:\n%s\nreal:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// TestREADMEReplayKeys: the keys the README lists for the verdict and
// summary lines are the keys the replay writes, in order.
func TestREADMEReplayKeys(t *testing.T) {
	sec := strings.Join(strings.Fields(readmeReplaySection(t)), " ")
	tick := regexp.MustCompile("`([a-z_]+)`")
	between := func(from, to string) []string {
		i := strings.Index(sec, from)
		if i < 0 {
			t.Fatalf("README replay section lacks %q", from)
		}
		rest := sec[i+len(from):]
		j := strings.Index(rest, to)
		if j < 0 {
			t.Fatalf("README replay section lacks %q after %q", to, from)
		}
		var keys []string
		for _, m := range tick.FindAllStringSubmatch(rest[:j], -1) {
			keys = append(keys, m[1])
		}
		return keys
	}
	verdictKeys := between("one JSON line per verdict change** — keys", "then **one summary line**")
	// Drop the values listed in parentheses after decision and action.
	var vk []string
	for _, k := range verdictKeys {
		switch k {
		case "pass", "marginal", "fail", "wait", "none", "halt", "review_required", "flag_off":
			continue
		}
		vk = append(vk, k)
	}
	r := run(t, incident.input(), Options{})
	if len(r.raw) == 0 {
		t.Fatal("no verdict lines")
	}
	if got := keysInOrder(t, r.raw[0]); !reflect.DeepEqual(vk, got) {
		t.Errorf("README verdict keys %v, real %v", vk, got)
	}
	summaryKeys := between("then **one summary line** (", "). After the last input line")
	var sk []string
	for _, k := range summaryKeys {
		if k == "summary" || k == "release" || k == "ring" || k == "time" { // the type's value; first_halt's fields
			continue
		}
		sk = append(sk, k)
	}
	b, _ := json.Marshal(r.sum)
	if got := keysInOrder(t, string(b)); !reflect.DeepEqual(sk, got) {
		t.Errorf("README summary keys %v, real %v", sk, got)
	}
}

package replay

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOutOfOrderInputIsSaid: the replay reads each stream in input order, so
// a line whose time is before an earlier line's of its kind (two recordings
// concatenated, say) is applied late, when the replay has passed its time.
// That changes the verdicts (here the complaints arrive after the watch
// window and the ring passes, where the sorted input halts it), so it must
// not pass silently: each such line (in an earlier bucket than a line
// before it) is named on stderr (the first ten),
// counted in the summary's out_of_order, and the total said at the end.
func TestOutOfOrderInputIsSaid(t *testing.T) {
	sorted := incident.lines()
	var inOrder, moved []string
	for _, l := range sorted {
		if strings.Contains(l, "#") { // the incident's complaints
			moved = append(moved, l)
		} else {
			inOrder = append(inOrder, l)
		}
	}
	shuffled := append(append([]string{}, inOrder...), moved...)
	// which moved lines are in an earlier minute (the default bucket) than
	// the latest post before them (disorder within a minute is harmless,
	// and the generator's posts have some)
	var latest time.Time
	var wantLines []int
	for i, l := range shuffled {
		var m struct {
			Type string    `json:"type"`
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m.Type != "post" {
			continue
		}
		if m.Time.Truncate(time.Minute).Before(latest.Truncate(time.Minute)) {
			wantLines = append(wantLines, i+1)
		} else if m.Time.After(latest) {
			latest = m.Time
		}
	}
	if len(wantLines) < 20 {
		t.Fatalf("test input: only %d lines out of order", len(wantLines))
	}

	good := run(t, strings.Join(sorted, "\n")+"\n", Options{})
	if good.sum.OutOfOrder != 0 || strings.Contains(good.stderr, "order") {
		t.Errorf("sorted input: out_of_order %d, stderr %q", good.sum.OutOfOrder, good.stderr)
	}
	if good.sum.Halts == 0 {
		t.Fatalf("sorted input: no halt (%v)", good.decisions())
	}

	bad := run(t, strings.Join(shuffled, "\n")+"\n", Options{})
	if bad.sum.OutOfOrder != len(wantLines) {
		t.Errorf("out_of_order = %d, want %d", bad.sum.OutOfOrder, len(wantLines))
	}
	if bad.summary["out_of_order"] != float64(len(wantLines)) {
		t.Errorf("summary line %v: out_of_order missing or wrong", bad.summary)
	}
	for i, n := range wantLines {
		named := strings.Contains(bad.stderr, fmt.Sprintf("line %d: post at ", n))
		if i < 10 && !named {
			t.Errorf("line %d (out of order) not named on stderr:\n%s", n, bad.stderr)
		}
		if i >= 10 && named {
			t.Errorf("line %d named: only the first ten are", n)
		}
	}
	total := fmt.Sprintf("aftershock replay: %d line(s) out of event-time order (first: line %d)", len(wantLines), wantLines[0])
	if !strings.Contains(bad.stderr, total) {
		t.Errorf("stderr lacks %q:\n%s", total, bad.stderr)
	}
	if bad.sum.BadLines != 0 || bad.sum.Posts != good.sum.Posts {
		t.Errorf("out-of-order lines lost: bad %d, posts %d of %d", bad.sum.BadLines, bad.sum.Posts, good.sum.Posts)
	}
}

// TestLateDuplicateNotOutOfOrder: a post delivered again later (a crawler's
// redelivery: same source and id) is dropped by the broker as a duplicate,
// so it is not applied late and not counted out of order.
func TestLateDuplicateNotOutOfOrder(t *testing.T) {
	lines := incident.lines()
	var first string
	for _, l := range lines {
		if strings.Contains(l, `"type":"post"`) {
			first = l
			break
		}
	}
	r := run(t, strings.Join(append(lines, first), "\n")+"\n", Options{})
	if r.sum.Duplicates != 1 || r.sum.OutOfOrder != 0 || strings.Contains(r.stderr, "order") {
		t.Errorf("duplicates %d, out_of_order %d, stderr %q: want the redelivery dropped as a duplicate only", r.sum.Duplicates, r.sum.OutOfOrder, r.stderr)
	}
}

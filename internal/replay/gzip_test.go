package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipInput: a kept scenario corpus is NAME.jsonl.gz (detector/scenarios
// reads both), and a recording is often kept compressed. The replay reads a
// gzip input (known by its first bytes) as its JSON lines; before, every
// "line" of it was "not valid UTF-8" and nothing was replayed.
func TestGzipInput(t *testing.T) {
	plain := run(t, incident.input(), Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "in.jsonl.gz")
	if err := os.WriteFile(file, gzipped(t, incident.input()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{file}, {"-"}} {
		var stdin []byte
		if args[0] == "-" {
			stdin = gzipped(t, incident.input())
		}
		var out, errOut bytes.Buffer
		code := RunCLI(context.Background(), args, bytes.NewReader(stdin), &out, &errOut)
		if code != 0 || errOut.Len() != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
		got := parse(t, out.String(), errOut.String(), Summary{})
		if strings.Join(got.raw, "\n") != strings.Join(plain.raw, "\n") || got.summary["lines"] != float64(plain.sum.Lines) {
			t.Errorf("%v: gzip input replayed differently:\n%s\nplain:\n%s", args, strings.Join(got.raw, "\n"), strings.Join(plain.raw, "\n"))
		}
	}
}

// TestInputCutShort: a gzip input cut short (a copy interrupted, a disk
// full) made the replay fail with nothing printed: the lines before the cut
// were lost with it. Now they are replayed and printed with the summary as
// usual, the cut is said on stderr naming the line, and the exit status is
// 1 (the input could not be read whole).
func TestInputCutShort(t *testing.T) {
	lines := incident.lines()
	full := gzipped(t, strings.Join(lines, "\n")+"\n")
	cut := full[:len(full)*2/3]
	file := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	if err := os.WriteFile(file, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	// how many whole lines the cut still holds
	zr, err := gzip.NewReader(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, readErr := got.ReadFrom(zr)
	if readErr == nil {
		t.Fatal("the cut gzip reads whole")
	}
	whole := strings.Count(got.String(), "\n")
	if whole < 50 {
		t.Fatalf("only %d whole lines before the cut", whole)
	}

	var out, errOut bytes.Buffer
	code := RunCLI(context.Background(), []string{file}, nil, &out, &errOut)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	r := parse(t, out.String(), errOut.String(), Summary{})
	if r.summary == nil {
		t.Fatalf("no summary line:\n%s\nstderr %s", out.String(), errOut.String())
	}
	partial := 0
	if !strings.HasSuffix(got.String(), "\n") {
		partial = 1 // the line the cut went through
	}
	if r.summary["lines"] != float64(whole+partial) || r.summary["bad_lines"] != float64(partial) {
		t.Errorf("summary %v, want %d lines (%d bad) before the cut", r.summary, whole+partial, partial)
	}
	if r.summary["posts"] == float64(0) || len(r.raw) == 0 {
		t.Errorf("the lines before the cut were not replayed: %v", r.summary)
	}
	if want := "the input ends early"; !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), "unexpected EOF") {
		t.Errorf("stderr %q does not say %q and why", errOut.String(), want)
	}
}

// TestByteOrderMark: a file saved by a Windows tool starts with a UTF-8 byte
// order mark; it made line 1 "invalid character 'ï'", and when line 1 was
// the release's start nothing was judged at all. The mark is skipped. UTF-16
// (PowerShell 5's ">") is refused at once, saying so, instead of every line
// being bad.
func TestByteOrderMark(t *testing.T) {
	plain := run(t, incident.input(), Options{})
	bom := run(t, "\uFEFF"+incident.input(), Options{})
	if bom.sum.BadLines != 0 || strings.Join(bom.raw, "\n") != strings.Join(plain.raw, "\n") {
		t.Errorf("with a UTF-8 byte order mark: %d bad lines, stderr %q, verdicts %v", bom.sum.BadLines, bom.stderr, bom.decisions())
	}
	for _, head := range []string{"\xff\xfe", "\xfe\xff"} {
		var out, errOut bytes.Buffer
		code := RunCLI(context.Background(), []string{"-"}, strings.NewReader(head+"{\x00}\x00"), &out, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), "UTF-16") {
			t.Errorf("UTF-16 input %q: exit %d, stderr %q", head, code, errOut.String())
		}
	}
}

package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAnalyze(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	long := strings.Repeat("a", MaxLineBytes+1)
	in := "can't log in since the 4.2 update 😡\n" +
		"\n" +
		`{"text":"앱 업데이트 후 로그인 안돼요","lang":"ko"}` + "\n" +
		"\xff\xfe bad bytes\n" +
		`{"txt":"no text"}` + "\n" +
		"{not json\n" +
		long + "\n" +
		"love the new dark mode!!\r\n" +
		"last line without newline"
	cases := []struct {
		scoreOnly bool
		want      []string // substring per output line
	}{
		{false, []string{
			`{"line":1,"lang":"en","tokens":["can't","log","in","since","the","4.2","update","😡"],"sentiment":-0.`,
			`{"line":2,"error":"empty text"}`,
			`{"line":3,"lang":"ko",`,
			`{"line":4,"error":"not valid UTF-8"}`,
			`{"line":5,"error":"missing \"text\" field"}`,
			`{"line":6,"error":"not valid JSON: `,
			`{"line":7,"error":"line longer than 1048576 bytes"}`,
			`{"line":8,"lang":"en","tokens":["love","the","new","dark","mode"],"sentiment":0.`,
			`{"line":9,"lang":"en"`,
		}},
		{true, []string{"-0.", `{"line":2,"error":"empty text"}`, "-0.", `{"line":4,`, `{"line":5,`, `{"line":6,`, `{"line":7,`, "0.", "0"}},
	}
	for _, c := range cases {
		var out bytes.Buffer
		if err := Analyze(context.Background(), strings.NewReader(in), &out, a, c.scoreOnly); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != len(c.want) {
			t.Fatalf("score only %v: %d output lines, want %d:\n%s", c.scoreOnly, len(lines), len(c.want), out.String())
		}
		for i, w := range c.want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("score only %v line %d = %q, want prefix %q", c.scoreOnly, i+1, lines[i], w)
			}
			if !json.Valid([]byte(lines[i])) {
				t.Errorf("line %d is not JSON: %q", i+1, lines[i])
			}
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestAnalyzeErrors(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Analyze(ctx, strings.NewReader("hello\n"), &bytes.Buffer{}, a, false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if err := Analyze(context.Background(), strings.NewReader("hello\n"), failWriter{}, a, false); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing writer: err = %v", err)
	}
	if err := Analyze(context.Background(), failReader{}, &bytes.Buffer{}, a, false); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("failing reader: err = %v", err)
	}
	var out bytes.Buffer
	if err := Analyze(context.Background(), strings.NewReader(""), &out, a, false); err != nil || out.Len() != 0 {
		t.Errorf("empty input: err = %v, out = %q", err, out.String())
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"can't log in since v4.2.1 😡😡 @a@b.c #x https://x.y/z", "앱 업데이트 후 ㅠㅠㅠ", ":) <3 :-(", "sooooo GOOD!!!", "\xff\xfe", "'.'-'"} {
		f.Add(s)
	}
	a := newTestAnalyzer(f, Config{})
	f.Fuzz(func(t *testing.T, text string) {
		s := &scan{}
		a.tokenize(s, text)
		for _, tok := range s.toks {
			if tok.lo < 0 || tok.hi <= tok.lo || int(tok.hi) > len(s.buf) {
				t.Fatalf("bad span %d:%d of %d", tok.lo, tok.hi, len(s.buf))
			}
			w := string(s.buf[tok.lo:tok.hi])
			if strings.ContainsAny(w, " \t\n") {
				t.Fatalf("token %q holds whitespace", w)
			}
			if utf8.ValidString(text) && !utf8.ValidString(w) {
				t.Fatalf("token %q of valid text is not valid UTF-8", w)
			}
		}
	})
}

func FuzzEnrich(f *testing.F) {
	for _, s := range []string{"checkout keeps failing 😡", "love the new dark mode!!", "결제 안됨 ㅠ", "version 4.2 build 12", "not not not bad but", "\xed\xa0\x80"} {
		f.Add(s, "en")
	}
	a := newTestAnalyzer(f, Config{Features: map[string][]string{"x": {"dark mode", "결제"}}})
	f.Fuzz(func(t *testing.T, text, hint string) {
		e := a.Enrich(text, hint)
		if e.Sentiment < -1 || e.Sentiment > 1 || e.Sentiment != e.Sentiment {
			t.Fatalf("sentiment %v", e.Sentiment)
		}
		if e.Lang == "" {
			t.Fatal("empty lang")
		}
		for _, tok := range e.Tokens {
			if tok == "" {
				t.Fatal("empty token")
			}
		}
		var out bytes.Buffer
		in := text + "\n" + `{"text":` + string(mustJSON(text)) + `,"lang":` + string(mustJSON(hint)) + "}\n"
		if err := Analyze(context.Background(), strings.NewReader(in), &out, a, false); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("output line %q is not JSON", line)
			}
		}
	})
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

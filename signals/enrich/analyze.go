package enrich

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/aftershock/aftershock/signals"
)

// MaxLineBytes is the longest input line Analyze accepts; a longer line
// gives an error object and the stream goes on with the next line.
const MaxLineBytes = 1 << 20

// analyzed is one output line of Analyze.
type analyzed struct {
	Line int `json:"line"`
	signals.Enrichment
}

// lineError is the output line for an input line that could not be analysed.
type lineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// input is a JSON input line.
type input struct {
	Text *string `json:"text"`
	Lang string  `json:"lang"`
}

// Analyze reads texts from in, one per line, either plain text or a JSON
// object {"text": "...", "lang": "en"}, and writes one JSON line per input
// line to out: {"line":1,"lang":...,"tokens":...,"sentiment":...,...}, or
// with scoreOnly just the sentiment number. A line that is empty, not valid
// UTF-8, not valid JSON or longer than MaxLineBytes gives an error object
// such as {"line":3,"error":"not valid UTF-8"} (also with scoreOnly) and
// the stream goes on. Analyze returns when in is exhausted, ctx ends, or
// reading or writing fails.
func Analyze(ctx context.Context, in io.Reader, out io.Writer, a *Analyzer, scoreOnly bool) error {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriter(out)
	var buf []byte
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return errors.Join(fmt.Errorf("analyze line %d: %w", n, err), w.Flush())
		}
		line, tooLong, err := readLine(r, &buf)
		if err == io.EOF && len(line) == 0 && !tooLong {
			return w.Flush()
		}
		if err != nil && err != io.EOF {
			return errors.Join(fmt.Errorf("read line %d: %w", n, err), w.Flush())
		}
		var res any
		if tooLong {
			res = lineError{n, fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
		} else {
			res = analyzeLine(a, n, line, scoreOnly)
		}
		var b []byte
		if f, ok := res.(float64); ok {
			b = strconv.AppendFloat(nil, f, 'f', -1, 64)
		} else if b, err = json.Marshal(res); err != nil {
			return errors.Join(fmt.Errorf("encode line %d: %w", n, err), w.Flush())
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("write line %d: %w", n, err)
		}
		if r.Buffered() == 0 { // don't hold results back from an interactive reader
			if err := w.Flush(); err != nil {
				return fmt.Errorf("write line %d: %w", n, err)
			}
		}
	}
}

// readLine reads one line without its line ending into *buf. A line past
// MaxLineBytes is read to its end and dropped, with tooLong set.
func readLine(r *bufio.Reader, buf *[]byte) (line []byte, tooLong bool, err error) {
	*buf = (*buf)[:0]
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(*buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
				tooLong = true
				*buf = (*buf)[:0]
			} else {
				*buf = append(*buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(*buf, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if !tooLong && len(line) > MaxLineBytes {
			tooLong = true
		}
		if err == io.EOF && (len(chunk) > 0 || tooLong) {
			return line, tooLong, nil
		}
		return line, tooLong, err
	}
}

func analyzeLine(a *Analyzer, n int, line []byte, scoreOnly bool) any {
	if !utf8.Valid(line) {
		return lineError{n, "not valid UTF-8"}
	}
	text, lang := string(line), ""
	if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 && trimmed[0] == '{' {
		var in input
		if err := json.Unmarshal(trimmed, &in); err != nil {
			return lineError{n, "not valid JSON: " + err.Error()}
		}
		if in.Text == nil {
			return lineError{n, `missing "text" field`}
		}
		text, lang = *in.Text, in.Lang
		if !utf8.ValidString(text) {
			return lineError{n, "not valid UTF-8"}
		}
	}
	if len(bytes.TrimSpace([]byte(text))) == 0 {
		return lineError{n, "empty text"}
	}
	e := a.Enrich(text, lang)
	if scoreOnly {
		return e.Sentiment
	}
	return analyzed{Line: n, Enrichment: e}
}

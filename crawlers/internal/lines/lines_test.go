package lines

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	type line struct {
		text    string
		tooLong bool
	}
	tests := []struct {
		name  string
		input string
		max   int
		want  []line
	}{
		{"lf and crlf", "a\nbc\r\n\r\nd\n", 10, []line{{"a", false}, {"bc", false}, {"", false}, {"d", false}}},
		{"too long, then on", "0123456789abc\nok\n", 10, []line{{"", true}, {"ok", false}}},
		// max counts the line ending; the cut keeps whole chunks.
		{"long line in chunks", strings.Repeat("x", 40) + "\nok\n", 41, []line{{strings.Repeat("x", 40), false}, {"ok", false}}},
		{"long line cut", strings.Repeat("x", 40) + "\nok\n", 40, []line{{strings.Repeat("x", 32), true}, {"ok", false}}},
		{"exactly max with its ending", "0123456\r\nnext\n", 9, []line{{"0123456", false}, {"next", false}}},
		{"unfinished last line is dropped", "a\nb", 10, []line{{"a", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A 16-byte buffer makes long lines come in several chunks.
			r := bufio.NewReaderSize(strings.NewReader(tt.input), 16)
			var got []line
			for {
				l, tooLong, err := Read(r, tt.max)
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("error %v, want io.EOF at the end", err)
					}
					break
				}
				got = append(got, line{string(l), tooLong})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("lines %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

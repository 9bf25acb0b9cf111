// Package lines reads the line-oriented bodies of streaming APIs (X's
// NDJSON stream, Mastodon's server-sent events) without letting one huge
// line exhaust memory.
package lines

import (
	"bufio"
	"bytes"
	"errors"
)

// Read reads one line from r without its line ending ("\n" or "\r\n"). A
// line over max bytes (its ending counted) is read to its end but cut
// (tooLong), so the next Read starts on the next line. err is r's error (io.EOF included) when no
// full line could be read.
func Read(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) <= max {
			buf = append(buf, chunk...)
		} else {
			tooLong = true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		break
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return buf, tooLong, nil
}

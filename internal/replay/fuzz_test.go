package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aftershock/aftershock/signals"
)

// FuzzReplayLine feeds arbitrary replay input through the line reader and
// the wire decoder, as load does. It must never panic; the lines read back
// are exactly the input (nothing lost, nothing invented) unless one is
// reported too long; a refused line's error wraps signals.ErrInvalid and
// says something; an accepted line is one of the replayable types, with a
// time, and survives a JSON round trip unchanged.
func FuzzReplayLine(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.jsonl")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 4<<10 {
			data = data[:4<<10]
		}
		f.Add(data)
	}
	f.Add([]byte(`{"type":"release","time":"2026-11-24T09:00:00Z","release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","event":"started"}`))
	f.Add([]byte(`{"type":"post","time":"2026-11-24T09:01:00+09:00","source":"mastodon","id":"109","service":"shop","text":"앱이 계속 튕겨요","lang":"ko"}` + "\r\n"))
	f.Add([]byte(`{"type":"metric","time":"2026-11-24T09:00:00Z","service":"shop","version":"4.2.0","ring":"H2","name":"error_rate","value":0.012}` + "\n\n  \n{\"type\":\"verdict\"}"))
	f.Add([]byte("{\"type\":\"metric\",\"value\":1e400}\n{\"type\":\"\"}\n\xff\xfe\n"))
	f.Add([]byte(`{"type":"post","time":"0001-01-01T00:00:00Z","source":"x","id":"1","service":"s","text":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16) // small buffer: lines span reads
		var got []byte
		for {
			line, tooLong, err := readLine(br)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("reading from memory: %v", err)
			}
			if tooLong {
				t.Fatalf("line reported too long in %d bytes of input", len(data))
			}
			got = append(got, line...)
			checkLine(t, bytes.TrimSpace(line))
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("lines read back %q, input was %q", got, data)
		}
	})
}

func checkLine(t *testing.T, line []byte) {
	t.Helper()
	if len(line) == 0 {
		return
	}
	v, err := signals.Decode(line)
	if err != nil {
		if v != nil {
			t.Fatalf("Decode returned a value and an error: %v", err)
		}
		if !errors.Is(err, signals.ErrInvalid) {
			t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
		}
		msg := strings.TrimPrefix(err.Error(), signals.ErrInvalid.Error())
		if strings.Trim(msg, ": ") == "" {
			t.Fatalf("refusal says nothing: %q", err)
		}
		if !utf8.ValidString(err.Error()) {
			t.Fatalf("refusal is not valid UTF-8: %q", err)
		}
		return
	}
	switch m := v.(type) {
	case *signals.Post:
		if m.Time.IsZero() || m.Source == "" || m.ID == "" || m.Service == "" {
			t.Fatalf("accepted post without time, source, id or service: %+v", m)
		}
	case *signals.MetricSample:
		if m.Time.IsZero() || m.Service == "" {
			t.Fatalf("accepted metric without time or service: %+v", m)
		}
	case *signals.ReleaseEvent:
		if m.Time.IsZero() || m.Release == "" {
			t.Fatalf("accepted release event without time or release: %+v", m)
		}
	}
	first, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding an accepted %T: %v", v, err)
	}
	w, err := signals.Decode(first)
	if err != nil {
		t.Fatalf("an accepted line, encoded again, is refused: %v\n%s", err, first)
	}
	second, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("round trip changed the message:\n%s\n%s", first, second)
	}
}

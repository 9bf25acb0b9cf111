package signals

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxMessageBytes bounds one wire message; larger ones are rejected, not truncated.
const MaxMessageBytes = 256 << 10

// MaxTextBytes bounds the text of one post.
const MaxTextBytes = 64 << 10

// ErrInvalid is wrapped by every validation error of a wire message.
var ErrInvalid = errors.New("invalid message")

// Decode parses one wire message (a JSON object with "type" and "time") and
// returns a *Post, *MetricSample, *ReleaseEvent, *Anomaly or *Verdict.
// Unknown fields are ignored. The message is validated.
func Decode(data []byte) (any, error) {
	if len(data) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalid, len(data), MaxMessageBytes)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	typ, ok := probeType(data)
	if !ok {
		// An escaped or non-string "type", or not an object: let
		// encoding/json read it (and say what is wrong).
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		typ = []byte(head.Type)
	}
	var v interface{ Validate() error }
	switch string(typ) {
	case TypePost:
		p := new(Post)
		if decodePost(data, p) {
			if err := p.Validate(); err != nil {
				return nil, err
			}
			return p, nil
		}
		v = new(Post)
	case TypeMetric:
		v = new(MetricSample)
	case TypeRelease:
		v = new(ReleaseEvent)
	case TypeAnomaly:
		v = new(Anomaly)
	case TypeVerdict:
		v = new(Verdict)
	case TypeRollup:
		v = new(Rollup)
	case "":
		return nil, fmt.Errorf("%w: missing \"type\"", ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: unknown type %q", ErrInvalid, typ)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, typ, err)
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

// probeType finds the value of the top-level "type" key of a JSON object
// without decoding the rest, so Decode unmarshals once. As encoding/json
// does, the key matches case-insensitively and the last one wins; a missing
// key gives "". ok is false for anything it does not read plainly (escapes
// in a key or in the value, a value that is not a string, not an object),
// and the caller decodes the type the slow way. Malformed JSON may still
// give ok: the full decode that follows reports it.
func probeType(data []byte) (typ []byte, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, false
		}
		end := plainString(data, i)
		if end < 0 {
			return nil, false
		}
		key := data[i+1 : end]
		i = skipSpace(data, end+1)
		if i >= len(data) || data[i] != ':' {
			return nil, false
		}
		i = skipSpace(data, i+1)
		if len(key) == 4 && asciiFoldType(key) {
			if i >= len(data) || data[i] != '"' {
				return nil, false
			}
			end := plainString(data, i)
			if end < 0 {
				return nil, false
			}
			typ, i = data[i+1:end], end+1
		} else if i = skipValue(data, i); i < 0 {
			return nil, false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return nil, false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return typ, true
		default:
			return nil, false
		}
	}
}

// asciiFoldType reports whether the 4-byte key is "type" in any case (no
// other letters fold to t, y, p or e in encoding/json's matching).
func asciiFoldType(k []byte) bool {
	return k[0]|0x20 == 't' && k[1]|0x20 == 'y' && k[2]|0x20 == 'p' && k[3]|0x20 == 'e'
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// plainString returns the index of the closing quote of the string opening
// at i, or -1 if it has an escape or no end.
func plainString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '"':
			return j
		case '\\':
			return -1
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value starting at i, or -1.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			case '"':
				if j = skipValue(data, j) - 1; j < 0 {
					return -1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(data) && data[j] != ',' && data[j] != '}' && data[j] != ']' && data[j] != ' ' && data[j] != '\t' && data[j] != '\n' && data[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func invalid(kind, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, kind, fmt.Sprintf(format, args...))
}

func checkTime(kind string, t time.Time) error {
	if t.IsZero() {
		return invalid(kind, "missing \"time\"")
	}
	return nil
}

// Validate checks that the post can be processed. It sets Type.
func (p *Post) Validate() error {
	p.Type = TypePost
	switch {
	case p.Source == "":
		return invalid("post", "missing \"source\"")
	case p.ID == "":
		return invalid("post", "missing \"id\"")
	case p.Service == "":
		return invalid("post", "missing \"service\"")
	case len(p.Text) > MaxTextBytes:
		return invalid("post", "text of %d bytes, more than %d", len(p.Text), MaxTextBytes)
	case !utf8.ValidString(p.Text):
		return invalid("post", "text is not valid UTF-8")
	}
	return checkTime("post", p.Time)
}

// MaxCount is the largest value a count sample (requests or errors of an
// interval, the detector's error_counts) may have: 10¹² — a million times
// the busiest service's requests a minute. A larger one is no count, and
// summed it could overflow the chart's statistic to NaN (dead for the rest
// of the watch).
const MaxCount = 1e12

// MaxReleaseBytes bounds the release id a metric sample names.
const MaxReleaseBytes = 256

// Validate checks the sample. It sets Type.
func (m *MetricSample) Validate() error {
	m.Type = TypeMetric
	switch {
	case m.Service == "":
		return invalid("metric", "missing \"service\"")
	case m.Name == "":
		return invalid("metric", "missing \"name\"")
	case m.Value != m.Value: // NaN
		return invalid("metric", "value is NaN")
	case len(m.Release) > MaxReleaseBytes:
		return invalid("metric", "release id of %d bytes, more than %d", len(m.Release), MaxReleaseBytes)
	case !printable(m.Release):
		return invalid("metric", "release id %q has control characters", m.Release)
	}
	return checkTime("metric", m.Time)
}

// printable reports whether s has no control characters (UTF-8 is checked
// before).
func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Validate checks the release event. It sets Type.
func (r *ReleaseEvent) Validate() error {
	r.Type = TypeRelease
	switch {
	case r.Release == "":
		return invalid("release", "missing \"release\"")
	case r.Service == "":
		return invalid("release", "missing \"service\"")
	case !ValidEvent(r.Event):
		return invalid("release", "unknown event %q (want started, promoted, completed, halted, rolled_back, fixed_forward or exposure)", r.Event)
	case (r.Event == EventStarted || r.Event == EventPromoted) && r.Ring == "":
		return invalid("release", "event %q needs a \"ring\"", r.Event)
	case !(r.Exposure >= 0 && r.Exposure <= 1): // also NaN
		return invalid("release", "exposure %g is outside (0, 1]", r.Exposure)
	case r.Event == EventExposure && r.Exposure == 0:
		return invalid("release", "event %q needs an \"exposure\" in (0, 1]", r.Event)
	case r.Exposure > 0 && r.Event != EventStarted && r.Event != EventPromoted && r.Event != EventExposure:
		return invalid("release", "\"exposure\" goes with started, promoted or exposure, not %q", r.Event)
	}
	return checkTime("release", r.Time)
}

// Validate checks the anomaly. It sets Type.
func (a *Anomaly) Validate() error {
	a.Type = TypeAnomaly
	if a.Service == "" || a.Kind == "" {
		return invalid("anomaly", "missing \"service\" or \"kind\"")
	}
	return checkTime("anomaly", a.Time)
}

// Validate checks the verdict. It sets Type.
func (v *Verdict) Validate() error {
	v.Type = TypeVerdict
	if v.Release == "" || v.Service == "" || v.Decision == "" {
		return invalid("verdict", "missing \"release\", \"service\" or \"decision\"")
	}
	return checkTime("verdict", v.Time)
}

// Validate checks the rollup. It sets Type.
func (r *Rollup) Validate() error {
	r.Type = TypeRollup
	switch {
	case r.Service == "" || r.Source == "":
		return invalid("rollup", "missing \"service\" or \"source\"")
	case r.Posts < 0 || r.Negative < 0 || r.Negative > r.Posts:
		return invalid("rollup", "counts out of range (posts %d, negative %d)", r.Posts, r.Negative)
	}
	return checkTime("rollup", r.Time)
}

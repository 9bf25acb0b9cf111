package signals

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// decodePost reads the usual shape of a post without reflection: a flat
// object whose keys are exactly Post's own plain field names, strings
// without escapes, whole or decimal numbers. Anything else (an escape, a
// key it does not know or in another case, null, enrichment, an exponent,
// malformed JSON) gives false, and the caller decodes with encoding/json,
// which reads every form. When it gives true, p is what encoding/json
// would have decoded (FuzzDecodePost checks this). A new Post field is
// read by encoding/json until it is added here.
func decodePost(data []byte, p *Post) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		key, end, ok := plainValue(data, i)
		if !ok {
			return false
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		switch string(key) {
		case "type", "source", "id", "service", "text", "lang", "url", "author", "uri", "time_from", "app_version":
			s, e, ok := plainValue(data, i)
			if !ok {
				return false
			}
			*postString(p, key) = string(s)
			i = e
		case "time", "fetched", "author_time":
			s, e, ok := plainValue(data, i)
			if !ok {
				return false
			}
			t := &p.Time
			switch string(key) {
			case "fetched":
				t = &p.Fetched
			case "author_time":
				t = &p.AuthorTime
			}
			if t.UnmarshalText(s) != nil {
				return false
			}
			i = e
		case "reach":
			e, ok := number(data, i, false)
			if !ok {
				return false
			}
			n, err := strconv.Atoi(string(data[i:e]))
			if err != nil {
				return false
			}
			p.Reach, i = n, e
		case "rating":
			e, ok := number(data, i, true)
			if !ok {
				return false
			}
			f, err := strconv.ParseFloat(string(data[i:e]), 64)
			if err != nil {
				return false
			}
			p.Rating, i = f, e
		default:
			return false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

func postString(p *Post, key []byte) *string {
	switch string(key) {
	case "type":
		return &p.Type
	case "source":
		return &p.Source
	case "id":
		return &p.ID
	case "service":
		return &p.Service
	case "text":
		return &p.Text
	case "lang":
		return &p.Lang
	case "url":
		return &p.URL
	case "author":
		return &p.Author
	case "uri":
		return &p.URI
	case "time_from":
		return &p.TimeFrom
	}
	return &p.AppVersion
}

// plainValue reads the string opening at i when it has no escape and no
// control character; it returns its contents and the index past it.
func plainValue(data []byte, i int) (s []byte, end int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// number returns the index past the JSON number at i written as
// -?(0|[1-9][0-9]*) and, with frac, an optional .[0-9]+ (no exponent).
func number(data []byte, i int, frac bool) (int, bool) {
	j := i
	if j < len(data) && data[j] == '-' {
		j++
	}
	switch {
	case j < len(data) && data[j] == '0':
		j++
	case j < len(data) && data[j] >= '1' && data[j] <= '9':
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
	default:
		return 0, false
	}
	if frac && j < len(data) && data[j] == '.' {
		j++
		k := j
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		if j == k {
			return 0, false
		}
	}
	if j < len(data) {
		switch data[j] {
		case ' ', '\t', '\n', '\r', ',', '}':
		default:
			return 0, false
		}
	}
	return j, true
}

// AppendPostJSON appends p's wire form to buf, byte for byte what
// json.Marshal writes (FuzzAppendPostJSON checks this), without reflection.
// ok is false, and buf unchanged, for what it leaves to encoding/json: an
// enrichment, a time json.Marshal refuses or a rating it writes with an
// exponent.
func AppendPostJSON(buf []byte, p *Post) (out []byte, ok bool) {
	if p.Enrichment != nil || !plainTime(p.Time) || !plainTime(p.Fetched) || !p.AuthorTime.IsZero() && !plainTime(p.AuthorTime) {
		return buf, false
	}
	if r := math.Abs(p.Rating); p.Rating != 0 && (r < 1e-6 || r >= 1e21 || math.IsNaN(p.Rating)) {
		return buf, false
	}
	b := append(buf, `{"type":`...)
	b = appendString(b, p.Type)
	b = append(b, `,"time":"`...)
	b = p.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","source":`...)
	b = appendString(b, p.Source)
	b = append(b, `,"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"service":`...)
	b = appendString(b, p.Service)
	b = append(b, `,"text":`...)
	b = appendString(b, p.Text)
	b = appendOpt(b, `,"lang":`, p.Lang)
	b = appendOpt(b, `,"url":`, p.URL)
	b = appendOpt(b, `,"author":`, p.Author)
	b = append(b, `,"fetched":"`...)
	b = p.Fetched.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if p.Reach != 0 {
		b = append(b, `,"reach":`...)
		b = strconv.AppendInt(b, int64(p.Reach), 10)
	}
	if p.Rating != 0 {
		b = append(b, `,"rating":`...)
		b = strconv.AppendFloat(b, p.Rating, 'f', -1, 64)
	}
	b = appendOpt(b, `,"uri":`, p.URI)
	b = appendOpt(b, `,"time_from":`, p.TimeFrom)
	if !p.AuthorTime.IsZero() {
		b = append(b, `,"author_time":"`...)
		b = p.AuthorTime.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = appendOpt(b, `,"app_version":`, p.AppVersion)
	return append(b, '}'), true
}

// plainTime: a time json.Marshal writes as RFC 3339 (years 0–9999, an
// offset of whole minutes under a day).
func plainTime(t time.Time) bool {
	_, off := t.Zone()
	return t.Year() >= 0 && t.Year() <= 9999 && off%60 == 0 && off > -24*3600 && off < 24*3600
}

func appendOpt(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does (HTML-safe, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package signals

import "strconv"

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

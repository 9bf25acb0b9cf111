package statsd

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/crawlers"
)

// Metric types of a line.
const (
	typeCounter = "c"
	typeGauge   = "g"
	typeTimer   = "ms"
	typeHist    = "h"
	typeDist    = "d" // DogStatsD distribution, read like a histogram
	typeSet     = "s"
)

// errUnsupported marks a well-formed line of a kind the listener does not
// turn into samples (sets, DogStatsD events and service checks).
var errUnsupported = errors.New("unsupported")

// line is one parsed StatsD / DogStatsD line.
type line struct {
	name   string
	values []float64
	typ    string
	rate   float64 // sample rate in (0, 1]; 1 when absent
	// delta is true for a gauge written "+n" or "-n": a change, not a value.
	delta bool
	tags  map[string]string
	// time is the DogStatsD "|T<unix seconds>" timestamp, zero when absent.
	time time.Time
}

// parseLine reads `name:value[:value...]|type[|@rate][|#k:v,k2:v2][|T<unix>]`.
// Unknown "|" sections (e.g. DogStatsD's "|c:<container id>") are ignored.
func parseLine(b []byte) (line, error) {
	if !utf8.Valid(b) {
		return line{}, errors.New("not valid UTF-8")
	}
	if bytes.HasPrefix(b, []byte("_e{")) || bytes.HasPrefix(b, []byte("_sc|")) {
		return line{}, fmt.Errorf("%w: DogStatsD event or service check", errUnsupported)
	}
	sections := bytes.Split(b, []byte("|"))
	if len(sections) < 2 {
		return line{}, errors.New(`no "|type"`)
	}
	head := sections[0]
	colon := bytes.IndexByte(head, ':')
	if colon <= 0 {
		return line{}, errors.New(`no "name:value"`)
	}
	l := line{name: string(bytes.TrimSpace(head[:colon])), typ: string(sections[1]), rate: 1}
	if l.name == "" || bytes.ContainsAny(head[:colon], " \t#|@") {
		return line{}, fmt.Errorf("bad metric name %q", head[:colon])
	}
	switch l.typ {
	case typeCounter, typeGauge, typeTimer, typeHist, typeDist:
	case typeSet:
		return line{}, fmt.Errorf("%w: sets", errUnsupported)
	default:
		return line{}, fmt.Errorf("unknown type %q", l.typ)
	}
	raw := bytes.Split(head[colon+1:], []byte(":"))
	for _, r := range raw {
		s := string(r)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return line{}, fmt.Errorf("bad value %q", s)
		}
		if l.typ == typeGauge && (s[0] == '+' || s[0] == '-') {
			l.delta = true
		}
		l.values = append(l.values, v)
	}
	if l.typ == typeGauge && len(l.values) > 1 {
		return line{}, errors.New("a gauge has one value")
	}
	for _, sec := range sections[2:] {
		switch {
		case len(sec) == 0:
			return line{}, errors.New(`empty "|" section`)
		case sec[0] == '@':
			r, err := strconv.ParseFloat(string(sec[1:]), 64)
			if err != nil || !(r > 0 && r <= 1) {
				return line{}, fmt.Errorf("bad sample rate %q", sec)
			}
			l.rate = r
		case sec[0] == '#':
			l.tags = parseTags(sec[1:])
		case sec[0] == 'T':
			ts, err := strconv.ParseInt(string(sec[1:]), 10, 64)
			if err != nil || ts <= 0 || ts > crawlers.MaxUnix {
				return line{}, fmt.Errorf("bad timestamp %q", sec)
			}
			l.time = time.Unix(ts, 0).UTC()
		}
	}
	return l, nil
}

// parseTags reads `k:v,k2:v2`; a tag without a value maps to "".
func parseTags(b []byte) map[string]string {
	tags := make(map[string]string)
	for t := range bytes.SplitSeq(b, []byte(",")) {
		k, v, _ := bytes.Cut(t, []byte(":"))
		if len(k) > 0 {
			tags[string(k)] = string(v)
		}
	}
	return tags
}

package signals

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
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
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var v interface{ Validate() error }
	switch head.Type {
	case TypePost:
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
		return nil, fmt.Errorf("%w: unknown type %q", ErrInvalid, head.Type)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, head.Type, err)
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
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
	}
	return checkTime("metric", m.Time)
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

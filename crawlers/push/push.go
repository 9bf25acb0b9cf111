// Package push is the endpoint applications push their own metric samples
// to (POST /v1/metrics), in the signals wire shape:
//
//	{"type":"metric","time":"2026-11-24T09:30:00Z","service":"shop","version":"4.2.0","ring":"H2","name":"error_rate","value":0.012}
//
// or, for request and error counts, in the count form (INTERFACES.md §8,
// "Our own JSON push"), which is two samples, "requests" and "errors" (the
// detector's default error-count pair, detector.DefaultErrorCounts):
//
//	{"service":"shop","version":"4.2.0","ring":"H2","ts":"2026-11-24T09:30:00Z","requests":1200,"errors":17}
//
// Either form may name its cohort by the release id instead of (or beside)
// the version, as INTERFACES.md §8 sketches it:
//
//	{"service":"shop","ring":"H2","release":"r123","ts":"2026-11-24T09:30:00Z","requests":1200,"errors":17}
//
// The release is carried to the detector as it is; the detector knows the
// release events and takes that release's version as the sample's cohort
// (a release it does not know, or a version that disagrees with it, sets
// the sample aside there: detector/releasecohort.go, README "POST /v1/metrics").
//
// The body is one object, a JSON array of them, or JSON lines. "type" may
// be left out; a missing "time" (or "ts") means now. Valid samples are
// published to the METRICS stream; each invalid object is reported by its
// index and the rest are still accepted.
package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// MaxBodyBytes caps a request body.
const MaxBodyBytes = 1 << 20

// IdempotencyHeader names the request header whose value makes a retry
// safe: the samples of a body sent again with the same key within
// bus.MetricsDuplicateWindow are stored once (each sample's message id is
// the key and its index in the body).
const IdempotencyHeader = "Idempotency-Key"

// maxKeyBytes bounds an Idempotency-Key.
const maxKeyBytes = 200

// Publisher publishes one metric sample with an optional de-duplication
// id; bus.Publisher is one (MetricWithID).
type Publisher interface {
	MetricWithID(ctx context.Context, m signals.MetricSample, msgID string) error
}

// Response is the JSON answer of the endpoint.
type Response struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
	// Error explains a request refused as a whole (400, 413, 503).
	Error string `json:"error,omitempty"`
}

// Rejection names one refused sample by its 0-based index in the body
// (array element or line).
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

type handler struct {
	pub  Publisher
	log  *slog.Logger
	now  func() time.Time
	auth func(*http.Request) bool
}

// NewHandler returns the handler of POST /v1/metrics. auth, when not nil,
// decides whether a request may push (e.g. a bearer token check); nil leaves
// the endpoint open. It answers 202 with a Response when at least one sample
// was accepted, 400 when none was or the body is not JSON, 413 over
// MaxBodyBytes, 405 for another method, 401 when auth refuses, and 503 when
// publishing failed (Accepted then counts the samples published before, in
// body order).
func NewHandler(pub bus.Publisher, logger *slog.Logger, now func() time.Time, auth func(*http.Request) bool) http.Handler {
	return newHandler(pub, logger, now, auth)
}

func newHandler(pub Publisher, logger *slog.Logger, now func() time.Time, auth func(*http.Request) bool) *handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &handler{pub: pub, log: logger, now: now, auth: auth}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, Response{Error: "use POST"})
		return
	}
	if h.auth != nil && !h.auth(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="aftershock"`)
		reply(w, http.StatusUnauthorized, Response{Error: "unauthorized"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		reply(w, http.StatusRequestEntityTooLarge, Response{Error: fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)})
		return
	case err != nil:
		reply(w, http.StatusBadRequest, Response{Error: fmt.Sprintf("reading body: %v", err)})
		return
	}
	key := r.Header.Get(IdempotencyHeader)
	if err := ValidKey(key); err != nil {
		reply(w, http.StatusBadRequest, Response{Error: err.Error()})
		return
	}
	raws, err := Split(body)
	if err != nil {
		reply(w, http.StatusBadRequest, Response{Error: err.Error()})
		return
	}
	resp := Response{Rejected: []Rejection{}}
	now := h.now().UTC()
	for i, raw := range raws {
		ms, err := decode(raw, now)
		if err != nil {
			resp.Rejected = append(resp.Rejected, Rejection{Index: i, Error: err.Error()})
			continue
		}
		for j, m := range ms {
			if err := h.pub.MetricWithID(r.Context(), m, SampleID(key, i, j, len(ms))); err != nil {
				if errors.Is(err, signals.ErrInvalid) {
					resp.Rejected = append(resp.Rejected, Rejection{Index: i, Error: err.Error()})
					continue
				}
				h.log.Error("publishing pushed metric sample", "err", err)
				resp.Error = "publishing failed; retry later"
				reply(w, http.StatusServiceUnavailable, resp)
				return
			}
			resp.Accepted++
		}
	}
	if resp.Accepted == 0 {
		resp.Error = "no valid metric sample"
		reply(w, http.StatusBadRequest, resp)
		return
	}
	reply(w, http.StatusAccepted, resp)
}

// MsgID is the message id of sample i of a body pushed with key: "" (no
// de-duplication) without a key.
func MsgID(key string, i int) string {
	if key == "" {
		return ""
	}
	return "push:" + key + ":" + strconv.Itoa(i)
}

// SampleID is the message id of sample j of the n that object i of a body
// pushed with key stands for: MsgID for a single sample, and a suffix per
// sample of a count, so a retry stores each once.
func SampleID(key string, i, j, n int) string {
	id := MsgID(key, i)
	if id == "" || n <= 1 {
		return id
	}
	return id + ":" + strconv.Itoa(j)
}

// ValidKey checks an Idempotency-Key: at most maxKeyBytes of printable
// ASCII ("" means none).
func ValidKey(key string) error {
	if len(key) > maxKeyBytes {
		return fmt.Errorf("%s longer than %d bytes", IdempotencyHeader, maxKeyBytes)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return fmt.Errorf("%s: only printable ASCII without spaces", IdempotencyHeader)
		}
	}
	return nil
}

// Split cuts a body into the raw JSON of each sample: the elements of an
// array, a single value, or JSON lines. A malformed line is kept so it is
// rejected by its index; an empty body, a malformed array or single value
// fails the body.
func Split(body []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("empty body")
	case trimmed[0] == '[':
		var raws []json.RawMessage
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("malformed JSON array: %v", err)
		}
		return raws, nil
	case trimmed[0] != '{':
		return nil, errors.New("malformed JSON: want an object, an array of objects or JSON lines")
	case json.Valid(trimmed):
		return []json.RawMessage{trimmed}, nil
	}
	var raws []json.RawMessage
	for line := range bytes.Lines(trimmed) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			raws = append(raws, line)
		}
	}
	if len(raws) == 1 {
		return nil, errors.New("malformed JSON")
	}
	return raws, nil
}

// Sample is a pushed metric sample as sent, in the signals wire shape:
// "value" is required; "type" may be left out (it must be "metric" if
// given), and so may "time" (then the time of receipt) and "service" (when
// the channel names it).
type Sample struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Version string    `json:"version"`
	// Release names the cohort by its release id (a release event's
	// "release"), instead of or beside Version: the detector resolves it.
	Release string   `json:"release"`
	Ring    string   `json:"ring"`
	Name    string   `json:"name"`
	Value   *float64 `json:"value"`
	// TS is "time" by its other name, as the count form is documented.
	TS time.Time `json:"ts"`
	// Requests and Errors make the count form: the requests served and the
	// errors among them over the interval up to Time, published as the
	// samples RequestsName and ErrorsName. Both, and no name or value.
	Requests *float64 `json:"requests"`
	Errors   *float64 `json:"errors"`
}

// The sample names of the count form: the detector's default error-count
// pair (detector.DefaultErrorCounts). A pair with other names is pushed as
// two samples of the sample form.
const (
	RequestsName = "requests"
	ErrorsName   = "errors"
)

// counts reports whether s is in the count form.
func (s Sample) counts() bool { return s.Requests != nil || s.Errors != nil }

// ParseSample reads the raw JSON of one pushed sample: valid UTF-8, a JSON
// object with no fields beyond Sample's (an unknown one is refused by
// name, as everywhere in the API), "type" metric if given, "value" present.
func ParseSample(raw json.RawMessage) (Sample, error) {
	if !utf8.Valid(raw) {
		return Sample{}, errors.New("not valid UTF-8")
	}
	var s Sample
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return Sample{}, fmt.Errorf("unknown field %s", f)
		}
		return Sample{}, fmt.Errorf("malformed JSON: %v", err)
	}
	if dec.More() {
		return Sample{}, errors.New("malformed JSON: data after the object")
	}
	switch {
	case s.Type != "" && s.Type != signals.TypeMetric:
		return Sample{}, fmt.Errorf("type %q, want %q", s.Type, signals.TypeMetric)
	case !s.TS.IsZero() && !s.Time.IsZero():
		return Sample{}, errors.New(`both "time" and "ts": give one`)
	case s.counts() && (s.Value != nil || s.Name != ""):
		return Sample{}, errors.New(`counts ("requests", "errors") with "name" or "value": send a count object or a sample, not both`)
	case s.counts() && s.Requests == nil:
		return Sample{}, errors.New(`missing "requests" beside "errors"`)
	case s.counts() && s.Errors == nil:
		return Sample{}, errors.New(`missing "errors" beside "requests"`)
	case s.counts():
		r, e := *s.Requests, *s.Errors
		if !validCount(r) || !validCount(e) {
			return Sample{}, fmt.Errorf(`"requests" %g and "errors" %g must be counts: non-negative and finite, at most %g`, r, e, signals.MaxCount)
		}
		if e > r {
			return Sample{}, fmt.Errorf(`"errors" %g exceed "requests" %g`, e, r)
		}
	case s.Value == nil:
		return Sample{}, errors.New(`missing "value"`)
	}
	if !s.TS.IsZero() {
		s.Time, s.TS = s.TS, time.Time{}
	}
	return s, nil
}

// validCount: non-negative and at most signals.MaxCount (NaN fails both).
func validCount(v float64) bool { return v >= 0 && v <= signals.MaxCount }

// Metrics returns the samples of s, validated: one, or for the count form
// two (requests, then errors), at now when it names no time.
func (s Sample) Metrics(now time.Time) ([]signals.MetricSample, error) {
	if !s.counts() {
		m, err := s.Metric(now)
		if err != nil {
			return nil, err
		}
		return []signals.MetricSample{m}, nil
	}
	out := make([]signals.MetricSample, 0, 2)
	for _, c := range []struct {
		name string
		v    *float64
	}{{RequestsName, s.Requests}, {ErrorsName, s.Errors}} {
		one := s
		one.Requests, one.Errors, one.Name, one.Value = nil, nil, c.name, c.v
		m, err := one.Metric(now)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Metric returns the sample as a validated signals.MetricSample, at now
// when it names no time. A count form is two samples (Metrics).
func (s Sample) Metric(now time.Time) (signals.MetricSample, error) {
	if s.counts() || s.Value == nil {
		return signals.MetricSample{}, errors.New(`a count ("requests", "errors") is two samples; this takes one sample a message`)
	}
	if s.Time.IsZero() {
		s.Time = now
	}
	m := signals.MetricSample{
		Type:    signals.TypeMetric,
		Time:    s.Time,
		Service: s.Service,
		Version: s.Version,
		Release: s.Release,
		Ring:    s.Ring,
		Name:    s.Name,
		Value:   *s.Value,
	}
	if err := m.Validate(); err != nil {
		return signals.MetricSample{}, err
	}
	return m, nil
}

// decode reads one object pushed over HTTP, which names its service: one
// sample, or the two of a count.
func decode(raw json.RawMessage, now time.Time) ([]signals.MetricSample, error) {
	s, err := ParseSample(raw)
	if err != nil {
		return nil, err
	}
	if s.Service != "" && !bus.ValidToken(s.Service) {
		return nil, fmt.Errorf("service %q must be 1-128 letters, digits, '-' or '_'", s.Service)
	}
	return s.Metrics(now)
}

func reply(w http.ResponseWriter, status int, resp Response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

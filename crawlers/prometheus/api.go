package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
)

// queryError is Prometheus refusing one expression (400 bad_data, 422
// execution): a bad query, not an outage.
type queryError struct {
	status    int
	errorType string
	msg       string
}

func (e *queryError) Error() string {
	return fmt.Sprintf("prometheus refused the expression (%d %s): %s", e.status, e.errorType, e.msg)
}

// result is one query's answer.
type result struct {
	series   []series
	warnings []string
	// malformed counts elements that could not be read.
	malformed int
}

type series struct {
	labels map[string]string
	points []point
}

type point struct {
	time  time.Time
	value float64
}

// envelope is every answer of the HTTP API.
type envelope struct {
	Status    string   `json:"status"`
	Data      *data    `json:"data"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Infos     []string `json:"infos"`
}

type data struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// element is a vector element ("value") or a matrix element ("values").
type element struct {
	Metric map[string]string `json:"metric"`
	Value  json.RawMessage   `json:"value"`
	Values []json.RawMessage `json:"values"`
}

// query evaluates expr over w: /api/v1/query for an instant,
// /api/v1/query_range for a range. It is sent as a form POST so long
// expressions fit and stay out of proxies' access logs.
func (s *Source) query(ctx context.Context, expr string, w window) (result, error) {
	form := url.Values{"query": {expr}}
	path := "/api/v1/query"
	if w.Start.IsZero() {
		form.Set("time", unixString(w.End))
	} else {
		path = "/api/v1/query_range"
		form.Set("start", unixString(w.Start))
		form.Set("end", unixString(w.End))
		form.Set("step", strconv.FormatFloat(w.Step.Seconds(), 'f', -1, 64))
	}
	if s.spec.Timeout > 0 {
		// Let Prometheus give up first, with an answer that says so.
		// Durations go as float seconds: "1.5s" is not PromQL syntax.
		form.Set("timeout", strconv.FormatFloat((s.spec.Timeout*9/10).Seconds(), 'f', 3, 64))
	}
	endpoint := s.base.String() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return result{}, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.ua)
	for k, v := range s.opts.Headers {
		req.Header.Set(k, v)
	}
	where := s.base.Redacted() + path
	resp, err := s.client.Do(req)
	if err != nil {
		// The *url.Error names the URL with its password; name it ourselves.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return result{}, fmt.Errorf("requesting %s: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := httpsrc.ReadCapped(resp.Body, s.opts.MaxBody)
	var tooLarge *httpsrc.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return result{}, &crawlers.PermanentError{Err: fmt.Errorf("answer of %s is larger than options.max_body (%d bytes)", where, s.opts.MaxBody)}
	case err != nil:
		return result{}, fmt.Errorf("answer of %s: %w", where, err)
	}
	var env envelope
	jsonErr := json.Unmarshal(body, &env)
	if jsonErr == nil && env.Status == "" {
		jsonErr = errors.New(`no "status"`)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		wait, ok := httpsrc.RetryAfter(resp.Header.Get("Retry-After"), s.now())
		if !ok {
			wait = time.Minute
		}
		return result{}, &crawlers.RateLimitError{RetryAfter: wait, Err: fmt.Errorf("%s answered 429", where)}
	}
	if jsonErr != nil || env.Status != "success" {
		return result{}, classify(where, resp.StatusCode, env, jsonErr)
	}
	if resp.StatusCode != http.StatusOK {
		return result{}, fmt.Errorf("%s answered %d with status success", where, resp.StatusCode)
	}
	if env.Data == nil {
		return result{}, fmt.Errorf("answer of %s has no data", where)
	}
	res, err := parseData(*env.Data)
	if err != nil {
		return result{}, &crawlers.PermanentError{Err: fmt.Errorf("answer of %s: %w", where, err)}
	}
	res.warnings = env.Warnings
	return res, nil
}

// classify turns a failed answer into an error the runner can act on.
func classify(where string, status int, env envelope, jsonErr error) error {
	if jsonErr == nil && env.Status == "error" {
		switch {
		case env.ErrorType == "bad_data" || env.ErrorType == "execution" ||
			status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
			return &queryError{status: status, errorType: env.ErrorType, msg: env.Error}
		case status >= 500 || env.ErrorType == "timeout" || env.ErrorType == "canceled" || env.ErrorType == "unavailable":
			return fmt.Errorf("%s answered %d %s: %s", where, status, env.ErrorType, env.Error)
		}
		return &crawlers.PermanentError{Err: fmt.Errorf("%s answered %d %s: %s", where, status, env.ErrorType, env.Error)}
	}
	// Not the API's envelope: a proxy, an auth gateway or a wrong URL.
	switch {
	case status >= 500:
		return fmt.Errorf("%s answered %d", where, status)
	case status >= 400:
		return &crawlers.PermanentError{Err: fmt.Errorf("%s answered %d %s", where, status, http.StatusText(status))}
	case jsonErr != nil:
		return &crawlers.PermanentError{Err: fmt.Errorf("%s answered %d with no Prometheus API envelope: %v", where, status, jsonErr)}
	}
	return &crawlers.PermanentError{Err: fmt.Errorf("%s answered %d with status %q", where, status, env.Status)}
}

// parseData reads a vector, matrix or scalar result. Elements that cannot
// be read are counted, not fatal.
func parseData(d data) (result, error) {
	var res result
	switch d.ResultType {
	case "vector", "matrix":
		var elems []json.RawMessage
		if err := json.Unmarshal(d.Result, &elems); err != nil {
			return result{}, fmt.Errorf("reading %s result: %w", d.ResultType, err)
		}
		for _, raw := range elems {
			var e element
			if err := json.Unmarshal(raw, &e); err != nil {
				res.malformed++
				continue
			}
			sr := series{labels: e.Metric}
			if d.ResultType == "vector" {
				// A native histogram has "histogram" instead of "value".
				p, err := parsePoint(e.Value)
				if err != nil {
					res.malformed++
					continue
				}
				sr.points = []point{p}
			} else {
				for _, v := range e.Values {
					p, err := parsePoint(v)
					if err != nil {
						res.malformed++
						continue
					}
					sr.points = append(sr.points, p)
				}
			}
			res.series = append(res.series, sr)
		}
	case "scalar":
		p, err := parsePoint(d.Result)
		if err != nil {
			res.malformed++
			break
		}
		res.series = []series{{points: []point{p}}}
	default:
		return result{}, fmt.Errorf("result type %q; the query must give a vector or scalar", d.ResultType)
	}
	return res, nil
}

// parsePoint reads [<unix seconds>, "<value>"]; values are strings and may
// be "NaN", "+Inf" or "-Inf".
func parsePoint(raw json.RawMessage) (point, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return point{}, errors.New("not a [time, value] pair")
	}
	var ts float64
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return point{}, fmt.Errorf("time: %w", err)
	}
	var vs string
	if err := json.Unmarshal(pair[1], &vs); err != nil {
		return point{}, fmt.Errorf("value: %w", err)
	}
	v, err := strconv.ParseFloat(vs, 64)
	if err != nil {
		return point{}, fmt.Errorf("value: %w", err)
	}
	return point{time: time.UnixMilli(int64(math.Round(ts * 1000))).UTC(), value: v}, nil
}

// unixString formats t as Unix seconds with milliseconds.
func unixString(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

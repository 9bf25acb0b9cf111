package crawlertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Response is a recorded HTTP response: a raw HTTP/1.1 response file
// (status line, headers, a blank line, the body), as the fixtures under
// testdata/<case>/NN.http hold.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// LoadHTTP reads a raw HTTP response file.
func LoadHTTP(path string) (*Response, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading fixture: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		return nil, fmt.Errorf("parsing fixture %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading fixture body %s: %w", path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// ReadHTTP reads a raw HTTP response file (see LoadHTTP), failing the test
// if it cannot. Call it from the test's goroutine, not from a handler.
func ReadHTTP(t testing.TB, path string) *Response {
	t.Helper()
	resp, err := LoadHTTP(path)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Write answers with the response: its headers, status and body.
func (r *Response) Write(w http.ResponseWriter) {
	for k, vs := range r.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(r.Status)
	w.Write(r.Body)
}

// WriteHTTP answers with the raw HTTP response file at path. A file that
// cannot be read fails the test (from a handler: t.Errorf) and is answered
// 500.
func WriteHTTP(t testing.TB, w http.ResponseWriter, path string) {
	resp, err := LoadHTTP(path)
	if err != nil {
		t.Errorf("%v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp.Write(w)
}

// FixturePath is the file a fixture step names: the step itself when it
// starts with testdata/, else the step under testdata/.
func FixturePath(step string) string {
	if strings.HasPrefix(step, "testdata"+string(filepath.Separator)) {
		return step
	}
	return filepath.Join("testdata", step)
}

// CaseFiles returns the response files of a case, testdata/<name>/*.http,
// in order, failing the test if there are none.
func CaseFiles(t testing.TB, name string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", name, "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures for case %s", name)
	}
	slices.Sort(files)
	return files
}

// Special steps Play understands besides fixture files.
const (
	StepDie  = "!die"  // close the connection without answering
	StepHang = "!hang" // answer only after the client gave up
)

// hangFor bounds StepHang when the client never gives up.
const hangFor = 5 * time.Second

// Play answers r with one step: StepDie, StepHang, or a raw HTTP response
// file (see FixturePath and WriteHTTP).
func Play(t testing.TB, w http.ResponseWriter, r *http.Request, step string) {
	switch step {
	case StepDie:
		Hangup(t, w)
	case StepHang:
		select {
		case <-r.Context().Done():
		case <-time.After(hangFor):
		}
	default:
		WriteHTTP(t, w, FixturePath(step))
	}
}

// Hangup closes the connection of w without (more of) an answer.
func Hangup(t testing.TB, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijacking: %v", err)
		return
	}
	conn.Close()
}

// Script hands out the steps of a fixture server per key (a path, a
// request URI, or "" for a single sequence), each key's in order, the last
// repeating. The zero Script is empty and ready; it is safe for concurrent
// use.
type Script struct {
	mu     sync.Mutex
	steps  map[string][]string
	served map[string]int
}

// Set replaces the steps of key and starts them again from the first.
func (s *Script) Set(key string, steps ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.steps == nil {
		s.steps, s.served = make(map[string][]string), make(map[string]int)
	}
	s.steps[key] = steps
	s.served[key] = 0
}

// Next returns the next step of key, or "" and false when key has none.
func (s *Script) Next(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	steps := s.steps[key]
	if len(steps) == 0 {
		return "", false
	}
	step := steps[min(s.served[key], len(steps)-1)]
	s.served[key]++
	return step, true
}

// Request is one request a fixture server received.
type Request struct {
	Method string
	URL    *url.URL
	Path   string     // URL.Path
	URI    string     // URL.RequestURI()
	Query  url.Values // URL.Query()
	Header http.Header
	Body   string
	// Form is the body's form, when it is application/x-www-form-urlencoded.
	Form url.Values
	At   time.Time // when it arrived
}

// String is the method and path: "GET /search".
func (r Request) String() string { return r.Method + " " + r.Path }

// UserAgent is the request's User-Agent.
func (r Request) UserAgent() string { return r.Header.Get("User-Agent") }

// Recorder keeps the requests a fixture server received. The zero
// Recorder is ready; it is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// Record keeps r, reading its body and leaving a copy in its place for the
// handler.
func (rc *Recorder) Record(r *http.Request) Request {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	u := *r.URL
	req := Request{
		Method: r.Method, URL: &u, Path: u.Path, URI: u.RequestURI(), Query: u.Query(),
		Header: r.Header.Clone(), Body: string(body), At: time.Now(),
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Form, _ = url.ParseQuery(string(body))
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, req)
	rc.mu.Unlock()
	return req
}

// Requests returns the requests recorded so far.
func (rc *Recorder) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// Count returns how many recorded requests went to path.
func (rc *Recorder) Count(path string) int {
	n := 0
	for _, r := range rc.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// Server is an httptest server replaying fixture steps: it records every
// request, takes the next step of the request's key (its path, unless
// built with a route) and answers it with Play. A request whose key has no
// steps fails the test and is answered 404.
type Server struct {
	*httptest.Server
	Script
	Recorder

	t     testing.TB
	route func(*http.Request) string
}

// Serve starts a Server answering each request path with its steps in
// routes, and closes it when the test ends.
func Serve(t testing.TB, routes map[string][]string) *Server {
	return ServeRoute(t, nil, routes)
}

// ServeSteps starts a Server answering every request with the next of
// steps (the key ""), and closes it when the test ends.
func ServeSteps(t testing.TB, steps ...string) *Server {
	return ServeRoute(t, func(*http.Request) string { return "" }, map[string][]string{"": steps})
}

// ServeRoute starts a Server whose route picks the key of each request
// (nil: its path), with the steps of routes, and closes it when the test
// ends.
func ServeRoute(t testing.TB, route func(*http.Request) string, routes map[string][]string) *Server {
	t.Helper()
	if route == nil {
		route = func(r *http.Request) string { return r.URL.Path }
	}
	s := &Server{t: t, route: route}
	for key, steps := range routes {
		s.Set(key, steps...)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Record(r)
	step, ok := s.Next(s.route(r))
	if !ok {
		s.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	Play(s.t, w, r, step)
}

package releases

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

const testToken = "s3cret"

// clock hands out times one second apart, starting at t0.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type env struct {
	bus   *bus.Bus
	store *Store
	srv   *httptest.Server
}

func openBus(t *testing.T, dir string) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("bus.Open: %v", err)
	}
	return b
}

// newEnv runs the real handler over the embedded NATS stored in dir.
func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	b := openBus(t, dir)
	kv, err := b.KV(context.Background(), bus.BucketReleases)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: t0}
	log := slog.New(slog.DiscardHandler)
	store := NewStore(kv, log, c.now)
	srv := httptest.NewServer(Handler(store, bus.Publisher{JS: b.JS}, BearerAuth(testToken), log, c.now))
	e := &env{bus: b, store: store, srv: srv}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	if e.srv != nil {
		e.srv.Close()
		e.bus.Close()
		e.srv = nil
	}
}

// do sends a request with the test token and decodes the JSON answer into
// out (a *Release, *ListResponse or *ErrorResponse), returning the status.
func (e *env) do(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return e.doAuth(t, method, path, body, "Bearer "+testToken, out)
}

func (e *env) doAuth(t *testing.T, method, path, body, authz string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, body %s", method, path, ct, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

type streamMsg struct {
	id string
	ev signals.ReleaseEvent
}

// streamMsgs reads every message of the RELEASES stream.
func streamMsgs(t *testing.T, js jetstream.JetStream) []streamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, bus.StreamReleases)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []streamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		var ev signals.ReleaseEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		out = append(out, streamMsg{id: m.Header.Get(jetstream.MsgIDHeader), ev: ev})
	}
	return out
}

const startShop = `{"release":"shop-4.2.0","service":"shop","version":"4.2.0","team":"payments","authors":["kim"],"features":["checkout"],"ring":"H1","time":"2026-11-24T09:30:00Z"}`

func TestReleaseFlow(t *testing.T) {
	e := newEnv(t, t.TempDir())
	steps := []struct {
		method, path, body string
		wantCode           int
		wantStatus, ring   string
		wantEvents         int
	}{
		{"POST", "/v1/releases", startShop, 201, StatusWatching, "H1", 1},
		{"POST", "/v1/releases", startShop, 200, StatusWatching, "H1", 1}, // identical retry
		{"POST", "/v1/releases/shop-4.2.0/events", `{"event":"promoted","ring":"H2"}`, 200, StatusPromoted, "H2", 2},
		{"POST", "/v1/releases/shop-4.2.0/events", `{"event":"promoted","ring":"H2"}`, 200, StatusPromoted, "H2", 2}, // retry
		{"POST", "/v1/releases/shop-4.2.0/events", `{"event":"completed","time":"2026-11-24T12:00:00.123456789Z"}`, 200, StatusCompleted, "H2", 3},
		{"POST", "/v1/releases/shop-4.2.0/events", `{"event":"completed","time":"2026-11-24T12:00:00.123456789Z"}`, 200, StatusCompleted, "H2", 3},
		{"GET", "/v1/releases/shop-4.2.0", "", 200, StatusCompleted, "H2", 3},
	}
	for i, s := range steps {
		var r Release
		if code := e.do(t, s.method, s.path, s.body, &r); code != s.wantCode {
			t.Fatalf("step %d %s %s: status %d, want %d", i, s.method, s.path, code, s.wantCode)
		}
		if r.ID != "shop-4.2.0" || r.Status != s.wantStatus || r.Ring != s.ring || len(r.Events) != s.wantEvents {
			t.Fatalf("step %d: release %+v, want status %s ring %s with %d events", i, r, s.wantStatus, s.ring, s.wantEvents)
		}
	}

	var errResp ErrorResponse
	if code := e.do(t, "POST", "/v1/releases/shop-4.2.0/events", `{"event":"halted","ring":"H2"}`, &errResp); code != 409 ||
		!strings.Contains(errResp.Error, "completed") {
		t.Fatalf("halt after complete: %d %q, want 409 naming the status", code, errResp.Error)
	}

	msgs := streamMsgs(t, e.bus.JS)
	want := []struct{ event, ring, id string }{
		{"started", "H1", "shop-4.2.0:started:H1:1795512600000000000"},
		{"promoted", "H2", ""},
		{"completed", "H2", "shop-4.2.0:completed:H2:1795521600123456789"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages on the stream, want %d: %+v", len(msgs), len(want), msgs)
	}
	for i, w := range want {
		m := msgs[i]
		if m.ev.Event != w.event || m.ev.Ring != w.ring || m.ev.Service != "shop" || m.ev.Version != "4.2.0" ||
			m.ev.Team != "payments" || len(m.ev.Authors) != 1 || m.ev.Type != signals.TypeRelease {
			t.Errorf("message %d: %+v, want %s on %s with the release's data", i, m.ev, w.event, w.ring)
		}
		if m.id != MsgID(m.ev) || (w.id != "" && m.id != w.id) {
			t.Errorf("message %d: msg id %q, want %q", i, m.id, MsgID(m.ev))
		}
	}
	if !msgs[0].ev.Time.Equal(time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("started at %s, want the request's time", msgs[0].ev.Time)
	}
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	for _, s := range []struct{ path, body string }{
		{"/v1/releases", startShop},
		{"/v1/releases/shop-4.2.0/events", `{"event":"promoted","ring":"H2"}`},
		{"/v1/releases/shop-4.2.0/events", `{"event":"halted"}`},
	} {
		if code := e.do(t, "POST", s.path, s.body, nil); code >= 300 {
			t.Fatalf("POST %s: %d", s.path, code)
		}
	}
	e.close()

	e = newEnv(t, dir)
	var r Release
	if code := e.do(t, "GET", "/v1/releases/shop-4.2.0", "", &r); code != 200 {
		t.Fatalf("GET after reopen: %d", code)
	}
	if r.Status != StatusHalted || r.Ring != "H2" || len(r.Events) != 3 || r.Team != "payments" {
		t.Fatalf("after reopen: %+v", r)
	}
	// A retry after the restart is still a duplicate and adds no message.
	if code := e.do(t, "POST", "/v1/releases/shop-4.2.0/events", `{"event":"halted"}`, &r); code != 200 || len(r.Events) != 3 {
		t.Fatalf("retried halt: %d, %d events", code, len(r.Events))
	}
	if n := len(streamMsgs(t, e.bus.JS)); n != 3 {
		t.Fatalf("%d messages on the stream, want 3", n)
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t, t.TempDir())
	if code := e.do(t, "POST", "/v1/releases", startShop, nil); code != 201 {
		t.Fatalf("start: %d", code)
	}
	big := `{"release":"x","service":"shop","version":"1","team":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	tests := []struct {
		name, method, path, body, authz string
		want                            int
		wantErr                         string
	}{
		{"malformed json", "POST", "/v1/releases", `{"release":`, "", 400, "malformed JSON"},
		{"trailing data", "POST", "/v1/releases", `{"release":"x"} {}`, "", 400, "data after the object"},
		{"empty body", "POST", "/v1/releases", ``, "", 400, "empty body"},
		{"invalid utf-8", "POST", "/v1/releases", "{\"release\":\"x\",\"service\":\"shop\",\"version\":\"1\",\"team\":\"\xff\"}", "", 400, "UTF-8"},
		{"wrong type names the field", "POST", "/v1/releases", `{"release":"x","service":"shop","version":"1","authors":"kim"}`, "", 400, "authors"},
		{"bad time", "POST", "/v1/releases", `{"release":"x","service":"shop","version":"1","time":"yesterday"}`, "", 400, "time"},
		{"missing field", "POST", "/v1/releases", `{"release":"x","version":"1"}`, "", 400, "service: required"},
		{"bad id", "POST", "/v1/releases", `{"release":"../x","service":"shop","version":"1"}`, "", 400, "release: "},
		{"unknown event", "POST", "/v1/releases/shop-4.2.0/events", `{"event":"exploded"}`, "", 400, "event: unknown event"},
		{"started needs ring", "POST", "/v1/releases/shop-4.2.0/events", `{"event":"started"}`, "", 400, "ring: required"},
		{"unknown release", "POST", "/v1/releases/nope-1/events", `{"event":"halted"}`, "", 404, "not found"},
		{"get unknown", "GET", "/v1/releases/nope-1", "", "", 404, "not found"},
		{"unknown path", "GET", "/v1/releases/shop-4.2.0/nothing", "", "", 404, "no such endpoint"},
		{"promote to current ring", "POST", "/v1/releases/shop-4.2.0/events", `{"event":"promoted","ring":"H1"}`, "", 409, "already on ring H1"},
		{"start with other data", "POST", "/v1/releases", `{"release":"shop-4.2.0","service":"shop","version":"4.2.1"}`, "", 409, "already exists"},
		{"missing token", "POST", "/v1/releases/shop-4.2.0/events", `{"event":"halted"}`, "-", 401, "bearer token"},
		{"wrong token", "POST", "/v1/releases", startShop, "Bearer nope", 401, "bearer token"},
		{"oversize", "POST", "/v1/releases", big, "", 413, "larger than"},
		{"method", "PUT", "/v1/releases/shop-4.2.0", "{}", "", 405, "not allowed"},
		{"method on events", "GET", "/v1/releases/shop-4.2.0/events", "", "", 405, "not allowed"},
		{"bad limit", "GET", "/v1/releases?limit=0", "", "", 400, "limit: "},
		{"bad status", "GET", "/v1/releases?status=done", "", "", 400, "status: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authz := "Bearer " + testToken
			switch tt.authz {
			case "-":
				authz = ""
			case "":
			default:
				authz = tt.authz
			}
			var got ErrorResponse
			code := e.doAuth(t, tt.method, tt.path, tt.body, authz, &got)
			if code != tt.want || !strings.Contains(got.Error, tt.wantErr) {
				t.Fatalf("%d %q, want %d containing %q", code, got.Error, tt.want, tt.wantErr)
			}
		})
	}
	// Nothing above changed the release or reached the stream.
	var r Release
	if e.do(t, "GET", "/v1/releases/shop-4.2.0", "", &r); r.Status != StatusWatching || len(r.Events) != 1 {
		t.Errorf("release changed by bad requests: %+v", r)
	}
	if n := len(streamMsgs(t, e.bus.JS)); n != 1 {
		t.Errorf("%d messages on the stream, want 1", n)
	}
	// Reads need no token; unknown fields are refused by name.
	if code := e.doAuth(t, "GET", "/v1/releases/shop-4.2.0", "", "", nil); code != 200 {
		t.Errorf("GET without token: %d", code)
	}
	var er ErrorResponse
	if code := e.do(t, "POST", "/v1/releases", `{"release":"api-1","service":"api","version":"1","colour":"blue"}`, &er); code != 400 || !strings.Contains(er.Error, `unknown field "colour"`) {
		t.Errorf("unknown field on start: %d %q", code, er.Error)
	}
	if code := e.do(t, "POST", "/v1/releases/shop-4.2.0/events", `{"event":"halted","reason":"x"}`, &er); code != 400 || !strings.Contains(er.Error, `unknown field "reason"`) {
		t.Errorf("unknown field on event: %d %q", code, er.Error)
	}
}

func TestList(t *testing.T) {
	e := newEnv(t, t.TempDir())
	for _, body := range []string{
		`{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`,
		`{"release":"api-1","service":"api","version":"1","ring":"H1"}`,
		`{"release":"shop-2","service":"shop","version":"2","ring":"H1"}`,
		`{"release":"shop-3","service":"shop","version":"3"}`,
	} {
		if code := e.do(t, "POST", "/v1/releases", body, nil); code != 201 {
			t.Fatalf("start %s: %d", body, code)
		}
	}
	if code := e.do(t, "POST", "/v1/releases/shop-2/events", `{"event":"halted"}`, nil); code != 200 {
		t.Fatalf("halt: %d", code)
	}
	tests := []struct {
		query string
		want  string
	}{
		{"", "shop-3 shop-2 api-1 shop-1"},
		{"?service=shop", "shop-3 shop-2 shop-1"},
		{"?service=shop&status=watching", "shop-1"},
		{"?status=halted", "shop-2"},
		{"?status=pending", "shop-3"},
		{"?limit=2", "shop-3 shop-2"},
		{"?service=web", ""},
	}
	for _, tt := range tests {
		var got ListResponse
		if code := e.do(t, "GET", "/v1/releases"+tt.query, "", &got); code != 200 {
			t.Fatalf("list %s: %d", tt.query, code)
		}
		var ids []string
		for _, r := range got.Releases {
			ids = append(ids, r.ID)
		}
		if s := strings.Join(ids, " "); s != tt.want {
			t.Errorf("list %q = %q, want %q", tt.query, s, tt.want)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ctx := context.Background()
	if _, _, err := e.store.Create(ctx, StartRequest{Release: "shop-1", Service: "shop", Version: "1", Ring: "H1"}, t0); err != nil {
		t.Fatal(err)
	}
	// Eight writers halt and resume the release in turns; every change
	// that was reported saved must be in the final state.
	var wg sync.WaitGroup
	var mu sync.Mutex
	saved := 0
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for j := range 6 {
				ev := signals.ReleaseEvent{Release: "shop-1", Event: "halted", Time: t0.Add(time.Duration(i*10+j) * time.Second)}
				if j%2 == 1 {
					ev.Event, ev.Ring = "started", "H1"
				}
				_, _, dup, err := e.store.ApplyAs(ctx, ev, Caller{Name: "sre", MayResume: true})
				switch {
				case errors.Is(err, ErrConflict):
				case err != nil:
					errs <- err
				case !dup:
					mu.Lock()
					saved++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r, err := e.store.Get(ctx, "shop-1")
	if err != nil {
		t.Fatal(err)
	}
	if saved == 0 || len(r.Events) != 1+saved {
		t.Fatalf("%d events, want %d: a concurrent write was lost", len(r.Events), 1+saved)
	}
}

func TestBearerAuth(t *testing.T) {
	tests := []struct {
		token, header string
		want          bool
	}{
		{"s3cret", "Bearer s3cret", true},
		{"s3cret", "Bearer s3cre", false},
		{"s3cret", "bearer s3cret", false},
		{"s3cret", "", false},
		{"", "Bearer ", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/v1/releases", bytes.NewReader(nil))
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		if got := BearerAuth(tt.token)(r); got != tt.want {
			t.Errorf("BearerAuth(%q) with %q = %v, want %v", tt.token, tt.header, got, tt.want)
		}
	}
}

func TestStoreErrors(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ctx := context.Background()
	if _, err := e.store.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown = %v, want ErrNotFound", err)
	}
	if _, err := e.store.Get(ctx, "a..b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get invalid id = %v, want ErrNotFound", err)
	}
	if _, _, _, err := e.store.Apply(ctx, signals.ReleaseEvent{Release: "nope", Event: "halted", Time: t0}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Apply unknown = %v, want ErrNotFound", err)
	}
	if _, _, _, err := e.store.Apply(ctx, signals.ReleaseEvent{Release: "nope", Event: "halted"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Apply without time = %v, want ErrInvalid", err)
	}
}

// A publish that fails after the state was saved answers 503, and the
// client's retry publishes the event once.
func TestPublishFailureRepairedByRetry(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ctx := context.Background()
	if code := e.do(t, "POST", "/v1/releases", startShop, nil); code != 201 {
		t.Fatalf("start: %d", code)
	}
	if err := e.bus.JS.DeleteStream(ctx, bus.StreamReleases); err != nil {
		t.Fatal(err)
	}
	var errResp ErrorResponse
	if code := e.do(t, "POST", "/v1/releases/shop-4.2.0/events", `{"event":"halted"}`, &errResp); code != 503 ||
		!strings.Contains(errResp.Error, "retry") {
		t.Fatalf("halt without a stream: %d %q, want 503 asking to retry", code, errResp.Error)
	}
	if _, err := e.bus.JS.CreateStream(ctx, jetstream.StreamConfig{
		Name: bus.StreamReleases, Subjects: []string{"releases.>"}, Duplicates: time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var r Release
		if code := e.do(t, "POST", "/v1/releases/shop-4.2.0/events", `{"event":"halted"}`, &r); code != 200 || len(r.Events) != 2 {
			t.Fatalf("retried halt: %d, %d events", code, len(r.Events))
		}
	}
	msgs := streamMsgs(t, e.bus.JS)
	if len(msgs) != 1 || msgs[0].ev.Event != "halted" || msgs[0].ev.Ring != "H1" {
		t.Fatalf("stream after retries: %+v, want the halt once", msgs)
	}
}

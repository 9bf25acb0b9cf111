package playreviews

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

const (
	pkg   = "com.example.shop"
	token = "ya29.c.b0AXv0zTPq7Rk4mN2fWQx9LsE3bUhY6oJd8cVgA1tZpF5rK"
)

// fakePlay is Google's token endpoint and reviews.list for one app, paged
// by the fixtures; status, when set, answers reviews.list with it.
type fakePlay struct {
	mu       sync.Mutex
	requests []*http.Request
	status   int
	extra    string // a newer page 1 served after Add
}

func (f *fakePlay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Clone(context.Background()))
	if r.URL.Path == "/token" {
		_ = r.ParseForm()
		if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.Form.Get("assertion") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + token + `","expires_in":3599,"token_type":"Bearer"}`))
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/androidpublisher/v3/applications/"+pkg+"/reviews" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if f.status != 0 {
		w.Header().Set("Retry-After", "17")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"error":{"code":` + itoa(f.status) + `,"message":"The caller does not have permission","errors":[{"message":"The caller does not have permission","domain":"global","reason":"forbidden"}],"status":"PERMISSION_DENIED"}}`))
		return
	}
	name := "page1.json"
	if r.URL.Query().Get("token") != "" {
		name = "page2.json"
	}
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if name == "page1.json" && f.extra != "" {
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		var extra any
		_ = json.Unmarshal([]byte(f.extra), &extra)
		doc["reviews"] = append([]any{extra}, doc["reviews"].([]any)...)
		body, _ = json.Marshal(doc)
	}
	_, _ = w.Write(body)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

func newSource(t *testing.T, f *fakePlay) *Source {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	keyOnce.Do(func() { key, _ = rsa.GenerateKey(rand.Reader, 2048) })
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "shop-release", "private_key_id": "8f3c2a1b",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "reviews@shop-release.iam.gserviceaccount.com", "token_uri": srv.URL + "/token",
	})
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	spec := crawlertest.Spec(t, `
name: play-shop
type: playreviews
service: shop-android
options:
  package_name: `+pkg+`
  service_account_file: `+file+`
  endpoint: `+srv.URL+`
  max_results: 2
`)
	s, err := New(spec, crawlers.Deps{Now: func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPollsPagesWithVersions(t *testing.T) {
	f := &fakePlay{}
	s := newSource(t, f)
	ctx := context.Background()
	p1, err := s.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !p1.More || len(p1.Posts) != 2 {
		t.Fatalf("page 1: %d posts, More %v", len(p1.Posts), p1.More)
	}
	p2, err := s.Poll(ctx, p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if p2.More || len(p2.Posts) != 1 || p2.Skipped.Total() != 1 {
		t.Fatalf("page 2: %d posts, %v skipped, More %v", len(p2.Posts), p2.Skipped, p2.More)
	}
	got := append(p1.Posts, p2.Posts...)
	first := got[0]
	if first.AppVersion != "4.2.0" || first.Rating != 1 || first.Lang != "ko" || first.Reach != 7 ||
		first.Text != "4.2.0 업데이트 후 로그인이 안 돼요. 계속 튕깁니다" ||
		!first.Time.Equal(time.Unix(1795512600, 250000000)) || first.Service != "shop-android" ||
		first.URL != "https://play.google.com/store/apps/details?id="+pkg+"&reviewId="+first.ID {
		t.Errorf("first post %+v", first)
	}
	if got[1].Text != "Checkout broken\nPayment spins forever since the update. Uninstalling." || got[1].AppVersion != "4.2.0" {
		t.Errorf("second post %+v", got[1])
	}
	if got[2].AppVersion != "4.1.2" || got[2].Lang != "en" {
		t.Errorf("third post %+v", got[2])
	}
	for _, p := range got {
		if err := p.Validate(); err != nil {
			t.Errorf("post %s: %v", p.ID, err)
		}
	}

	// The next run sees nothing new, then only a newer review.
	p3, err := s.Poll(ctx, p2.Cursor)
	if err != nil || len(p3.Posts) != 0 || p3.More {
		t.Fatalf("rerun: %d posts, More %v, err %v", len(p3.Posts), p3.More, err)
	}
	f.mu.Lock()
	f.extra = `{"reviewId":"gp:new","authorName":"Sam","comments":[{"userComment":{"text":"\tCrash on launch","lastModified":{"seconds":"1795513000"},"starRating":1,"reviewerLanguage":"en","appVersionName":"4.2.0"}}]}`
	f.mu.Unlock()
	p4, err := s.Poll(ctx, p3.Cursor)
	if err != nil || len(p4.Posts) != 1 || p4.Posts[0].ID != "gp:new" || p4.More {
		t.Fatalf("new review: %+v, err %v", p4, err)
	}
}

func TestPromises(t *testing.T) {
	crawlertest.CheckPoller(t, newSource(t, &fakePlay{}))
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		check  func(error) bool
	}{
		{http.StatusForbidden, func(err error) bool { var p *crawlers.PermanentError; return errors.As(err, &p) }},
		{http.StatusTooManyRequests, func(err error) bool {
			var r *crawlers.RateLimitError
			return errors.As(err, &r) && r.RetryAfter == 17*time.Second
		}},
		{http.StatusInternalServerError, func(err error) bool {
			var p *crawlers.PermanentError
			var r *crawlers.RateLimitError
			return err != nil && !errors.As(err, &p) && !errors.As(err, &r)
		}},
	} {
		s := newSource(t, &fakePlay{status: tc.status})
		_, err := s.Poll(context.Background(), "")
		if !tc.check(err) {
			t.Errorf("status %d: %v (%T)", tc.status, err, err)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("error carries the token: %v", err)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{ServiceAccountFile: "/x"}, "package_name: required"},
		{Options{PackageName: "shop", ServiceAccountFile: "/x"}, "not an application id"},
		{Options{PackageName: pkg}, "service_account_file: required"},
		{Options{PackageName: pkg, ServiceAccountFile: "/x", MaxResults: 500}, "max_results"},
	} {
		if err := tc.o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
	o := Options{PackageName: pkg, ServiceAccountJSON: "{}"}
	if err := o.Validate(); err != nil || o.MaxResults != DefaultMaxResults || o.Pages != DefaultPages || o.Endpoint != DefaultEndpoint {
		t.Errorf("defaults: %+v %v", o, err)
	}
}

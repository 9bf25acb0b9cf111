// Package playtest is a fake Google Play Developer API for tests: Google's
// OAuth token endpoint (JWT bearer grant checked against the service
// account's key) and the edits flow of one app — edits.insert,
// edits.tracks.get/update, edits.commit, edits.delete — with the live
// tracks changed only by a commit, and Google's JSON error bodies
// (replies/*.http).
package playtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Identities of the fake.
const (
	Package = "com.example.shop"
	Email   = "aftershock@shop-release.iam.gserviceaccount.com"
	// Token is the access token the token endpoint hands out.
	Token = "ya29.c.b0AXv0zTPq7Rk4mN2fWQx9LsE3bUhY6oJd8cVgA1tZpF5rK"
)

//go:embed replies/*.http
var replies embed.FS

// One RSA key for the whole test binary: generating one takes long.
var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	keyErr  error
)

// ServiceAccount returns a service account JSON key (the test RSA key) whose
// token_uri is tokenURL, and the key.
func ServiceAccount(t testing.TB, tokenURL string) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() { testKey, keyErr = rsa.GenerateKey(rand.Reader, 2048) })
	k, err := testKey, keyErr
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := json.Marshal(map[string]string{
		"type":                        "service_account",
		"project_id":                  "shop-release",
		"private_key_id":              "8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a",
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                Email,
		"client_id":                   "104518377284559217350",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURL,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/aftershock%40shop-release.iam.gserviceaccount.com",
		"universe_domain":             "googleapis.com",
	})
	return sa, k
}

// Call is one request the fake received, with credentials redacted.
type Call struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

func (c Call) String() string {
	var names []string
	for k := range c.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", c.Method, c.Path)
	if c.Query != "" {
		fmt.Fprintf(&b, "?%s", c.Query)
	}
	b.WriteString("\n")
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(c.Header[k], ","))
	}
	if c.Body != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.Body))
	}
	return b.String()
}

// Server is Google's OAuth token endpoint and the Play Developer API's
// edits for one app: edits.insert, edits.tracks.get/update, edits.commit,
// edits.delete, with the live tracks changed only by a commit.
type Server struct {
	t testing.TB
	// Pub is the service account key the token endpoint checks.
	Pub *rsa.PublicKey

	mu     sync.Mutex
	live   map[string]json.RawMessage // track name → Track JSON
	edits  map[string]map[string]json.RawMessage
	nextID int
	calls  []Call
	tokens int
	fail   map[string][]string // "METHOD op" → fixtures, op in token, insert, get, update, commit
}

// New returns a fake whose production track is the Track JSON production;
// set Pub to the service account's public key before serving it.
func New(t testing.TB, production string) *Server {
	return &Server{t: t, live: map[string]json.RawMessage{"production": json.RawMessage(production)},
		edits: map[string]map[string]json.RawMessage{}, nextID: 16974226534760413493 % 1000000, fail: map[string][]string{}}
}

// TrackInProgress is a production track with a 5% staged rollout of 4.2.0 over 4.1.2.
const TrackInProgress = `{"track":"production","releases":[
 {"name":"4.2.0","versionCodes":["4203"],"status":"inProgress","userFraction":0.05,"releaseNotes":[{"language":"en-US","text":"Faster checkout."}]},
 {"name":"4.1.2","versionCodes":["4120"],"status":"completed","releaseNotes":[{"language":"en-US","text":"Bug fixes."}]}]}`

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	h := r.Header.Clone()
	auth := h.Get("Authorization")
	if auth != "" {
		h.Set("Authorization", "Bearer <redacted access token>")
	}
	for _, k := range []string{"Accept-Encoding", "X-Goog-Api-Client", "X-Cloud-Trace-Context", "Traceparent"} {
		h.Del(k)
	}
	if h.Get("Content-Length") != "" {
		h.Set("Content-Length", "<n>")
	}
	shown := string(body)
	if r.URL.Path == "/token" {
		shown = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=<redacted RS256 JWT>"
	}
	f.calls = append(f.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: shown, Header: h})

	if r.URL.Path == "/token" {
		if f.failNext(w, r, "POST token") {
			return
		}
		if err := f.checkAssertion(body, "http://"+r.Host+"/token"); err != nil {
			f.t.Errorf("token request: %v", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
			return
		}
		f.tokens++
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"access_token":"`+Token+`","expires_in":3599,"token_type":"Bearer"}`)
		return
	}
	if auth != "Bearer "+Token {
		f.reply(w, r, "401-unauthenticated")
		return
	}
	prefix := "/androidpublisher/v3/applications/" + Package + "/edits"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	switch {
	case r.Method == http.MethodPost && rest == "":
		if f.failNext(w, r, "POST insert") {
			return
		}
		f.nextID++
		id := fmt.Sprint(f.nextID)
		tracks := map[string]json.RawMessage{}
		for k, v := range f.live {
			tracks[k] = v
		}
		f.edits[id] = tracks
		fmt.Fprintf(w, `{"id":%q,"expiryTimeSeconds":"1795000000"}`, id)
	case r.Method == http.MethodGet && strings.Contains(rest, "/tracks/"):
		id, track := split(rest)
		if f.failNext(w, r, "GET get") {
			return
		}
		tr, ok := f.edits[id][track]
		if !ok {
			f.reply(w, r, "410-edit-deleted")
			return
		}
		_, _ = w.Write(tr)
	case r.Method == http.MethodPut && strings.Contains(rest, "/tracks/"):
		id, track := split(rest)
		if f.failNext(w, r, "PUT update") {
			return
		}
		if _, ok := f.edits[id]; !ok {
			f.reply(w, r, "410-edit-deleted")
			return
		}
		f.edits[id][track] = json.RawMessage(body)
		_, _ = w.Write(body)
	case r.Method == http.MethodPost && strings.HasSuffix(rest, ":commit"):
		id := strings.TrimSuffix(strings.TrimPrefix(rest, "/"), ":commit")
		if f.failNext(w, r, "POST commit") {
			return
		}
		tracks, ok := f.edits[id]
		if !ok {
			f.reply(w, r, "400-edit-committed")
			return
		}
		f.live = tracks
		delete(f.edits, id)
		fmt.Fprintf(w, `{"id":%q,"expiryTimeSeconds":"1795000000"}`, id)
	case r.Method == http.MethodDelete:
		delete(f.edits, strings.TrimPrefix(rest, "/"))
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func split(rest string) (id, track string) {
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if len(parts) != 3 {
		return "", ""
	}
	return parts[0], parts[2]
}

func (f *Server) failNext(w http.ResponseWriter, r *http.Request, key string) bool {
	s := f.fail[key]
	if len(s) == 0 {
		return false
	}
	f.fail[key] = s[1:]
	f.reply(w, r, s[0])
	return true
}

// checkAssertion verifies the JWT bearer grant as Google's token endpoint
// does: RS256 by the service account's key, iss the account, aud the
// token URI, scope androidpublisher.
func (f *Server) checkAssertion(body []byte, aud string) error {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return err
	}
	if g := form.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return fmt.Errorf("grant_type %q", g)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(form.Get("assertion"), claims, func(*jwt.Token) (any, error) { return f.Pub, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(Email), jwt.WithAudience(aud), jwt.WithExpirationRequired()); err != nil {
		return err
	}
	if claims["scope"] != "https://www.googleapis.com/auth/androidpublisher" {
		return fmt.Errorf("scope %v", claims["scope"])
	}
	return nil
}

func (f *Server) reply(w http.ResponseWriter, r *http.Request, fixture string) {
	raw, err := replies.ReadFile("replies/" + fixture + ".http")
	if err != nil {
		f.t.Errorf("fixture: %v", err)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), r)
	if err != nil {
		f.t.Errorf("fixture %s: %v", fixture, err)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Fail answers the next calls of op ("POST token", "POST insert",
// "GET get", "PUT update", "POST commit") with the fixtures, one per call
// (403-permission, 429-quota, 500-backend, 400-bad-request,
// 400-edit-committed, 410-edit-deleted).
func (f *Server) Fail(op string, fixtures ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op] = append(f.fail[op], fixtures...)
}

// Tokens is how many access tokens were handed out.
func (f *Server) Tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens
}

// Calls returns the requests received, credentials redacted.
func (f *Server) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Release returns the live production release named name.
func (f *Server) Release(name string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var tr struct {
		Releases []map[string]any `json:"releases"`
	}
	if err := json.Unmarshal(f.live["production"], &tr); err != nil {
		f.t.Fatal(err)
	}
	for _, r := range tr.Releases {
		if r["name"] == name {
			return r
		}
	}
	return nil
}

// SetProduction replaces the live production track (a staged rollout
// moving on, as a person or CI would raise its userFraction).
func (f *Server) SetProduction(track string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live["production"] = json.RawMessage(track)
}

// Edits is how many edits are open (inserted and neither committed nor
// deleted).
func (f *Server) Edits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.edits)
}

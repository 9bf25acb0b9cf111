// Package asctest is a fake App Store Connect for tests: one app, one
// version and its phased release, ES256 tokens checked as Apple documents,
// JSON:API replies and error bodies (replies/*.http) as Apple sends them.
package asctest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"embed"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Identities of the fake, shaped like real ones.
const (
	Issuer    = "57246542-96fe-1a63-e053-0824d011072a"
	KeyID     = "2X9R4HXF34"
	AppID     = "1234567890"
	Version   = "4.2.0"
	VersionID = "8d0b3c1e-5a4f-4c8e-9a1d-2b6f7e3c9d10"
	PhasedID  = "3b7f5a2e-1c9d-4e8f-a6b5-0d2c4e6f8a1b"
)

// Phased release states.
const (
	StateInactive = "INACTIVE"
	StateActive   = "ACTIVE"
	StatePaused   = "PAUSED"
	StateComplete = "COMPLETE"
)

//go:embed replies/*.http
var replies embed.FS

// NewKey writes a fresh P-256 key as a .p8 file (PKCS#8 PEM, as Apple
// issues them) and returns its path and the key.
func NewKey(t testing.TB) (string, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "AuthKey_"+KeyID+".p8")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, k
}

// Call is one request the fake received, with the token redacted.
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
		fmt.Fprintf(&b, "\n%s\n", c.Body)
	}
	return b.String()
}

// Server is App Store Connect for one app with one version and its phased
// release: it checks every token as Apple does (ES256, kid, iss, aud,
// lifetime at most 20 minutes) and answers in JSON:API. fail scripts
// replies: method+" "+path → fixture names used one per matching call.
type Server struct {
	t   testing.TB
	pub *ecdsa.PublicKey

	mu       sync.Mutex
	state    string // phased release state; "" means the version has none
	day      int
	calls    []Call
	fail     map[string][]string
	rejected map[string]bool // tokens refused with 401 once
	// ExpireFirst refuses the first token seen as expired (401).
	ExpireFirst bool
	// Now is the time tokens are checked against (default time.Now).
	Now func() time.Time
}

// New returns a fake whose phased release is in state ("" for a version
// without one), on day 3; serve it with httptest.NewServer.
func New(t testing.TB, pub *ecdsa.PublicKey, state string) *Server {
	return &Server{t: t, pub: pub, state: state, day: 3, fail: map[string][]string{}, rejected: map[string]bool{}}
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	h := r.Header.Clone()
	tok := strings.TrimPrefix(h.Get("Authorization"), "Bearer ")
	h.Set("Authorization", "Bearer <redacted ES256 JWT>")
	h.Del("Accept-Encoding")
	if h.Get("Content-Length") != "" {
		h.Set("Content-Length", "<n>")
	}
	f.calls = append(f.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Header: h})

	if err := f.CheckToken(tok); err != nil || f.rejected[tok] {
		f.t.Logf("fake ASC refuses the token: %v", err)
		f.reply(w, r, "401-not-authorized")
		return
	}
	if f.ExpireFirst {
		f.ExpireFirst = false
		f.rejected[tok] = true
		f.reply(w, r, "401-not-authorized")
		return
	}
	key := r.Method + " " + r.URL.Path
	if s := f.fail[key]; len(s) > 0 {
		f.fail[key] = s[1:]
		f.reply(w, r, s[0])
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Rate-Limit", "user-hour-lim:3600;user-hour-rem:3580;")
	base := "https://api.appstoreconnect.apple.com"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/apps/"+AppID+"/appStoreVersions":
		q := r.URL.Query()
		var data []any
		if q.Get("filter[versionString]") == Version && q.Get("filter[platform]") == "IOS" {
			data = append(data, map[string]any{
				"type": "appStoreVersions", "id": VersionID,
				"attributes": map[string]any{"platform": "IOS", "versionString": Version, "appStoreState": "READY_FOR_SALE"},
				"links":      map[string]any{"self": base + "/v1/appStoreVersions/" + VersionID},
			})
		}
		writeJSON(w, map[string]any{
			"data":  data,
			"links": map[string]any{"self": base + r.URL.RequestURI()},
			"meta":  map[string]any{"paging": map[string]any{"total": len(data), "limit": 2}},
		})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/appStoreVersions/"+VersionID+"/appStoreVersionPhasedRelease":
		doc := map[string]any{"data": nil, "links": map[string]any{"self": base + r.URL.Path}}
		if f.state != "" {
			doc["data"] = f.resource(base)
		}
		writeJSON(w, doc)
	case r.Method == http.MethodPatch && r.URL.Path == "/v1/appStoreVersionPhasedReleases/"+PhasedID:
		var req struct {
			Data struct {
				Type       string            `json:"type"`
				ID         string            `json:"id"`
				Attributes map[string]string `json:"attributes"`
			} `json:"data"`
		}
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &req) != nil ||
			req.Data.Type != "appStoreVersionPhasedReleases" || req.Data.ID != PhasedID || len(req.Data.Attributes) != 1 {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]any{"errors": []any{map[string]any{"status": "400", "code": "PARAMETER_ERROR.INVALID", "title": "A parameter has an invalid value", "detail": "bad request body " + string(body)}}})
			return
		}
		next := req.Data.Attributes["phasedReleaseState"]
		allowed := (f.state == StateActive && next == StatePaused) || (f.state == StatePaused && next == StateActive) || f.state == next
		if !allowed {
			f.reply(w, r, "409-state-error")
			return
		}
		f.state = next
		writeJSON(w, map[string]any{"data": f.resource(base), "links": map[string]any{"self": base + r.URL.Path}})
	default:
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]any{"errors": []any{map[string]any{"status": "404", "code": "NOT_FOUND", "title": "The specified resource does not exist", "detail": "The path provided does not match a defined resource type."}}})
	}
}

func (f *Server) resource(base string) map[string]any {
	return map[string]any{
		"type": "appStoreVersionPhasedReleases", "id": PhasedID,
		"attributes": map[string]any{"phasedReleaseState": f.state, "startDate": "2026-11-21T07:00:00Z", "totalPauseDuration": 0, "currentDayNumber": f.day},
		"links":      map[string]any{"self": base + "/v1/appStoreVersionPhasedReleases/" + PhasedID},
	}
}

// CheckToken verifies a bearer token the way App Store Connect documents.
func (f *Server) CheckToken(tok string) error {
	var claims jwt.RegisteredClaims
	parsed, err := jwt.ParseWithClaims(tok, &claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != KeyID {
			return nil, fmt.Errorf("kid %v", t.Header["kid"])
		}
		if t.Header["typ"] != "JWT" {
			return nil, fmt.Errorf("typ %v", t.Header["typ"])
		}
		return f.pub, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience("appstoreconnect-v1"), jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(f.now))
	if err != nil {
		return err
	}
	if !parsed.Valid || claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 20*time.Minute {
		return fmt.Errorf("lifetime over 20 minutes: %v → %v", claims.IssuedAt, claims.ExpiresAt)
	}
	return nil
}

func (f *Server) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
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

func writeJSON(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

// Fail answers the next calls to method+" "+path with the fixtures, one
// per call (401-not-authorized, 403-forbidden, 409-state-error,
// 429-rate-limit).
func (f *Server) Fail(methodPath string, fixtures ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[methodPath] = append(f.fail[methodPath], fixtures...)
}

// Calls returns the requests received, tokens redacted.
func (f *Server) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// State is the phased release's state.
func (f *Server) State() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// SetDay moves the phased release to day (as Apple does once a day).
func (f *Server) SetDay(day int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.day = day
}

// SetState sets the phased release's state (e.g. COMPLETE after day 7).
func (f *Server) SetState(state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = state
}

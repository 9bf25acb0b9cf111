package bluesky

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/httpsrc"
	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
)

// XRPC methods the poller calls.
const (
	methodCreateSession  = "com.atproto.server.createSession"
	methodRefreshSession = "com.atproto.server.refreshSession"
	methodSearchPosts    = "app.bsky.feed.searchPosts"
)

// session is a PDS login: the tokens of createSession/refreshSession.
type session struct {
	AccessJwt  string `json:"accessJwt"`
	RefreshJwt string `json:"refreshJwt"`
	DID        string `json:"did"`
	Handle     string `json:"handle"`
}

// auth holds the cached session. createSession is limited to about 30 calls
// per 5 minutes (and a lockout after that), so a session lives as long as
// refreshSession keeps it alive; a new one is made only when there is none or
// the refresh token was refused.
type auth struct {
	mu   sync.Mutex
	sess *session
	// secrets (the app password and the current tokens) are scrubbed from
	// every error message.
	secrets atomic.Pointer[[]string]
}

// xrpcError is an XRPC error body: {"error":"ExpiredToken","message":"..."}.
type xrpcError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// response is a read XRPC answer.
type response struct {
	status int
	header http.Header
	body   []byte
	xerr   xrpcError // set when the body is an XRPC error
}

// expired reports whether the answer says the access (or refresh) token is
// no longer good: the PDS answers 400 ExpiredToken, or 401.
func (r *response) expired() bool {
	switch r.xerr.Error {
	case "ExpiredToken", "InvalidToken":
		return r.status == http.StatusBadRequest || r.status == http.StatusUnauthorized
	}
	return r.status == http.StatusUnauthorized
}

// call makes one XRPC request and reads the answer; bearer is sent as the
// Authorization token when set. A transport failure is the only error.
func (s *Source) call(ctx context.Context, method, nsid string, params url.Values, body any, bearer string) (*response, error) {
	target := s.opts.Service + "/xrpc/" + nsid
	if len(params) > 0 {
		target += "?" + params.Encode()
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("calling %s: %w", nsid, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", nsid, err)
	}
	s.header(req.Header)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", nsid, s.scrub(err))
	}
	defer resp.Body.Close()
	data, err := httpsrc.ReadCapped(resp.Body, MaxBody)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", nsid, s.scrub(err))
	}
	r := &response{status: resp.StatusCode, header: resp.Header, body: data}
	if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(data, &r.xerr)
	}
	return r, nil
}

// authorized calls a read method with the cached session, making or
// renewing the session as needed: a refused access token is refreshed once
// (a new session only if the refresh is refused too) and the call repeated.
func (s *Source) authorized(ctx context.Context, nsid string, params url.Values) (*response, error) {
	sess, err := s.session(ctx, nil)
	if err != nil {
		return nil, err
	}
	r, err := s.call(ctx, http.MethodGet, nsid, params, nil, sess.AccessJwt)
	if err != nil || !r.expired() {
		return r, err
	}
	s.log.Info("access token refused, refreshing the session", "error", r.xerr.Error)
	sess, err = s.session(ctx, sess)
	if err != nil {
		return nil, err
	}
	return s.call(ctx, http.MethodGet, nsid, params, nil, sess.AccessJwt)
}

// session returns the cached session, or renews stale (the session whose
// access token was just refused) by refreshSession, falling back to
// createSession when the refresh token is refused too. If another call
// already replaced stale, its session is returned.
func (s *Source) session(ctx context.Context, stale *session) (*session, error) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	cur := s.auth.sess
	if cur != nil && cur != stale {
		return cur, nil
	}
	if cur != nil {
		next, err := s.refresh(ctx, cur)
		if err == nil {
			s.auth.set(next, s.opts.AppPassword)
			return next, nil
		}
		var pe *crawlers.PermanentError
		if !errors.As(err, &pe) {
			return nil, err // rate limited or unreachable: keep the refresh token
		}
		s.log.Info("refresh token refused, signing in again", "err", err)
		s.auth.sess = nil
	}
	next, err := s.create(ctx)
	if err != nil {
		return nil, err
	}
	s.auth.set(next, s.opts.AppPassword)
	return next, nil
}

// set caches sess (mu held).
func (a *auth) set(sess *session, password string) {
	a.sess = sess
	a.secrets.Store(&[]string{password, sess.AccessJwt, sess.RefreshJwt})
}

// create signs in with the app password.
func (s *Source) create(ctx context.Context) (*session, error) {
	s.log.Info("creating a session", "identifier", s.opts.Identifier)
	body := map[string]string{"identifier": s.opts.Identifier, "password": s.opts.AppPassword}
	r, err := s.call(ctx, http.MethodPost, methodCreateSession, nil, body, "")
	if err != nil {
		return nil, fmt.Errorf("signing in as %s: %w", s.opts.Identifier, err)
	}
	return s.readSession(r, fmt.Sprintf("signing in as %s", s.opts.Identifier))
}

// refresh renews a session with its refresh token.
func (s *Source) refresh(ctx context.Context, sess *session) (*session, error) {
	r, err := s.call(ctx, http.MethodPost, methodRefreshSession, nil, nil, sess.RefreshJwt)
	if err != nil {
		return nil, fmt.Errorf("refreshing the session: %w", err)
	}
	if r.status == http.StatusOK {
		return s.readSession(r, "refreshing the session")
	}
	err = s.statusError("refreshing the session", r)
	if r.expired() {
		// Refused: a new session is the way out, not a slow retry.
		return nil, &crawlers.PermanentError{Err: err}
	}
	return nil, err
}

// readSession decodes a session answer.
func (s *Source) readSession(r *response, doing string) (*session, error) {
	if r.status != http.StatusOK {
		return nil, s.statusError(doing, r)
	}
	var sess session
	if err := json.Unmarshal(r.body, &sess); err != nil {
		return nil, fmt.Errorf("%s: answer is not a session: %w", doing, s.scrub(err))
	}
	if sess.AccessJwt == "" || sess.RefreshJwt == "" {
		return nil, fmt.Errorf("%s: answer has no accessJwt or refreshJwt", doing)
	}
	return &sess, nil
}

// statusError turns a non-200 answer into the error the runner acts on:
// 429 waits for the reset, 408 and 5xx
// are retried, other 4xx are permanent. The message quotes the XRPC error,
// or the text of an HTML error page, with hints for the known cases.
func (s *Source) statusError(doing string, r *response) error {
	msg := fmt.Sprintf("%d %s", r.status, http.StatusText(r.status))
	switch {
	case r.xerr.Error != "" || r.xerr.Message != "":
		msg += ": " + s.scrubString(plaintext.Truncate(plaintext.Collapse(strings.TrimSpace(r.xerr.Error+" "+r.xerr.Message)), 300))
	case len(r.body) > 0:
		if text := pageText(r.body); text != "" {
			msg += ": " + s.scrubString(plaintext.Truncate(text, 200))
		}
	}
	switch {
	case r.status == http.StatusForbidden && r.xerr.Error == "":
		msg += " (an administrative block, as the public AppView answers searchPosts; ask through an authenticated PDS, options.service, or use options.stream)"
	case r.xerr.Error == "BadQueryString":
		msg += " (check options.query)"
	case r.xerr.Error == "AuthFactorTokenRequired":
		msg += " (the account asks for an email code: use an app password)"
	case r.status == http.StatusUnauthorized:
		msg += " (check options.identifier and options.app_password)"
	}
	wait, _ := httpsrc.RetryAfter(r.header.Get("Retry-After"), s.now())
	if rate := rateLimit(r.header, s.now()); rate != nil && !rate.Reset.IsZero() {
		wait = max(wait, rate.Reset.Sub(s.now()))
	}
	code := r.status
	if r.xerr.Error == "RateLimitExceeded" {
		code = http.StatusTooManyRequests // whatever status it came with
	}
	return httpsrc.StatusError(code, wait, fmt.Errorf("%s: %s", doing, msg))
}

// scrub keeps the app password and tokens out of an error.
func (s *Source) scrub(err error) error {
	msg := err.Error()
	if scrubbed := s.scrubString(msg); scrubbed != msg {
		return errors.New(scrubbed)
	}
	return err
}

func (s *Source) scrubString(msg string) string {
	secrets := []string{s.opts.AppPassword}
	if p := s.auth.secrets.Load(); p != nil {
		secrets = *p
	}
	for _, secret := range secrets {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return msg
}

// rateLimit reads the RateLimit-Limit/Remaining/Reset headers (Reset in
// epoch seconds; a small value is read as seconds from now, as the IETF
// draft has it). Without RateLimit-Limit the limit comes from
// RateLimit-Policy ("3000;w=300"). It returns nil without the headers.
func rateLimit(h http.Header, now time.Time) *crawlers.RateLimit {
	remaining, err := strconv.Atoi(strings.TrimSpace(h.Get("RateLimit-Remaining")))
	if err != nil {
		return nil
	}
	rl := &crawlers.RateLimit{Remaining: remaining}
	if limit, err := strconv.Atoi(strings.TrimSpace(h.Get("RateLimit-Limit"))); err == nil {
		rl.Limit = limit
	} else {
		policy, _, _ := strings.Cut(h.Get("RateLimit-Policy"), ";")
		rl.Limit, _ = strconv.Atoi(strings.TrimSpace(policy))
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("RateLimit-Reset")), 10, 64); err == nil && secs > 0 {
		if secs < 1_000_000_000 {
			rl.Reset = now.Add(time.Duration(secs) * time.Second)
		} else {
			rl.Reset = time.Unix(secs, 0).UTC()
		}
	}
	return rl
}

package appstore

import (
	"crypto/ecdsa"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audience is the aud claim App Store Connect requires.
const Audience = "appstoreconnect-v1"

// TokenLifetime is how long a minted token is valid. Apple refuses tokens
// whose expiry is more than 20 minutes after their issue time.
const TokenLifetime = 19 * time.Minute

// renewBefore is how long before expiry a cached token is replaced.
const renewBefore = 2 * time.Minute

// signer mints and caches ES256 tokens for one API key.
type signer struct {
	issuer string
	keyID  string
	key    *ecdsa.PrivateKey
	now    func() time.Time

	mu  sync.Mutex
	tok string
	exp time.Time
}

// token returns a valid token, minting a new one when the cached one is
// within renewBefore of expiry.
func (s *signer) token() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.tok != "" && now.Before(s.exp.Add(-renewBefore)) {
		return s.tok, nil
	}
	exp := now.Add(TokenLifetime)
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": s.issuer,
		"iat": now.Unix(),
		"exp": exp.Unix(),
		"aud": Audience,
	})
	t.Header["kid"] = s.keyID
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("signing the App Store Connect token: %w", err)
	}
	s.tok, s.exp = signed, exp
	return signed, nil
}

// drop forgets the cached token (after a 401), so the next call mints one.
func (s *signer) drop(tok string) {
	s.mu.Lock()
	if s.tok == tok {
		s.tok = ""
	}
	s.mu.Unlock()
}

package appstore

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aftershock/aftershock/deploy/appstore/asctest"
)

// The token as minted: ES256 with the key id, issuer, audience and a
// lifetime under App Store Connect's 20-minute limit; and the fake refuses
// what Apple refuses, so the tests above could fail.
func TestTokenClaimsAndRefusals(t *testing.T) {
	keyFile, key := asctest.NewKey(t)
	n := newNotifier(t, config(keyFile, "http://127.0.0.1:1"))
	tok, err := n.sign.token()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %d parts", len(parts))
	}
	var header, claims map[string]any
	for i, v := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	if header["alg"] != "ES256" || header["kid"] != asctest.KeyID || header["typ"] != "JWT" {
		t.Errorf("header %v", header)
	}
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	if claims["iss"] != asctest.Issuer || claims["aud"] != "appstoreconnect-v1" || iat != float64(testNow.Unix()) || exp-iat != 19*60 {
		t.Errorf("claims %v (lifetime %gs)", claims, exp-iat)
	}

	f := newFake(t, &key.PublicKey, StateActive)
	sign := func(method jwt.SigningMethod, k any, kid string, c jwt.MapClaims) string {
		tk := jwt.NewWithClaims(method, c)
		tk.Header["kid"] = kid
		s, err := tk.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": asctest.Issuer, "iat": testNow.Unix(), "exp": testNow.Add(19 * time.Minute).Unix(), "aud": "appstoreconnect-v1"}
	}
	_, other := asctest.NewKey(t)
	for name, bad := range map[string]string{
		"21-minute lifetime": sign(jwt.SigningMethodES256, key, asctest.KeyID, func() jwt.MapClaims { c := good(); c["exp"] = testNow.Add(21 * time.Minute).Unix(); return c }()),
		"expired": sign(jwt.SigningMethodES256, key, asctest.KeyID, func() jwt.MapClaims {
			c := good()
			c["iat"], c["exp"] = testNow.Add(-30*time.Minute).Unix(), testNow.Add(-11*time.Minute).Unix()
			return c
		}()),
		"wrong audience": sign(jwt.SigningMethodES256, key, asctest.KeyID, func() jwt.MapClaims { c := good(); c["aud"] = "appstoreconnect-v2"; return c }()),
		"wrong issuer":   sign(jwt.SigningMethodES256, key, asctest.KeyID, func() jwt.MapClaims { c := good(); c["iss"] = "someone"; return c }()),
		"wrong key id":   sign(jwt.SigningMethodES256, key, "AAAAAAAAAA", good()),
		"another key":    sign(jwt.SigningMethodES256, other, asctest.KeyID, good()),
		"HS256":          sign(jwt.SigningMethodHS256, []byte("secret"), asctest.KeyID, good()),
	} {
		if err := f.CheckToken(bad); err == nil {
			t.Errorf("%s: the fake accepted it", name)
		}
	}
	if err := f.CheckToken(sign(jwt.SigningMethodES256, key, asctest.KeyID, good())); err != nil {
		t.Errorf("a good token refused: %v", err)
	}
}

package logic

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/protocol"
)

// FuzzAuthorize: any Authorization header signs in as the API key only
// when it carries that key, as a token only when the verifier accepts it,
// and is otherwise refused with 401 and a message that repeats nothing of
// what was sent.
func FuzzAuthorize(f *testing.F) {
	const key = "fuzz-api-key"
	secret := []byte("fuzz-secret-0123456789abcdef0123456789")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	v, err := auth.New(auth.Config{HMACSecret: secret, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	for _, h := range []string{
		"Bearer " + key, "bearer  " + key + " ", "Bearer " + key + "x", "Basic " + key, "Bearer", "",
		"Bearer " + sign(jwt.MapClaims{"sub": "m", "role": "moderator", "exp": now.Add(time.Hour).Unix()}),
		"Bearer " + sign(jwt.MapClaims{"sub": "m", "role": "admin", "exp": now.Add(-time.Hour).Unix()}),
		"Bearer a.b.c", "Bearer ..", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
	} {
		f.Add(h)
	}
	l := &Logic{cfg: Config{Verifier: v, PublicID: v.PublicID}}
	l.SetAPIKeys([]string{key})
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/v1/whoami", nil)
		r.Header.Set("Authorization", header)
		p, err := l.authorize(r)
		given := r.Header.Get("Authorization") // as the request carries it
		value := ""
		if len(given) >= 7 && strings.EqualFold(given[:7], "Bearer ") {
			value = strings.TrimSpace(given[7:])
		}
		if err == nil {
			switch {
			case p.viaKey() && value != key:
				t.Fatalf("%q signed in as the API key", header)
			case !p.viaKey():
				if _, verr := v.Verify(value); verr != nil || p.publicID == "" {
					t.Fatalf("%q signed in as a token the verifier refuses (%v)", header, verr)
				}
			}
			return
		}
		var he *httpError
		if !errors.As(err, &he) || he.status != 401 || he.err.Code != protocol.CodeUnauthorized {
			t.Fatalf("%q: %v, want a 401 unauthorized", header, err)
		}
		if value == key {
			t.Fatalf("the key itself was refused: %v", err)
		}
		if len(value) >= 16 && strings.Contains(he.err.Message, value) {
			t.Fatalf("the refusal %q repeats the credential", he.err.Message)
		}
	})
}

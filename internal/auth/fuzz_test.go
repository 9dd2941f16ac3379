package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary strings to Verify: it must not panic, must
// refuse with one of its sentinels and an error that quotes no token
// content, and anything it accepts must be a well-formed Identity. The
// seeds include genuine tokens (the clock is fixed, so they stay valid),
// which lets the fuzzer mutate headers and claims of real tokens.
func FuzzVerify(f *testing.F) {
	v, err := New(Config{HMACSecret: testSecret, Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	seedClaims := []jwt.MapClaims{
		validClaims(),
		{"sub": "u", "exp": testNow.Add(time.Hour).Unix(), "role": "admin", "rooms": []string{"a"}, "name": " \u202eBob\n "},
		{"sub": "u", "exp": testNow.Add(-time.Hour).Unix()},
		{"sub": "u", "exp": testNow.Add(time.Hour).Unix(), "role": "root"},
		{"exp": testNow.Add(time.Hour).Unix()},
		{"sub": "u", "exp": testNow.Add(time.Hour).Unix(), "nbf": testNow.Add(time.Hour).Unix()},
	}
	for _, c := range seedClaims {
		f.Add(sign(f, jwt.SigningMethodHS256, testSecret, c))
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	f.Add(none)
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.x"} {
		f.Add(s)
	}

	sentinels := []error{ErrInvalidToken, ErrExpired, ErrNotYetValid, ErrBadClaims}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Verify(token)
		if err != nil {
			kinds := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					kinds++
				}
			}
			if kinds != 1 {
				t.Fatalf("Verify error %q wraps %d sentinels, want 1", err, kinds)
			}
			if len(token) >= 16 && strings.Contains(err.Error(), token) {
				t.Fatalf("error %q contains the token", err)
			}
			if id.Subject != "" || id.Role != "" {
				t.Fatalf("refused token returned identity %+v", id)
			}
			return
		}
		if id.Subject == "" || len(id.Subject) > MaxSubjectBytes || strings.ContainsFunc(id.Subject, unicode.IsControl) {
			t.Fatalf("accepted subject %q", id.Subject)
		}
		if id.Role != RoleViewer && id.Role != RoleModerator && id.Role != RoleAdmin {
			t.Fatalf("accepted role %q", id.Role)
		}
		if utf8.RuneCountInString(id.Name) > MaxNameRunes || strings.ContainsFunc(id.Name, unicode.IsControl) || strings.TrimSpace(id.Name) != id.Name {
			t.Fatalf("accepted name %q", id.Name)
		}
		if !id.Expires.After(testNow.Add(-DefaultLeeway)) {
			t.Fatalf("accepted a token that expired at %v", id.Expires)
		}
	})
}

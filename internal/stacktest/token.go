package stacktest

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token signs claims with secret (HS256), as an operator's login service
// would. Without an exp claim the token is valid for an hour; give "exp"
// (or delete it from a copy afterwards) to test expiry.
func Token(t testing.TB, secret []byte, claims jwt.MapClaims) string {
	t.Helper()
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = time.Now().Add(time.Hour).Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatalf("stacktest: sign a token: %v", err)
	}
	return s
}

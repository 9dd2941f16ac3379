package auth

import (
	"crypto/elliptic"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyValidTokens(t *testing.T) {
	rsaPriv, edPriv, ecPriv := rsaKey(t), edKey(t), ecKey(t, elliptic.P256())
	cases := []struct {
		name   string
		cfg    Config
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", Config{HMACSecret: testSecret}, jwt.SigningMethodHS256, testSecret},
		{"RS256", Config{PublicKeyPEM: pemOf(t, &rsaPriv.PublicKey)}, jwt.SigningMethodRS256, rsaPriv},
		{"PS256 listed", Config{PublicKeyPEM: pemOf(t, &rsaPriv.PublicKey), Algorithms: []string{"PS256"}}, jwt.SigningMethodPS256, rsaPriv},
		{"EdDSA", Config{PublicKeyPEM: pemOf(t, edPriv.Public())}, jwt.SigningMethodEdDSA, edPriv},
		{"ES256", Config{PublicKeyPEM: pemOf(t, &ecPriv.PublicKey)}, jwt.SigningMethodES256, ecPriv},
		{"HS256 beside RS256", Config{HMACSecret: testSecret, PublicKeyPEM: pemOf(t, &rsaPriv.PublicKey)}, jwt.SigningMethodHS256, testSecret},
		{"RS256 beside HS256", Config{HMACSecret: testSecret, PublicKeyPEM: pemOf(t, &rsaPriv.PublicKey)}, jwt.SigningMethodRS256, rsaPriv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newVerifier(t, c.cfg)
			if !v.Enabled() {
				t.Fatal("Enabled() = false with a key configured")
			}
			claims := validClaims()
			claims["role"] = "moderator"
			claims["rooms"] = []string{"lobby", "game:1"}
			id, err := v.Verify(sign(t, c.method, c.key, claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Identity{
				Subject: "user-42", Name: "Alice", Role: RoleModerator,
				Rooms: []string{"lobby", "game:1"}, Expires: testNow.Add(time.Hour),
			}
			if id.Subject != want.Subject || id.Name != want.Name || id.Role != want.Role ||
				!slices.Equal(id.Rooms, want.Rooms) || !id.Expires.Equal(want.Expires) {
				t.Errorf("identity = %+v, want %+v", id, want)
			}
		})
	}
}

func TestDefaultAlgorithms(t *testing.T) {
	rsaPriv, edPriv := rsaKey(t), edKey(t)
	cases := []struct {
		cfg  Config
		want []string
	}{
		{Config{HMACSecret: testSecret}, []string{"HS256"}},
		{Config{PublicKeyPEM: pemOf(t, &rsaPriv.PublicKey)}, []string{"RS256"}},
		{Config{PublicKeyPEM: pemOf(t, edPriv.Public())}, []string{"EdDSA"}},
		{Config{PublicKeyPEM: pemOf(t, &ecKey(t, elliptic.P384()).PublicKey)}, []string{"ES384"}},
		{Config{HMACSecret: testSecret, PublicKeyPEM: pemOf(t, edPriv.Public())}, []string{"EdDSA", "HS256"}},
		{Config{}, nil},
	}
	for _, c := range cases {
		if got := newVerifier(t, c.cfg).Algorithms(); !slices.Equal(got, c.want) {
			t.Errorf("Algorithms() = %v, want %v", got, c.want)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	rsaPriv := rsaKey(t)
	rsaPEM := pemOf(t, &rsaPriv.PublicKey)
	hs := newVerifier(t, Config{HMACSecret: testSecret})
	rs := newVerifier(t, Config{PublicKeyPEM: rsaPEM})
	both := newVerifier(t, Config{HMACSecret: testSecret, PublicKeyPEM: rsaPEM, Algorithms: []string{"HS256", "RS256"}})
	strict := newVerifier(t, Config{HMACSecret: testSecret, Issuer: "https://login.example", Audience: "danmaku"})

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := validClaims()
		change(c)
		return c
	}
	noneToken, err := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	valid := sign(t, jwt.SigningMethodHS256, testSecret, validClaims())
	parts := strings.Split(valid, ".")

	cases := []struct {
		name  string
		v     *Verifier
		token string
		want  error
	}{
		{"expired", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Minute).Unix() })), ErrExpired},
		{"nbf in the future", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Minute).Unix() })), ErrNotYetValid},
		{"iat in the future", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["iat"] = testNow.Add(time.Hour).Unix() })), ErrNotYetValid},
		{"wrong signature", hs, sign(t, jwt.SigningMethodHS256, []byte("another secret of thirty-two b.."), validClaims()), ErrInvalidToken},
		{"tampered payload", hs, parts[0] + "." + strings.TrimRight(parts[1], "Q") + "Q." + parts[2], ErrInvalidToken},
		{"alg none", hs, noneToken, ErrInvalidToken},
		{"alg none, RSA verifier", rs, noneToken, ErrInvalidToken},
		{"HS256 not in the list", rs, sign(t, jwt.SigningMethodHS256, testSecret, validClaims()), ErrInvalidToken},
		// The classic key confusion: an HS256 token whose HMAC key is the
		// RSA public key, which an attacker can read.
		{"key confusion, RSA only", rs, sign(t, jwt.SigningMethodHS256, rsaPEM, validClaims()), ErrInvalidToken},
		{"key confusion, HS256 allowed", both, sign(t, jwt.SigningMethodHS256, rsaPEM, validClaims()), ErrInvalidToken},
		{"HS384 not in the list", hs, sign(t, jwt.SigningMethodHS384, append(testSecret, testSecret...), validClaims()), ErrInvalidToken},
		{"RS256 with a foreign key", rs, sign(t, jwt.SigningMethodRS256, rsaKey(t), validClaims()), ErrInvalidToken},
		{"missing exp", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { delete(c, "exp") })), ErrBadClaims},
		{"missing sub", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { delete(c, "sub") })), ErrBadClaims},
		{"empty sub", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["sub"] = "" })), ErrBadClaims},
		{"long sub", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("x", 129) })), ErrBadClaims},
		{"sub with a newline", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["sub"] = "a\nb" })), ErrBadClaims},
		{"sub not a string", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["sub"] = 42 })), ErrInvalidToken},
		{"bad role", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["role"] = "root" })), ErrBadClaims},
		{"role in capitals", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["role"] = "Admin" })), ErrBadClaims},
		{"rooms not a list", hs, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["rooms"] = "lobby" })), ErrInvalidToken},
		{"wrong issuer", strict, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example"; c["aud"] = "danmaku" })), ErrBadClaims},
		{"missing issuer", strict, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["aud"] = "danmaku" })), ErrBadClaims},
		{"wrong audience", strict, sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["iss"] = "https://login.example"; c["aud"] = []string{"other"} })), ErrBadClaims},
		{"empty", hs, "", ErrInvalidToken},
		{"garbage", hs, "not a token", ErrInvalidToken},
		{"two dots", hs, "..", ErrInvalidToken},
		{"bad base64", hs, "e30.e30.***", ErrInvalidToken},
		{"header not JSON", hs, "bm90IGpzb24.e30.c2ln", ErrInvalidToken},
		{"too large", hs, parts[0] + "." + strings.Repeat("A", MaxTokenBytes) + "." + parts[2], ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := c.v.Verify(c.token)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %+v, %v; want %v", id, err, c.want)
			}
			if id.Subject != "" {
				t.Errorf("a refused token returned identity %+v", id)
			}
			msg := err.Error()
			for _, part := range strings.Split(c.token, ".") {
				if len(part) >= 4 && strings.Contains(msg, part) {
					t.Errorf("error %q contains part of the token", msg)
				}
			}
		})
	}
	// Sanity check: the unspoiled token passes every verifier that should
	// accept it.
	for _, v := range []*Verifier{hs, both} {
		if _, err := v.Verify(valid); err != nil {
			t.Errorf("valid token refused: %v", err)
		}
	}
	good := sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["iss"] = "https://login.example"; c["aud"] = []string{"other", "danmaku"} }))
	if _, err := strict.Verify(good); err != nil {
		t.Errorf("token with the right issuer and audience refused: %v", err)
	}
}

func TestVerifyWrapsJWTErrors(t *testing.T) {
	v := newVerifier(t, Config{HMACSecret: testSecret})
	claims := validClaims()
	claims["exp"] = testNow.Add(-time.Hour).Unix()
	_, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, claims))
	if !errors.Is(err, ErrExpired) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("err = %v; want ErrExpired wrapping jwt.ErrTokenExpired", err)
	}
	if errors.Is(err, ErrInvalidToken) {
		t.Error("an expired token must not also be ErrInvalidToken")
	}
}

func TestLeeway(t *testing.T) {
	expiredBy := func(d time.Duration) jwt.MapClaims {
		c := validClaims()
		c["exp"] = testNow.Add(-d).Unix()
		return c
	}
	cases := []struct {
		leeway    time.Duration
		expiredBy time.Duration
		ok        bool
	}{
		{0, 20 * time.Second, true}, // the default is 30 s
		{0, 40 * time.Second, false},
		{-1, 1 * time.Second, false}, // negative: none
		{-1, -1 * time.Second, true},
		{2 * time.Minute, 90 * time.Second, true},
	}
	for _, c := range cases {
		v := newVerifier(t, Config{HMACSecret: testSecret, Leeway: c.leeway})
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, expiredBy(c.expiredBy)))
		if (err == nil) != c.ok {
			t.Errorf("leeway %v, expired by %v: err = %v", c.leeway, c.expiredBy, err)
		}
	}
	// nbf gets the leeway too.
	c := validClaims()
	c["nbf"] = testNow.Add(10 * time.Second).Unix()
	if _, err := newVerifier(t, Config{HMACSecret: testSecret}).Verify(sign(t, jwt.SigningMethodHS256, testSecret, c)); err != nil {
		t.Errorf("nbf 10 s ahead refused: %v", err)
	}
}

func TestVerifyWithoutKey(t *testing.T) {
	v := newVerifier(t, Config{})
	if v.Enabled() {
		t.Fatal("Enabled() with no key")
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, validClaims())); !errors.Is(err, ErrNoKey) {
		t.Errorf("Verify = %v, want ErrNoKey", err)
	}
}

func TestNewRefuses(t *testing.T) {
	rsaPriv, edPriv := rsaKey(t), edKey(t)
	rsaPEM, edPEM := pemOf(t, &rsaPriv.PublicKey), pemOf(t, edPriv.Public())
	cases := map[string]Config{
		"none":                    {HMACSecret: testSecret, Algorithms: []string{"HS256", "none"}},
		"None":                    {HMACSecret: testSecret, Algorithms: []string{"None"}},
		"unknown alg":             {HMACSecret: testSecret, Algorithms: []string{"HS999"}},
		"empty list":              {HMACSecret: testSecret, Algorithms: []string{}},
		"HS256 without secret":    {PublicKeyPEM: rsaPEM, Algorithms: []string{"HS256"}},
		"RS256 without key":       {HMACSecret: testSecret, Algorithms: []string{"RS256"}},
		"RS256 with Ed25519 key":  {PublicKeyPEM: edPEM, Algorithms: []string{"RS256"}},
		"EdDSA with RSA key":      {PublicKeyPEM: rsaPEM, Algorithms: []string{"EdDSA"}},
		"ES384 with P-256 key":    {PublicKeyPEM: pemOf(t, &ecKey(t, elliptic.P256()).PublicKey), Algorithms: []string{"ES384"}},
		"algs without any key":    {Algorithms: []string{"HS256"}},
		"short secret":            {HMACSecret: []byte("too short")},
		"empty secret":            {HMACSecret: []byte{}},
		"HS512 with 32 bytes":     {HMACSecret: testSecret, Algorithms: []string{"HS512"}},
		"garbage PEM":             {PublicKeyPEM: []byte("not a pem")},
		"private key PEM":         {PublicKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
		"certificate PEM":         {PublicKeyPEM: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
		"corrupt PUBLIC KEY":      {PublicKeyPEM: []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")},
		"short IDKey":             {HMACSecret: testSecret, IDKey: []byte("short")},
		"IDKey equals HMACSecret": {HMACSecret: testSecret, IDKey: testSecret},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestSmallRSAKeyRefused(t *testing.T) {
	// 1024-bit keys are refused; generating one here is quick.
	key, err := rsaGenerate(1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{PublicKeyPEM: pemOf(t, &key.PublicKey)}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New with a 1024-bit key = %v", err)
	}
}

package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verifier checks tokens. It is immutable and safe for concurrent use.
type Verifier struct {
	hmacSecret []byte
	publicKey  any // *rsa.PublicKey, ed25519.PublicKey, *ecdsa.PublicKey, or nil
	algorithms []string
	parser     *jwt.Parser
	idKey      []byte
	stableIDs  bool
}

// New checks cfg and returns a Verifier. It fails, with an error wrapping
// ErrInvalidConfig, on a PEM it cannot read, an RSA key under 2048 bits, an
// HMAC secret shorter than its algorithm's hash, an algorithm without its
// key or unknown to it, and on "none".
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{hmacSecret: cfg.HMACSecret}
	if cfg.HMACSecret != nil && len(cfg.HMACSecret) == 0 {
		return nil, fmt.Errorf("%w: HMACSecret is empty", ErrInvalidConfig)
	}
	if cfg.PublicKeyPEM != nil {
		key, err := parsePublicKey(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		v.publicKey = key
	}
	if v.Enabled() || cfg.Algorithms != nil {
		algs, err := allowedAlgorithms(cfg.Algorithms, v.hmacSecret, v.publicKey)
		if err != nil {
			return nil, err
		}
		v.algorithms = algs
	}

	leeway := cfg.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	opts := []jwt.ParserOption{
		// Never nil: jwt reads a nil list as "any algorithm".
		jwt.WithValidMethods(append([]string{}, v.algorithms...)),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithStrictDecoding(),
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)

	idKey, stable, err := publicIDKey(cfg.IDKey, cfg.HMACSecret)
	if err != nil {
		return nil, err
	}
	v.idKey, v.stableIDs = idKey, stable
	return v, nil
}

// Enabled reports whether a key is configured, so that Verify can accept
// tokens at all.
func (v *Verifier) Enabled() bool {
	return v.hmacSecret != nil || v.publicKey != nil
}

// Algorithms returns the allowed JWT algorithms, sorted.
func (v *Verifier) Algorithms() []string {
	return append([]string(nil), v.algorithms...)
}

// Verify checks a token's signature, algorithm and claims and returns who
// it names. exp is required; nbf and iat, when present, must not be in the
// future; both within the leeway. Errors wrap one of ErrNoKey,
// ErrInvalidToken, ErrExpired, ErrNotYetValid and ErrBadClaims; expiry and
// the claim checks are reported only for tokens whose signature verified.
func (v *Verifier) Verify(token string) (Identity, error) {
	if !v.Enabled() {
		return Identity{}, ErrNoKey
	}
	if token == "" {
		return Identity{}, &tokenError{kind: ErrInvalidToken, reason: "empty token"}
	}
	if len(token) > MaxTokenBytes {
		return Identity{}, &tokenError{kind: ErrInvalidToken, reason: "token too large"}
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.key); err != nil {
		return Identity{}, classify(err)
	}
	return c.identity()
}

// key picks the verification key for the token's algorithm. The parser has
// already refused algorithms outside the allow-list, so the HMAC secret is
// only ever used for HS* tokens and the public key never as an HMAC
// secret.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	var key any
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if v.hmacSecret != nil {
			key = v.hmacSecret
		}
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS, *jwt.SigningMethodEd25519, *jwt.SigningMethodECDSA:
		key = v.publicKey
	}
	if key == nil {
		return nil, errNoKeyForMethod
	}
	return key, nil
}

// classify maps a jwt error to one of this package's sentinels, with a
// fixed reason. Claim checks are tested first, because jwt reports them
// only after the signature verified.
func classify(err error) error {
	e := &tokenError{kind: ErrInvalidToken, cause: err}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		e.kind, e.reason = ErrExpired, "exp has passed"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		e.kind, e.reason = ErrNotYetValid, "nbf is in the future"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		e.kind, e.reason = ErrNotYetValid, "iat is in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		e.kind, e.reason = ErrBadClaims, "exp claim missing"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		e.kind, e.reason = ErrBadClaims, "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		e.kind, e.reason = ErrBadClaims, "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		e.kind, e.reason = ErrBadClaims, "invalid claims"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		e.reason = "signature invalid or algorithm not allowed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		e.reason = "algorithm unknown or unusable"
	case errors.Is(err, jwt.ErrTokenMalformed):
		e.reason = "malformed"
	default:
		e.reason = "rejected"
	}
	return e
}

// expiry converts a NumericDate, which Verify guarantees is present.
func expiry(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}

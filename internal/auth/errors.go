package auth

import "errors"

// Sentinel errors. Verify's errors wrap exactly one of ErrNoKey,
// ErrInvalidToken, ErrExpired, ErrNotYetValid or ErrBadClaims, and also the
// golang-jwt error behind it (such as jwt.ErrTokenSignatureInvalid) for
// callers that want the detail. No error text ever contains the token or a
// secret.
var (
	// ErrNoKey is returned by Verify when no key is configured: tokens
	// cannot be checked, so none is accepted.
	ErrNoKey = errors.New("auth: no key configured")
	// ErrInvalidToken means the token is not one the operator signed: it
	// is malformed, too large, its signature does not verify, or its
	// algorithm is not allowed.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrExpired means a genuine token whose exp has passed (beyond the
	// leeway). The client should fetch a new token and try again.
	ErrExpired = errors.New("auth: token expired")
	// ErrNotYetValid means a genuine token whose nbf or iat lies in the
	// future (beyond the leeway): usually a clock out of step.
	ErrNotYetValid = errors.New("auth: token not valid yet")
	// ErrBadClaims means a genuine token whose claims are unacceptable:
	// exp or sub missing, wrong issuer or audience, an unknown role, a
	// claim of the wrong type.
	ErrBadClaims = errors.New("auth: bad claims")
	// ErrInvalidConfig is returned by New, LoadPublicKeyFile and
	// ParseSecret for a configuration they cannot honour.
	ErrInvalidConfig = errors.New("auth: invalid config")
)

// errNoKeyForMethod guards Verifier.key against a method that passed the
// allow-list without its key, which New prevents.
var errNoKeyForMethod = errors.New("auth: no key for the token's algorithm")

// tokenError is what Verify returns. Its text is a sentinel and a fixed
// reason; the jwt error it wraps is reachable with errors.Is and errors.As
// but kept out of the text, because jwt quotes parts of the token (such as
// its alg header) in its messages, and logs must not carry token content.
type tokenError struct {
	kind   error  // one of the sentinels
	reason string // fixed text chosen here, never from the token
	cause  error  // the jwt error, or nil
}

func (e *tokenError) Error() string {
	if e.reason == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.reason
}

func (e *tokenError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

package auth

import "time"

// Defaults and limits.
const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat when
	// Config.Leeway is zero. Tokens are minted by another service whose
	// clock may differ by seconds; 30 s covers that without stretching a
	// token's life noticeably.
	DefaultLeeway = 30 * time.Second
	// MaxTokenBytes bounds the token Verify reads. Real tokens are a few
	// hundred bytes; a larger one is refused before any parsing.
	MaxTokenBytes = 8 << 10
	// MaxSubjectBytes bounds the sub claim.
	MaxSubjectBytes = 128
	// MaxNameRunes bounds the display name kept from the name claim.
	MaxNameRunes = 64
	// minIDKeyBytes is the shortest Config.IDKey accepted (128 bits).
	minIDKeyBytes = 16
)

// Config configures a Verifier. The zero Config is valid: it verifies no
// token (Enabled is false), and public ids use a random key.
type Config struct {
	// HMACSecret is the key for HMAC-signed tokens (HS256, and HS384 or
	// HS512 if listed in Algorithms). It must be at least as long as the
	// hash: 32 bytes for HS256 (RFC 7518 §3.2). nil: no HMAC token is
	// accepted.
	HMACSecret []byte
	// PublicKeyPEM is the operator's public key in PEM: a PKIX "PUBLIC
	// KEY" block holding an RSA (2048 bits or more), Ed25519 or ECDSA
	// (P-256, P-384, P-521) key, or a PKCS #1 "RSA PUBLIC KEY" block.
	// LoadPublicKeyFile reads one from a file. nil: no signed token is
	// accepted.
	PublicKeyPEM []byte
	// Algorithms is the allow-list of JWT "alg" values. nil means the
	// algorithms of the configured keys: HS256 for HMACSecret, and RS256,
	// EdDSA, or ES256/ES384/ES512 for the public key by its type. Every
	// listed algorithm needs its key; "none" is never accepted. A token
	// whose alg is not listed is refused before any key is touched, which
	// is what defeats key-confusion attacks.
	Algorithms []string
	// Issuer, if not empty, must equal the token's iss claim.
	Issuer string
	// Audience, if not empty, must be one of the token's aud values.
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat. 0 means
	// DefaultLeeway (30 s); a negative value allows none.
	Leeway time.Duration
	// IDKey keys PublicID, at least 16 bytes, and must differ from
	// HMACSecret. nil: derived from HMACSecret when there is one, so ids
	// are stable across restarts and across nodes that share the secret;
	// otherwise a random key, so ids change on every restart and differ
	// between nodes (StableIDs reports false). Set it in a cluster that
	// verifies with a public key only.
	IDKey []byte
	// Now is the clock. nil means time.Now. For tests.
	Now func() time.Time
}

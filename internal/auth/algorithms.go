package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
)

// keyKind is the kind of key an algorithm verifies with.
type keyKind int

const (
	kindUnknown keyKind = iota
	kindHMAC
	kindRSA
	kindEd25519
	kindECDSA
)

// algorithmKind returns the kind of key alg needs, and for HMAC the
// shortest secret RFC 7518 §3.2 allows (the hash size).
func algorithmKind(alg string) (kind keyKind, minSecret int) {
	switch alg {
	case "HS256":
		return kindHMAC, 32
	case "HS384":
		return kindHMAC, 48
	case "HS512":
		return kindHMAC, 64
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return kindRSA, 0
	case "EdDSA":
		return kindEd25519, 0
	case "ES256", "ES384", "ES512":
		return kindECDSA, 0
	}
	return kindUnknown, 0
}

// allowedAlgorithms checks cfg's algorithm list against its keys, or
// derives the list when cfg has none.
func allowedAlgorithms(listed []string, hmacSecret []byte, publicKey any) ([]string, error) {
	if listed == nil {
		var algs []string
		if hmacSecret != nil {
			algs = append(algs, "HS256")
		}
		switch k := publicKey.(type) {
		case *rsa.PublicKey:
			algs = append(algs, "RS256")
		case ed25519.PublicKey:
			algs = append(algs, "EdDSA")
		case *ecdsa.PublicKey:
			algs = append(algs, ecdsaAlgorithm(k))
		}
		listed = algs
	} else if len(listed) == 0 {
		return nil, fmt.Errorf("%w: Algorithms is empty; leave it nil to use the configured keys' algorithms", ErrInvalidConfig)
	}
	for _, alg := range listed {
		if strings.EqualFold(alg, "none") {
			return nil, fmt.Errorf("%w: algorithm \"none\" is never accepted", ErrInvalidConfig)
		}
		kind, minSecret := algorithmKind(alg)
		switch kind {
		case kindUnknown:
			return nil, fmt.Errorf("%w: unknown algorithm %q", ErrInvalidConfig, alg)
		case kindHMAC:
			if hmacSecret == nil {
				return nil, fmt.Errorf("%w: algorithm %s needs HMACSecret", ErrInvalidConfig, alg)
			}
			if len(hmacSecret) < minSecret {
				return nil, fmt.Errorf("%w: algorithm %s needs an HMAC secret of at least %d bytes, got %d", ErrInvalidConfig, alg, minSecret, len(hmacSecret))
			}
		case kindRSA:
			if _, ok := publicKey.(*rsa.PublicKey); !ok {
				return nil, fmt.Errorf("%w: algorithm %s needs an RSA public key", ErrInvalidConfig, alg)
			}
		case kindEd25519:
			if _, ok := publicKey.(ed25519.PublicKey); !ok {
				return nil, fmt.Errorf("%w: algorithm %s needs an Ed25519 public key", ErrInvalidConfig, alg)
			}
		case kindECDSA:
			k, ok := publicKey.(*ecdsa.PublicKey)
			if !ok || ecdsaAlgorithm(k) != alg {
				return nil, fmt.Errorf("%w: algorithm %s needs an ECDSA public key on its curve", ErrInvalidConfig, alg)
			}
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(listed))), nil
}

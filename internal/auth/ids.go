package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

const (
	// publicIDChars is the length of the encoded HMAC kept in a public id:
	// 22 base64url characters, 132 bits, the same as a guest id.
	publicIDChars = 22
	// idKeyLabel separates the id key derived from HMACSecret from every
	// other use of that secret.
	idKeyLabel = "danmaku public user id key v1"
)

// PublicID returns the id other viewers see for a subject:
// "u_" + the first 22 characters of base64url(HMAC-SHA256(IDKey, subject)).
// It is stable for a key, reveals nothing of the subject, and cannot be
// computed without the key, so a viewer cannot test guesses of a user's
// platform id against it.
func (v *Verifier) PublicID(subject string) string {
	mac := hmac.New(sha256.New, v.idKey)
	mac.Write([]byte(subject))
	return "u_" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))[:publicIDChars]
}

// StableIDs reports whether PublicID is the same across restarts: false
// when it uses a random key because neither IDKey nor HMACSecret is set.
func (v *Verifier) StableIDs() bool { return v.stableIDs }

// GuestID returns a fresh random id for an anonymous connection:
// "g_" + 22 base64url characters (128 random bits).
func GuestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	return "g_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// publicIDKey returns the key for PublicID and whether it is stable.
func publicIDKey(idKey, hmacSecret []byte) ([]byte, bool, error) {
	switch {
	case idKey != nil:
		if len(idKey) < minIDKeyBytes {
			return nil, false, fmt.Errorf("%w: IDKey has %d bytes; at least %d are required", ErrInvalidConfig, len(idKey), minIDKeyBytes)
		}
		if constantTimeEqual(idKey, hmacSecret) {
			// Public ids are shown to everyone; an HMAC under the token
			// key would hand out MACs made with it.
			return nil, false, fmt.Errorf("%w: IDKey must differ from HMACSecret", ErrInvalidConfig)
		}
		return idKey, true, nil
	case hmacSecret != nil:
		mac := hmac.New(sha256.New, hmacSecret)
		mac.Write([]byte(idKeyLabel))
		return mac.Sum(nil), true, nil
	}
	key := make([]byte, 32)
	rand.Read(key)
	return key, false, nil
}

// constantTimeEqual compares two secrets without leaking where they differ.
func constantTimeEqual(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

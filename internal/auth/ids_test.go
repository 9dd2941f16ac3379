package auth

import (
	"regexp"
	"strings"
	"testing"
)

var (
	publicIDPattern = regexp.MustCompile(`^u_[A-Za-z0-9_-]{22}$`)
	guestIDPattern  = regexp.MustCompile(`^g_[A-Za-z0-9_-]{22}$`)
)

func TestPublicID(t *testing.T) {
	keyA := []byte("id key A, sixteen bytes or more..")
	keyB := []byte("id key B, sixteen bytes or more..")
	a1 := newVerifier(t, Config{IDKey: keyA})
	a2 := newVerifier(t, Config{IDKey: keyA, HMACSecret: testSecret})
	b := newVerifier(t, Config{IDKey: keyB})

	for _, subject := range []string{"user-42", "alice@example.com", "1", strings.Repeat("x", 128)} {
		id := a1.PublicID(subject)
		if !publicIDPattern.MatchString(id) {
			t.Errorf("PublicID(%q) = %q, not u_ + 22 base64url characters", subject, id)
		}
		if a1.PublicID(subject) != id || a2.PublicID(subject) != id {
			t.Errorf("PublicID(%q) is not stable for one key", subject)
		}
		if b.PublicID(subject) == id {
			t.Errorf("PublicID(%q) is the same under two keys", subject)
		}
		if strings.Contains(id, subject) {
			t.Errorf("PublicID(%q) = %q contains the subject", subject, id)
		}
	}
	if a1.PublicID("user-1") == a1.PublicID("user-2") {
		t.Error("two subjects, one id")
	}
	if !a1.StableIDs() {
		t.Error("StableIDs() = false with IDKey set")
	}
}

func TestPublicIDDefaultKey(t *testing.T) {
	// Derived from the HMAC secret: stable across Verifiers (restarts,
	// nodes), and unlike an HMAC under the secret itself.
	s1 := newVerifier(t, Config{HMACSecret: testSecret})
	s2 := newVerifier(t, Config{HMACSecret: testSecret})
	if !s1.StableIDs() || s1.PublicID("u") != s2.PublicID("u") {
		t.Error("ids derived from one HMAC secret differ")
	}
	if s1.PublicID("u") == newVerifier(t, Config{IDKey: testSecret[:16]}).PublicID("u") {
		t.Error("derived key equals a prefix of the secret")
	}
	// Neither IDKey nor secret: random per Verifier.
	r1, r2 := newVerifier(t, Config{}), newVerifier(t, Config{})
	if r1.StableIDs() || r1.PublicID("u") == r2.PublicID("u") {
		t.Error("random id keys must differ between Verifiers and say so")
	}
	if first, again := r1.PublicID("u"), r1.PublicID("u"); first != again {
		t.Error("ids from one Verifier must be stable")
	}
}

func TestGuestID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := GuestID()
		if !guestIDPattern.MatchString(id) {
			t.Fatalf("GuestID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("GuestID repeated %q", id)
		}
		seen[id] = true
	}
}

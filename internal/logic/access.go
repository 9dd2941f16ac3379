package logic

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/protocol"
)

// Who may call what. An API key may call every endpoint. A JWT (verified
// with Config.Verifier, the keys of the viewers' tokens) is let in by its
// role:
//
//   - admin: what an API key may, within the token's rooms claim if it has
//     one;
//   - moderator: the endpoints named in moderatorRoutes, for the rooms its
//     token allows; those without a {room} act site-wide and need a token
//     without a rooms claim (auth.Identity.ModerationRefusal, the rule the
//     WebSocket moderate op applies too);
//   - viewer: nothing (403 forbidden).

// scope is how a moderator token is checked on one route.
type scope uint8

const (
	// scopePath routes act on the {room} of the path, or site-wide when
	// they have none: the moderation rule decides.
	scopePath scope = iota + 1
	// scopeListing routes are open to every moderator; the handler shows
	// only the rooms the token allows (principal.allowsRoom).
	scopeListing
)

// moderatorRoutes are the routes (by their metrics name) a moderator token
// may call: the moderation endpoints and the reads of room state.
// Publishing messages, broadcasts and pushes to users need an API key or
// an admin token, since they carry any user the caller names.
var moderatorRoutes = map[string]scope{
	"room":        scopePath,
	"history":     scopePath,
	"settings":    scopePath,
	"mute":        scopePath,
	"mutes":       scopePath,
	"unmute":      scopePath,
	"delete":      scopePath,
	"ban":         scopePath,
	"bans":        scopePath,
	"unban":       scopePath,
	"filter":      scopePath,
	"filter_info": scopePath,
	"filter_test": scopePath,
	"nodes":       scopePath,
	"rooms":       scopeListing,
	"whoami":      scopeListing,
	"unknown":     scopeListing, // answered 404 like any other caller
}

// apiKey is one accepted key with its fingerprint, which the audit log
// names instead of the key.
type apiKey struct {
	key         []byte
	fingerprint string
}

// keyFingerprint is the first 8 hex digits of the key's SHA-256: enough to
// tell a handful of keys apart in a log, useless for guessing one.
func keyFingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// principal is who an API request acts for: an API key, or a verified
// token's identity.
type principal struct {
	keyFingerprint string        // set for an API key
	identity       auth.Identity // set for a token
	publicID       string        // the token's public user id
}

// viaKey reports whether the request carried an API key.
func (p principal) viaKey() bool { return p.keyFingerprint != "" }

// allowsRoom reports whether the principal may see room in a listing.
func (p principal) allowsRoom(room string) bool {
	return p.viaKey() || p.identity.AllowsRoom(room)
}

// allRooms reports whether the principal may see every room.
func (p principal) allRooms() bool {
	return p.viaKey() || p.identity.Rooms == nil
}

// actor is the principal as the author of a moderation action: the record's
// by is "api" for a key (as before tokens were accepted on the API) and
// the public id for a token, as over WebSocket.
func (p principal) actor() Actor {
	if p.viaKey() {
		return Actor{By: "api", Role: "api", Key: p.keyFingerprint, Via: "api"}
	}
	return Actor{By: p.publicID, Role: p.identity.Role, Via: "api"}
}

type principalKey struct{}

// principalOf is the principal route stored in the request's context.
func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

func withPrincipal(r *http.Request, p principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

func unauthorized(message string) error {
	return &httpError{http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "%s", message)}
}

func forbidden(message string) error {
	return &httpError{http.StatusForbidden, protocol.Errorf(protocol.CodeForbidden, "%s", message)}
}

// authorize finds who the request acts for. The bearer value is compared
// against every configured key in constant time, without stopping at the
// first match; only when no key matches and a verifier is configured is it
// tried as a JWT.
func (l *Logic) authorize(r *http.Request) (principal, error) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return principal{}, unauthorized("missing Authorization: Bearer <api key>")
	}
	given := []byte(strings.TrimSpace(h[len(prefix):]))
	ok, match := 0, 0
	keys := *l.keys.Load()
	for i, k := range keys {
		eq := subtle.ConstantTimeCompare(given, k.key)
		ok |= eq
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if ok == 1 {
		return principal{keyFingerprint: keys[match].fingerprint}, nil
	}
	v := l.cfg.Verifier
	if v == nil || !v.Enabled() || strings.Count(string(given), ".") != 2 {
		return principal{}, unauthorized("invalid API key")
	}
	id, err := v.Verify(string(given))
	if err != nil {
		// The verifier's texts are fixed reasons, never token content.
		return principal{}, unauthorized(strings.TrimPrefix(err.Error(), "auth: "))
	}
	return principal{identity: id, publicID: l.cfg.PublicID(id.Subject)}, nil
}

// permit applies the roles to one route.
func permit(p principal, route string, r *http.Request) error {
	if p.viaKey() {
		return nil
	}
	switch p.identity.Role {
	case auth.RoleAdmin:
	case auth.RoleModerator:
		switch moderatorRoutes[route] {
		case scopeListing:
			return nil
		case scopePath:
		default:
			return forbidden("a moderator token may only moderate and read rooms; this needs an API key or an admin token")
		}
	default:
		return forbidden("the HTTP API needs an API key, or an admin or moderator token")
	}
	if reason := p.identity.ModerationRefusal(r.PathValue("room")); reason != "" {
		return forbidden(reason)
	}
	return nil
}

// Whoami is the answer of GET /v1/whoami: who the request's credential
// signs in as. The console asks it at sign-in.
type Whoami struct {
	// Kind is "key" for an API key, "token" for a JWT.
	Kind string `json:"kind"`
	// Role is "api" for a key, else the token's role.
	Role string `json:"role"`
	// Key is the key's fingerprint (the first 8 hex digits of its SHA-256).
	Key string `json:"key,omitempty"`
	// PublicID and Name are the token's user.
	PublicID string `json:"publicId,omitempty"`
	Name     string `json:"name,omitempty"`
	// Rooms is the rooms the credential may act in: null for every room
	// (a key, or a token without a rooms claim), else the token's claim.
	Rooms []string `json:"rooms"`
	// Expires is the token's exp.
	Expires *time.Time `json:"expires,omitempty"`
}

func (l *Logic) whoami(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if p.viaKey() {
		writeJSON(w, http.StatusOK, Whoami{Kind: "key", Role: "api", Key: p.keyFingerprint})
		return nil
	}
	id := p.identity
	writeJSON(w, http.StatusOK, Whoami{Kind: "token", Role: id.Role, PublicID: p.publicID, Name: id.Name, Rooms: id.Rooms, Expires: &id.Expires})
	return nil
}

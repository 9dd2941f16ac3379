package auth

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Roles, from least to most trusted.
const (
	// RoleViewer is every signed-in user's role, and the default when the
	// token has no role claim.
	RoleViewer = "viewer"
	// RoleModerator may mute, delete and change room settings.
	RoleModerator = "moderator"
	// RoleAdmin may do everything a moderator may, in every room.
	RoleAdmin = "admin"
)

// Identity is who a verified token names.
type Identity struct {
	// Subject is the sub claim, the platform's own user id: 1–128 bytes
	// without control characters. It is private: show PublicID(Subject)
	// to other viewers instead.
	Subject string
	// Name is the name claim as a display name: control, line-separator
	// and bidi-control characters removed, spaces trimmed, at most 64
	// runes. "" when absent.
	Name string
	// Role is RoleViewer, RoleModerator or RoleAdmin.
	Role string
	// Rooms is the rooms claim, the only rooms the token may join and send
	// to. nil (claim absent or null) allows every room; an empty list
	// allows none.
	Rooms []string
	// Expires is the exp claim. A connection may outlive it; the gateway
	// decides whether to require a fresh token.
	Expires time.Time
}

// CanModerate reports whether the identity is a moderator or an admin.
func (i Identity) CanModerate() bool {
	return i.Role == RoleModerator || i.Role == RoleAdmin
}

// AllowsRoom reports whether the token may be used in room.
func (i Identity) AllowsRoom(room string) bool {
	return i.Rooms == nil || slices.Contains(i.Rooms, room)
}

// ModerationRefusal is the one rule for who may moderate where, shared by
// the WebSocket moderate op and the HTTP API. It returns why i may not act
// in room, or "" if it may; room "" stands for a site-wide action (bans,
// mutes everywhere, broadcasts, the keyword filter). Only moderators and
// admins moderate. A token limited to some rooms (a rooms claim) moderates
// only those, and acting across rooms needs an admin token or one without
// a rooms claim.
func (i Identity) ModerationRefusal(room string) string {
	switch {
	case !i.CanModerate():
		return "moderation needs a moderator or admin token"
	case room != "" && !i.AllowsRoom(room):
		return "your token does not allow room " + QuoteRoom(room)
	case room == "" && i.Role != RoleAdmin && i.Rooms != nil:
		return "site-wide moderation needs an admin token or one without a rooms claim"
	}
	return ""
}

// QuoteRoom quotes a room name for an error message, cut to 64 bytes: the
// name may come from a request that has not been validated yet.
func QuoteRoom(room string) string {
	if len(room) > 64 {
		room = room[:64] + "…"
	}
	return `"` + room + `"`
}

// claims is the token payload Verify reads.
type claims struct {
	jwt.RegisteredClaims
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Rooms []string `json:"rooms"`
}

// identity checks the claims jwt does not know about.
func (c *claims) identity() (Identity, error) {
	switch {
	case c.Subject == "":
		return Identity{}, &tokenError{kind: ErrBadClaims, reason: "sub claim missing"}
	case len(c.Subject) > MaxSubjectBytes:
		return Identity{}, &tokenError{kind: ErrBadClaims, reason: "sub claim too long"}
	case strings.ContainsFunc(c.Subject, unicode.IsControl):
		return Identity{}, &tokenError{kind: ErrBadClaims, reason: "sub claim has control characters"}
	}
	role := c.Role
	switch role {
	case "":
		role = RoleViewer
	case RoleViewer, RoleModerator, RoleAdmin:
	default:
		return Identity{}, &tokenError{kind: ErrBadClaims, reason: "unknown role"}
	}
	return Identity{
		Subject: c.Subject,
		Name:    cleanName(c.Name),
		Role:    role,
		Rooms:   c.Rooms,
		Expires: expiry(c.ExpiresAt),
	}, nil
}

// cleanName makes a name claim safe to show: control characters (which
// could break a log line or a terminal), line and paragraph separators,
// and bidi controls (which could reverse the text around the name) go;
// spaces are trimmed and the length capped.
func cleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > MaxNameRunes {
		runes := []rune(name)
		name = strings.TrimSpace(string(runes[:MaxNameRunes]))
	}
	return name
}

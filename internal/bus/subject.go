package bus

import (
	"encoding/base64"
	"strings"
)

// Subjects. A room's messages are stored on room.<token>, or
// room.<partition>.<token> when the history is partitioned (partition.go),
// and republished by its stream on live.room.<token>; user pushes travel on live.user.<token>
// and broadcasts on live.broadcast. Nothing on live.> is stored.
const (
	roomPrefix        = "room."
	liveRoomPrefix    = "live.room."
	liveUserPrefix    = "live.user."
	broadcastSubject  = "live.broadcast"
	maxRoomNameLength = 64
)

// roomToken maps a room name to a single subject token.
//
// Room names are 1–64 of [A-Za-z0-9_.:-]. Every byte of that alphabet is
// legal inside a NATS token except '.', the token separator, so '.' becomes
// '~', which the alphabet does not contain: the mapping is one-to-one,
// reversible, and keeps subjects readable in `nats sub` output
// ("a.b:c" → "room.a~b:c").
func roomToken(room string) (string, error) {
	if len(room) == 0 || len(room) > maxRoomNameLength {
		return "", ErrInvalidRoom
	}
	dots := false
	for i := 0; i < len(room); i++ {
		c := room[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == ':', c == '-':
		case c == '.':
			dots = true
		default:
			return "", ErrInvalidRoom
		}
	}
	if !dots {
		return room, nil
	}
	return strings.ReplaceAll(room, ".", "~"), nil
}

// userToken maps a user id, which may be any non-empty string, to a subject
// token: unpadded base64url, whose alphabet [A-Za-z0-9_-] holds no separator
// or wildcard.
func userToken(user string) (string, error) {
	if user == "" {
		return "", ErrInvalidUser
	}
	return base64.RawURLEncoding.EncodeToString([]byte(user)), nil
}

// userFromToken reverses userToken.
func userFromToken(token string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) == 0 {
		return "", ErrInvalidUser
	}
	return string(raw), nil
}

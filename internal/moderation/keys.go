package moderation

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Bucket keys. Room names and user ids become unpadded base64url tokens,
// whose alphabet [A-Za-z0-9_-] holds no '.', so a key splits back into its
// parts exactly and is a valid KV key whatever the id contains:
//
//	mute.<room token>.<user token>   a mute in one room
//	mute._all.<user token>           a mute everywhere
//	ban.<user token>                 a ban
//	room.<room token>                a room's settings
//
// "_all" cannot be a room token: it decodes to bytes that are not ASCII,
// and room names are.
const (
	mutePrefix      = "mute."
	banPrefix       = "ban."
	roomPrefix      = "room."
	everywhereToken = "_all"

	maxRoomBytes   = 64
	maxUserBytes   = 128
	maxReasonBytes = 1024
)

// token encodes ids. Strict decoding rejects encodings with non-zero
// trailing bits, so every id has exactly one token and parseKey(k)
// re-encodes to k.
var token = base64.RawURLEncoding.Strict()

type keyKind int

const (
	kindMute keyKind = iota + 1
	kindBan
	kindRoom
)

// parsedKey is a bucket key taken apart. Room is "" for a mute everywhere
// and for a ban; User is "" for room settings.
type parsedKey struct {
	kind keyKind
	room string
	user string
}

// checkRoom reports whether room is 1–64 of [A-Za-z0-9_.:-].
func checkRoom(room string) error {
	if len(room) == 0 || len(room) > maxRoomBytes {
		return fmt.Errorf("%w: %q is not 1–%d bytes", ErrInvalidRoom, room, maxRoomBytes)
	}
	for i := 0; i < len(room); i++ {
		switch c := room[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '.', c == ':', c == '-':
		default:
			return fmt.Errorf("%w: %q holds %q", ErrInvalidRoom, room, c)
		}
	}
	return nil
}

// checkUser reports whether user is 1–128 bytes. Any bytes are allowed.
func checkUser(user string) error {
	if len(user) == 0 || len(user) > maxUserBytes {
		return fmt.Errorf("%w: %d bytes, want 1–%d", ErrInvalidUser, len(user), maxUserBytes)
	}
	return nil
}

// muteKey is the key of user's mute in room, or everywhere if room is "".
func muteKey(room, user string) (string, error) {
	roomTok := everywhereToken
	if room != "" {
		if err := checkRoom(room); err != nil {
			return "", err
		}
		roomTok = token.EncodeToString([]byte(room))
	}
	if err := checkUser(user); err != nil {
		return "", err
	}
	return mutePrefix + roomTok + "." + token.EncodeToString([]byte(user)), nil
}

// banKey is the key of user's ban.
func banKey(user string) (string, error) {
	if err := checkUser(user); err != nil {
		return "", err
	}
	return banPrefix + token.EncodeToString([]byte(user)), nil
}

// roomKey is the key of room's settings.
func roomKey(room string) (string, error) {
	if err := checkRoom(room); err != nil {
		return "", err
	}
	return roomPrefix + token.EncodeToString([]byte(room)), nil
}

// parseKey reverses muteKey, banKey and roomKey. It accepts exactly the
// keys they produce.
func parseKey(key string) (parsedKey, error) {
	switch {
	case strings.HasPrefix(key, mutePrefix):
		roomTok, userTok, ok := strings.Cut(key[len(mutePrefix):], ".")
		if !ok {
			break
		}
		room := ""
		if roomTok != everywhereToken {
			var err error
			if room, err = decodeRoom(roomTok); err != nil {
				break
			}
		}
		user, err := decodeUser(userTok)
		if err != nil {
			break
		}
		return parsedKey{kind: kindMute, room: room, user: user}, nil
	case strings.HasPrefix(key, banPrefix):
		user, err := decodeUser(key[len(banPrefix):])
		if err != nil {
			break
		}
		return parsedKey{kind: kindBan, user: user}, nil
	case strings.HasPrefix(key, roomPrefix):
		room, err := decodeRoom(key[len(roomPrefix):])
		if err != nil {
			break
		}
		return parsedKey{kind: kindRoom, room: room}, nil
	}
	return parsedKey{}, fmt.Errorf("%w: %q", errBadKey, key)
}

func decodeRoom(tok string) (string, error) {
	raw, err := token.DecodeString(tok)
	if err != nil {
		return "", err
	}
	room := string(raw)
	return room, checkRoom(room)
}

func decodeUser(tok string) (string, error) {
	raw, err := token.DecodeString(tok)
	if err != nil {
		return "", err
	}
	user := string(raw)
	return user, checkUser(user)
}

package moderation

import (
	"errors"
	"strings"
	"testing"
)

// validKVKey is jetstream's rule for a key: [-/_=.a-zA-Z0-9]+, no empty
// token.
func validKVKey(key string) bool {
	if key == "" || key[0] == '.' || key[len(key)-1] == '.' || strings.Contains(key, "..") {
		return false
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '/', c == '_', c == '=', c == '.':
		default:
			return false
		}
	}
	return true
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		key  func() (string, error)
		want string
	}{
		{func() (string, error) { return muteKey("lobby", "alice") }, "mute.bG9iYnk.YWxpY2U"},
		{func() (string, error) { return muteKey("", "alice") }, "mute._all.YWxpY2U"},
		{func() (string, error) { return banKey("a.b c") }, "ban.YS5iIGM"},
		{func() (string, error) { return roomKey("a.b:c") }, "room.YS5iOmM"},
	} {
		got, err := tc.key()
		if err != nil || got != tc.want {
			t.Errorf("key = %q, %v; want %q", got, err, tc.want)
		}
	}
	for _, key := range []string{
		"", "mute", "mute.", "mute._all", "mute._all.", "mute.bG9iYnk", "ban.", "room.", "room._all",
		"other.YWxpY2U", "ban.YWxpY2U=", "ban.YWxpY2V", // non-zero trailing bits
		"room.YSBi", // "a b" is not a room
		"mute.x.y.z", "ban.a.b",
	} {
		if k, err := parseKey(key); !errors.Is(err, errBadKey) {
			t.Errorf("parseKey(%q) = %+v, %v; want errBadKey", key, k, err)
		}
	}
}

// FuzzKeys checks that every valid room and user id makes a valid KV key
// that parses back to them, and that parseKey accepts only keys it could
// have made.
func FuzzKeys(f *testing.F) {
	f.Add("lobby", "alice")
	f.Add("", "with space")
	f.Add("a.b:c-d_e", "dots.and/slashes")
	f.Add("r", "日本語")
	f.Add("r", "\xff\x00")
	f.Add("_all", "_all")
	f.Add("mute._all.YWxpY2U", "ban.YWxpY2U")
	f.Fuzz(func(t *testing.T, room, user string) {
		check := func(key string, err error, want parsedKey, valid bool) {
			t.Helper()
			if !valid {
				if err == nil {
					t.Fatalf("key %q made from invalid room %q or user %q", key, room, user)
				}
				return
			}
			if err != nil {
				t.Fatalf("room %q user %q: %v", room, user, err)
			}
			if !validKVKey(key) {
				t.Fatalf("room %q user %q: invalid KV key %q", room, user, key)
			}
			got, err := parseKey(key)
			if err != nil || got != want {
				t.Fatalf("parseKey(%q) = %+v, %v; want %+v", key, got, err, want)
			}
		}
		roomOK, userOK := checkRoom(room) == nil, checkUser(user) == nil
		key, err := muteKey(room, user)
		check(key, err, parsedKey{kind: kindMute, room: room, user: user}, (room == "" || roomOK) && userOK)
		key, err = banKey(user)
		check(key, err, parsedKey{kind: kindBan, user: user}, userOK)
		key, err = roomKey(room)
		check(key, err, parsedKey{kind: kindRoom, room: room}, roomOK)

		// Any string parseKey accepts is the one key of what it names.
		for _, s := range []string{room, user, room + "." + user} {
			k, err := parseKey(s)
			if err != nil {
				continue
			}
			var again string
			switch k.kind {
			case kindMute:
				again, err = muteKey(k.room, k.user)
			case kindBan:
				again, err = banKey(k.user)
			case kindRoom:
				again, err = roomKey(k.room)
			}
			if err != nil || again != s {
				t.Fatalf("parseKey(%q) = %+v, which encodes to %q, %v", s, k, again, err)
			}
		}
	})
}

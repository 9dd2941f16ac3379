package auth

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

func TestRolesAndRooms(t *testing.T) {
	v := newVerifier(t, Config{HMACSecret: testSecret})
	verify := func(change func(jwt.MapClaims)) Identity {
		t.Helper()
		c := validClaims()
		change(c)
		id, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, c))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	viewer := verify(func(c jwt.MapClaims) {})
	if viewer.Role != RoleViewer || viewer.CanModerate() {
		t.Errorf("no role claim: %+v, CanModerate %v", viewer, viewer.CanModerate())
	}
	if viewer.Rooms != nil || !viewer.AllowsRoom("anything") {
		t.Error("no rooms claim must allow every room")
	}
	if id := verify(func(c jwt.MapClaims) { c["role"] = "" }); id.Role != RoleViewer {
		t.Errorf("empty role = %q", id.Role)
	}
	if id := verify(func(c jwt.MapClaims) { c["role"] = "moderator" }); !id.CanModerate() {
		t.Error("moderator cannot moderate")
	}
	if id := verify(func(c jwt.MapClaims) { c["role"] = "admin" }); !id.CanModerate() || id.Role != RoleAdmin {
		t.Error("admin cannot moderate")
	}
	scoped := verify(func(c jwt.MapClaims) { c["rooms"] = []string{"a", "b"} })
	if !scoped.AllowsRoom("a") || !scoped.AllowsRoom("b") || scoped.AllowsRoom("c") || scoped.AllowsRoom("") {
		t.Errorf("rooms [a b]: %+v", scoped)
	}
	none := verify(func(c jwt.MapClaims) { c["rooms"] = []string{} })
	if none.AllowsRoom("a") {
		t.Error("an empty rooms list must allow no room")
	}
	if id := verify(func(c jwt.MapClaims) { c["rooms"] = nil }); !id.AllowsRoom("a") {
		t.Error("rooms: null must allow every room")
	}
}

func TestCleanName(t *testing.T) {
	cases := map[string]string{
		"":                             "",
		"  alice  ":                    "alice",
		"al\x00ice\n":                  "alice",
		"\u202eecila":                  "ecila", // right-to-left override
		"a\u2028b\u2029c":              "abc",
		"弹幕 君":                         "弹幕 君",
		strings.Repeat("名", 70):        strings.Repeat("名", MaxNameRunes),
		strings.Repeat("a", 63) + " b": strings.Repeat("a", 63),
	}
	for in, want := range cases {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
		if utf8.RuneCountInString(cleanName(in)) > MaxNameRunes {
			t.Errorf("cleanName(%q) too long", in)
		}
	}
}

// The moderation rule of the moderate op and the HTTP API: who may act in
// one room, and who across rooms.
func TestModerationRefusal(t *testing.T) {
	const (
		notModerator = "moderation needs a moderator or admin token"
		notTheirRoom = `your token does not allow room "b"`
		notSiteWide  = "site-wide moderation needs an admin token or one without a rooms claim"
	)
	cases := []struct {
		who           Identity
		room, refusal string
	}{
		{Identity{}, "a", notModerator}, // a guest
		{Identity{Role: RoleViewer}, "a", notModerator},
		{Identity{Role: RoleViewer}, "", notModerator},
		{Identity{Role: RoleModerator}, "a", ""},
		{Identity{Role: RoleModerator}, "", ""},
		{Identity{Role: RoleModerator, Rooms: []string{"a"}}, "a", ""},
		{Identity{Role: RoleModerator, Rooms: []string{"a"}}, "b", notTheirRoom},
		{Identity{Role: RoleModerator, Rooms: []string{"a"}}, "", notSiteWide},
		{Identity{Role: RoleModerator, Rooms: []string{}}, "", notSiteWide},
		{Identity{Role: RoleAdmin, Rooms: []string{"a"}}, "b", notTheirRoom},
		{Identity{Role: RoleAdmin, Rooms: []string{"a"}}, "", ""},
		{Identity{Role: RoleAdmin}, "b", ""},
	}
	for _, c := range cases {
		if got := c.who.ModerationRefusal(c.room); got != c.refusal {
			t.Errorf("%+v in room %q: %q, want %q", c.who, c.room, got, c.refusal)
		}
	}
	long := strings.Repeat("r", 80)
	if got := QuoteRoom(long); got != `"`+long[:64]+`…"` {
		t.Errorf("QuoteRoom of 80 bytes = %q", got)
	}
}

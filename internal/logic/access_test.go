package logic_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/internal/overview"
	"github.com/danmaku/danmaku/internal/stacktest"
)

var jwtSecret = []byte("access-test-secret-0123456789abcdef")

// jwtStack is a node that verifies tokens signed with jwtSecret, logging at
// info into the returned buffer.
func jwtStack(t *testing.T) (*stacktest.Stack, *stacktest.Logs, *auth.Verifier) {
	t.Helper()
	logs := &stacktest.Logs{}
	cfg := auth.Config{HMACSecret: jwtSecret}
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("spam\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := stacktest.Start(t, stacktest.Options{Auth: cfg, Logger: logs.Logger(), BlockedWordsFile: words})
	v, err := auth.New(cfg) // the same keys: the same public ids as the node's
	if err != nil {
		t.Fatal(err)
	}
	return s, logs, v
}

// call sends a request with the given bearer value and returns status,
// error code (if any) and body.
func call(t *testing.T, s *stacktest.Stack, bearer, method, path, body string) (int, string, []byte) {
	t.Helper()
	status, data := do(t, s, method, path, body, bearer)
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(data, &e)
	return status, e.Error.Code, data
}

// Each role reaches exactly the endpoints it should, and each refusal says
// why.
func TestAPIRoles(t *testing.T) {
	s, _, v := jwtStack(t)
	s.Publish(t, "mine", "one")
	victim := v.PublicID("victim")
	admin := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "root", "role": "admin"})
	roomAdmin := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "root2", "role": "admin", "rooms": []string{"mine"}})
	mod := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "mod-all", "role": "moderator"})
	roomMod := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "mod-mine", "role": "moderator", "rooms": []string{"mine"}})
	viewerTok := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "viewer"})
	mute := fmt.Sprintf(`{"publicId":%q,"seconds":60}`, victim)
	publishBody := `{"messages":[{"text":"hi"}]}`

	const (
		notTheirRoom = `your token does not allow room "theirs"`
		notSiteWide  = "site-wide moderation needs an admin token or one without a rooms claim"
		notForMods   = "a moderator token may only moderate and read rooms; this needs an API key or an admin token"
		notViewers   = "the HTTP API needs an API key, or an admin or moderator token"
	)
	cases := []struct {
		who, bearer, method, path, body string
		status                          int
		message                         string // of the error, when status is not 2xx
	}{
		// An admin token is an API key, within its rooms claim.
		{"admin", admin, "POST", "/v1/rooms/theirs/messages", publishBody, 200, ""},
		{"admin", admin, "POST", "/v1/users/someone/messages", publishBody, 200, ""},
		{"admin", admin, "POST", "/v1/bans", mute, 200, ""},
		{"room admin", roomAdmin, "POST", "/v1/rooms/mine/messages", publishBody, 200, ""},
		{"room admin", roomAdmin, "POST", "/v1/rooms/theirs/messages", publishBody, 403, notTheirRoom},
		{"room admin", roomAdmin, "GET", "/v1/bans", "", 200, ""},

		// A moderator without a rooms claim: every room, and site-wide
		// moderation, but no publishing.
		{"moderator", mod, "GET", "/v1/rooms/theirs", "", 200, ""},
		{"moderator", mod, "GET", "/v1/rooms/theirs/messages?limit=5", "", 200, ""},
		{"moderator", mod, "POST", "/v1/rooms/theirs/mutes", mute, 200, ""},
		{"moderator", mod, "GET", "/v1/rooms/theirs/mutes", "", 200, ""},
		{"moderator", mod, "DELETE", "/v1/rooms/theirs/mutes/" + victim, "", 204, ""},
		{"moderator", mod, "PUT", "/v1/rooms/theirs/settings", `{"slowModeSeconds":2}`, 200, ""},
		{"moderator", mod, "GET", "/v1/rooms/theirs/settings", "", 200, ""},
		{"moderator", mod, "POST", "/v1/mutes", mute, 200, ""},
		{"moderator", mod, "GET", "/v1/mutes?all=1", "", 200, ""},
		{"moderator", mod, "DELETE", "/v1/mutes/" + victim, "", 204, ""},
		{"moderator", mod, "POST", "/v1/bans", mute, 200, ""},
		{"moderator", mod, "GET", "/v1/bans", "", 200, ""},
		{"moderator", mod, "DELETE", "/v1/bans/" + victim, "", 204, ""},
		{"moderator", mod, "POST", "/v1/broadcast", publishBody, 403, notForMods},
		{"moderator", mod, "POST", "/v1/filter/reload", "", 200, ""},
		{"moderator", mod, "GET", "/v1/filter", "", 200, ""},
		{"moderator", mod, "POST", "/v1/filter/test", `{"text":"spam"}`, 200, ""},
		{"moderator", mod, "GET", "/v1/nodes", "", 200, ""},
		{"moderator", mod, "GET", "/v1/rooms", "", 200, ""},
		{"moderator", mod, "POST", "/v1/rooms/theirs/messages", publishBody, 403, notForMods},
		{"moderator", mod, "POST", "/v1/users/someone/messages", publishBody, 403, notForMods},
		{"moderator", mod, "GET", "/v1/nothing", "", 404, "no such endpoint: GET /v1/nothing"},

		// A moderator of one room: that room only, nothing site-wide.
		{"room moderator", roomMod, "GET", "/v1/rooms/mine", "", 200, ""},
		{"room moderator", roomMod, "GET", "/v1/rooms/mine/messages", "", 200, ""},
		{"room moderator", roomMod, "POST", "/v1/rooms/mine/mutes", mute, 200, ""},
		{"room moderator", roomMod, "PUT", "/v1/rooms/mine/settings", `{"closed":false}`, 200, ""},
		{"room moderator", roomMod, "DELETE", "/v1/rooms/mine/mutes/" + victim, "", 204, ""},
		{"room moderator", roomMod, "GET", "/v1/rooms/theirs", "", 403, notTheirRoom},
		{"room moderator", roomMod, "GET", "/v1/rooms/theirs/messages", "", 403, notTheirRoom},
		{"room moderator", roomMod, "POST", "/v1/rooms/theirs/mutes", mute, 403, notTheirRoom},
		{"room moderator", roomMod, "PUT", "/v1/rooms/theirs/settings", `{"closed":true}`, 403, notTheirRoom},
		{"room moderator", roomMod, "DELETE", "/v1/rooms/theirs/messages/1", "", 403, notTheirRoom},
		{"room moderator", roomMod, "POST", "/v1/bans", mute, 403, notSiteWide},
		{"room moderator", roomMod, "GET", "/v1/bans", "", 403, notSiteWide},
		{"room moderator", roomMod, "POST", "/v1/mutes", mute, 403, notSiteWide},
		{"room moderator", roomMod, "POST", "/v1/broadcast", publishBody, 403, notForMods},
		{"room moderator", roomMod, "POST", "/v1/filter/reload", "", 403, notSiteWide},
		{"room moderator", roomMod, "GET", "/v1/filter", "", 403, notSiteWide},
		{"room moderator", roomMod, "POST", "/v1/filter/test", `{"text":"spam"}`, 403, notSiteWide},
		{"room moderator", roomMod, "GET", "/v1/nodes", "", 403, notSiteWide},
		{"room moderator", roomMod, "GET", "/v1/rooms", "", 200, ""},
		{"room moderator", roomMod, "GET", "/v1/whoami", "", 200, ""},
		{"room moderator", roomMod, "POST", "/v1/rooms/mine/messages", publishBody, 403, notForMods},

		// Viewers have no business with the API.
		{"viewer", viewerTok, "GET", "/v1/rooms/mine", "", 403, notViewers},
		{"viewer", viewerTok, "GET", "/v1/nothing", "", 403, notViewers},
		{"viewer", viewerTok, "GET", "/v1/rooms", "", 403, notViewers},
		{"viewer", viewerTok, "GET", "/v1/whoami", "", 403, notViewers},
	}
	for _, c := range cases {
		status, code, body := call(t, s, c.bearer, c.method, c.path, c.body)
		if status != c.status {
			t.Errorf("%s: %s %s: %d, want %d: %s", c.who, c.method, c.path, status, c.status, body)
			continue
		}
		if c.message != "" {
			if e := apiError(t, body); e.Message != c.message || (status == 403 && code != "forbidden") {
				t.Errorf("%s: %s %s: %s %q, want %q", c.who, c.method, c.path, code, e.Message, c.message)
			}
		}
	}
}

// Bad tokens are 401 with the verifier's reason; API keys work as before,
// also when they look like a JWT.
func TestAPITokenErrors(t *testing.T) {
	s, _, _ := jwtStack(t)
	expired := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "m", "role": "moderator", "exp": time.Now().Add(-time.Hour).Unix()})
	wrongKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "m", "role": "admin", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte("not-the-secret-not-the-secret-0123"))
	if err != nil {
		t.Fatal(err)
	}
	noExp, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "m", "role": "admin"}).SignedString(jwtSecret)
	if err != nil {
		t.Fatal(err)
	}
	badRole := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "m", "role": "root"})
	for _, c := range []struct{ what, bearer, message string }{
		{"expired", expired, "token expired: exp has passed"},
		{"wrong key", wrongKey, "invalid token: signature invalid or algorithm not allowed"},
		{"no exp", noExp, "bad claims: exp claim missing"},
		{"unknown role", badRole, "bad claims: unknown role"},
		{"garbage with dots", "a.b.c", "invalid token: malformed"},
		{"wrong key, not a token", "nope", "invalid API key"},
	} {
		status, code, body := call(t, s, c.bearer, "GET", "/v1/rooms/lobby", "")
		if status != 401 || code != "unauthorized" || apiError(t, body).Message != c.message {
			t.Errorf("%s: %d %s, want 401 unauthorized %q", c.what, status, body, c.message)
		}
	}
}

// Without a JWT key the API knows no tokens: a token is a wrong API key,
// byte for byte the answer from before tokens were accepted.
func TestAPIWithoutVerifier(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	status, _, body := call(t, s, stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "root", "role": "admin"}), "GET", "/v1/rooms/lobby", "")
	if want := `{"error":{"code":"unauthorized","message":"invalid API key"}}`; status != 401 || string(body) != want {
		t.Fatalf("%d %s, want 401 %s", status, body, want)
	}
	status, _, body = call(t, s, "", "GET", "/v1/rooms/lobby", "")
	if want := `{"error":{"code":"unauthorized","message":"missing Authorization: Bearer \u003capi key\u003e"}}`; status != 401 || string(body) != want {
		t.Fatalf("%d %s, want 401 %s", status, body, want)
	}
}

// A moderation action records its author (api, or the moderator's public
// id) and is logged with who, what, where and to whom.
func TestModerationIsAudited(t *testing.T) {
	s, logs, v := jwtStack(t)
	mod := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "mod-7", "role": "moderator", "rooms": []string{"aud"}})
	modID := v.PublicID("mod-7")
	victim := v.PublicID("victim")
	sum := sha256.Sum256([]byte(stacktest.APIKey))
	keyFP := hex.EncodeToString(sum[:4])
	offsets := s.Publish(t, "aud", "to be deleted")

	steps := []struct {
		bearer, method, path, body string
		by, role, action, room     string
	}{
		{stacktest.APIKey, "POST", "/v1/rooms/aud/mutes", fmt.Sprintf(`{"publicId":%q,"seconds":30,"reason":"spam"}`, victim), "api", "api", "mute", "aud"},
		{mod, "POST", "/v1/rooms/aud/mutes", fmt.Sprintf(`{"publicId":%q,"seconds":60,"reason":"again"}`, victim), modID, "moderator", "mute", "aud"},
		{mod, "DELETE", "/v1/rooms/aud/mutes/" + victim, "", modID, "moderator", "unmute", "aud"},
		{mod, "PUT", "/v1/rooms/aud/settings", `{"slowModeSeconds":4}`, modID, "moderator", "settings", "aud"},
		{mod, "DELETE", fmt.Sprintf("/v1/rooms/aud/messages/%d", offsets[0]), "", modID, "moderator", "delete", "aud"},
		{stacktest.APIKey, "POST", "/v1/bans", fmt.Sprintf(`{"publicId":%q}`, victim), "api", "api", "ban", ""},
		{stacktest.APIKey, "DELETE", "/v1/bans/" + victim, "", "api", "api", "unban", ""},
		{stacktest.APIKey, "POST", "/v1/filter/reload", "", "api", "api", "filter_reload", ""},
	}
	for i, st := range steps {
		status, _, body := call(t, s, st.bearer, st.method, st.path, st.body)
		if status/100 != 2 {
			t.Fatalf("step %d %s %s: %d %s", i, st.method, st.path, status, body)
		}
		if st.action == "mute" {
			var m struct{ By string }
			if err := json.Unmarshal(body, &m); err != nil || m.By != st.by {
				t.Errorf("step %d: mute by %q, want %q: %s", i, m.By, st.by, body)
			}
		}
	}
	recs := logs.Records(t, "moderation")
	if len(recs) != len(steps) {
		t.Fatalf("%d audit records for %d actions: %v", len(recs), len(steps), recs)
	}
	for i, st := range steps {
		r := recs[i]
		if r["level"] != "INFO" || r["action"] != st.action || r["by"] != st.by || r["role"] != st.role || r["via"] != "api" {
			t.Errorf("record %d: %v, want %s by %s (%s)", i, r, st.action, st.by, st.role)
		}
		if room, _ := r["room"].(string); room != st.room {
			t.Errorf("record %d: room %q, want %q", i, room, st.room)
		}
		if key, _ := r["key"].(string); (st.by == "api") != (key == keyFP) {
			t.Errorf("record %d: key %q; the API key's fingerprint is %s", i, key, keyFP)
		}
		if wantTarget := st.action != "settings" && st.action != "delete" && st.action != "filter_reload"; wantTarget && r["target"] != victim {
			t.Errorf("record %d: target %v, want %s", i, r["target"], victim)
		}
	}
	if recs[0]["reason"] != "spam" || recs[0]["seconds"] != float64(30) {
		t.Errorf("mute record lacks its details: %v", recs[0])
	}
	if recs[4]["offset"] != float64(offsets[0]) {
		t.Errorf("delete record: %v, want offset %d", recs[4], offsets[0])
	}
	if recs[7]["words"] != float64(1) {
		t.Errorf("filter reload record: %v, want words 1", recs[7])
	}
	// The delete notice names the moderator, as one sent over WebSocket.
	_, body := s.Do(t, "GET", "/v1/rooms/aud/messages?limit=1", nil)
	if !strings.Contains(string(body), `"by":"`+modID+`"`) {
		t.Errorf("delete notice does not name the moderator %s: %s", modID, body)
	}
	// No record carries a secret.
	all := fmt.Sprint(recs)
	if strings.Contains(all, stacktest.APIKey) || strings.Contains(all, mod) {
		t.Error("an audit record carries the API key or the token")
	}
}

// GET /v1/rooms lists a room moderator's rooms only, counted and cut after
// the filter; everyone else sees them all.
func TestRoomListFollowsTheRoomsClaim(t *testing.T) {
	s, _, _ := jwtStack(t)
	for _, room := range []string{"mine", "mine", "theirs", "theirs", "theirs", "other"} {
		if _, err := clustertest.MustDial(t, s.WSURL).Join(room, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	list := func(bearer, query string) overview.RoomList {
		t.Helper()
		status, _, body := call(t, s, bearer, "GET", "/v1/rooms"+query, "")
		var l overview.RoomList
		if status != 200 || json.Unmarshal(body, &l) != nil {
			t.Fatalf("GET /v1/rooms%s: %d %s", query, status, body)
		}
		return l
	}
	names := func(l overview.RoomList) string {
		var n []string
		for _, r := range l.Rooms {
			n = append(n, fmt.Sprintf("%s:%d", r.Room, r.Online))
		}
		return fmt.Sprintf("%s total %d", strings.Join(n, " "), l.Total)
	}
	waitUntil(t, "three rooms listed", func() bool { return list(stacktest.APIKey, "").Total == 3 })
	if got := names(list(stacktest.APIKey, "")); got != "theirs:3 mine:2 other:1 total 3" {
		t.Errorf("an API key sees %s", got)
	}
	two := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "m", "role": "moderator", "rooms": []string{"mine", "other"}})
	if got := names(list(two, "")); got != "mine:2 other:1 total 2" {
		t.Errorf("a moderator of mine and other sees %s", got)
	}
	if got := names(list(two, "?limit=1")); got != "mine:2 total 2" {
		t.Errorf("with limit 1: %s", got)
	}
	if got := names(list(two, "?q=thei")); got != " total 0" {
		t.Errorf("searching for another's room: %s", got)
	}
	none := stacktest.Token(t, jwtSecret, jwt.MapClaims{"sub": "n", "role": "moderator", "rooms": []string{}})
	if l := list(none, ""); l.Total != 0 || l.Rooms == nil {
		t.Errorf("a moderator of no room sees %+v", l)
	}
}

package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	return stacktest.Token(t, testSecret, claims)
}

func authStack(t *testing.T, opts stacktest.Options) *stacktest.Stack {
	opts.Auth = auth.Config{HMACSecret: testSecret, Leeway: -1}
	return stacktest.Start(t, opts)
}

func (v *viewer) auth(tok string) *protocol.ServerMessage {
	v.t.Helper()
	v.send(map[string]any{"op": "auth", "token": tok})
	for {
		m := v.read(10 * time.Second)
		if m.Op == protocol.OpAuthed || m.Op == protocol.OpError {
			return m
		}
	}
}

func TestAuthIdentity(t *testing.T) {
	s := authStack(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	m := v.auth(token(t, jwt.MapClaims{"sub": "alice-42", "name": "Alice", "role": "moderator"}))
	if m.Op != protocol.OpAuthed || m.User.Name != "Alice" || m.User.Role != "moderator" || m.User.ID == "" || m.User.ID == "alice-42" {
		t.Fatalf("authed = %+v", m)
	}
	// The id others see is keyed and stable: the same on a second connection.
	w := dial(t, s.WSURL, nil)
	if m2 := w.auth(token(t, jwt.MapClaims{"sub": "alice-42"})); m2.User.ID != m.User.ID {
		t.Fatalf("public id changed: %s vs %s", m2.User.ID, m.User.ID)
	}
	v.join("a")
	w.join("a")
	ack := v.sendAndWait("a", "1", "signed in")
	for {
		b := w.read(5 * time.Second)
		if b.Op == protocol.OpBatch && len(b.Msgs) > 0 && b.Msgs[0].ID == ack.MsgID {
			if u := b.Msgs[0].User; u.ID != m.User.ID || u.Name != "Alice" {
				t.Fatalf("message author %+v", u)
			}
			break
		}
	}
}

func TestBadAndExpiredTokensClose4501(t *testing.T) {
	s := authStack(t, stacktest.Options{})
	for name, tok := range map[string]string{
		"garbage":    "not.a.token",
		"expired":    token(t, jwt.MapClaims{"sub": "bob", "exp": time.Now().Add(-time.Minute).Unix()}),
		"wrong key":  mustSign(t, jwt.MapClaims{"sub": "bob", "exp": time.Now().Add(time.Hour).Unix()}, []byte("another-secret-another-secret-00")),
		"alg none":   noneToken(t),
		"no subject": token(t, jwt.MapClaims{"name": "x"}),
	} {
		t.Run(name, func(t *testing.T) {
			v := dial(t, s.WSURL, nil)
			if m := v.auth(tok); m.Op != protocol.OpError || m.Code != protocol.CodeUnauthorized {
				t.Fatalf("reply %+v", m)
			}
			if code := v.closeCode(5 * time.Second); code != protocol.CloseUnauthorized {
				t.Fatalf("close %d, want 4501", code)
			}
		})
	}
}

func mustSign(t *testing.T, c jwt.MapClaims, key []byte) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func noneToken(t *testing.T) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "eve", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequireAuth(t *testing.T) {
	s := authStack(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) {
		c.RequireAuth = true
		c.HandshakeTimeout = 300 * time.Millisecond
	})})
	silent := dial(t, s.WSURL, nil)
	silent.send(map[string]any{"op": "join", "room": "x"})
	if m := silent.expect(protocol.OpError); m.Code != protocol.CodeUnauthorized {
		t.Fatalf("join before auth: %+v", m)
	}
	if code := silent.closeCode(5 * time.Second); code != protocol.CloseUnauthorized {
		t.Fatalf("no auth: close %d, want 4501", code)
	}
	ok := dial(t, s.WSURL, nil)
	if m := ok.auth(token(t, jwt.MapClaims{"sub": "carol"})); m.Op != protocol.OpAuthed {
		t.Fatalf("auth: %+v", m)
	}
	time.Sleep(500 * time.Millisecond) // past the handshake timeout
	ok.join("x")
}

func TestTokenExpiryCloses(t *testing.T) {
	s := authStack(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	if m := v.auth(token(t, jwt.MapClaims{"sub": "dave", "exp": time.Now().Add(1500 * time.Millisecond).Unix()})); m.Op != protocol.OpAuthed {
		t.Fatalf("auth: %+v", m)
	}
	if code := v.closeCode(10 * time.Second); code != protocol.CloseUnauthorized {
		t.Fatalf("expired token: close %d, want 4501", code)
	}
}

func TestAnonymousSendOff(t *testing.T) {
	s := authStack(t, stacktest.Options{AnonymousSend: "off"})
	guest, user := dial(t, s.WSURL, nil), dial(t, s.WSURL, nil)
	user.auth(token(t, jwt.MapClaims{"sub": "erin"}))
	guest.join("r")
	user.join("r")
	if m := guest.sendAndWait("r", "g", "hi"); m.Code != protocol.CodeUnauthorized {
		t.Fatalf("guest send: %+v", m)
	}
	if m := user.sendAndWait("r", "u", "hi"); m.Op != protocol.OpAck {
		t.Fatalf("user send: %+v", m)
	}
}

func TestRoomsClaim(t *testing.T) {
	s := authStack(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	v.auth(token(t, jwt.MapClaims{"sub": "frank", "rooms": []string{"allowed"}}))
	v.join("allowed")
	v.send(map[string]any{"op": "join", "room": "elsewhere"})
	if m := v.expect(protocol.OpError); m.Code != protocol.CodeForbidden || m.Room != "elsewhere" {
		t.Fatalf("join outside the claim: %+v", m)
	}
}

func TestBannedUserCannotReconnect(t *testing.T) {
	s := authStack(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	v.auth(token(t, jwt.MapClaims{"sub": "mallory"}))
	bystander := dial(t, s.WSURL, nil)
	bystander.auth(token(t, jwt.MapClaims{"sub": "grace"}))
	if status, body := s.Do(t, "POST", "/v1/bans", `{"user":"mallory","seconds":3600,"reason":"spam"}`); status != 200 {
		t.Fatalf("ban: %d %s", status, body)
	}
	if code := v.closeCode(5 * time.Second); code != protocol.CloseBanned {
		t.Fatalf("banned: close %d, want 4503", code)
	}
	again := dial(t, s.WSURL, nil)
	again.send(map[string]any{"op": "auth", "token": token(t, jwt.MapClaims{"sub": "mallory"})})
	if code := again.closeCode(5 * time.Second); code != protocol.CloseBanned {
		t.Fatalf("banned user reconnecting: close %d, want 4503", code)
	}
	bystander.send(map[string]any{"op": "ping"})
	bystander.expect(protocol.OpPong)
}

func TestModeratorOverWebSocket(t *testing.T) {
	logs := &stacktest.Logs{}
	s := authStack(t, stacktest.Options{Logger: logs.Logger()})
	mod, viewer := dial(t, s.WSURL, nil), dial(t, s.WSURL, nil)
	modID := mod.auth(token(t, jwt.MapClaims{"sub": "mod-1", "role": "moderator"})).User.ID
	who := viewer.auth(token(t, jwt.MapClaims{"sub": "heidi"}))
	mod.join("mr")
	viewer.join("mr")

	viewer.send(map[string]any{"op": "moderate", "action": "mute", "room": "mr", "user": who.User.ID})
	if m := viewer.expect(protocol.OpError); m.Code != protocol.CodeForbidden {
		t.Fatalf("viewer moderating: %+v", m)
	}
	mod.send(map[string]any{"op": "moderate", "action": "mute", "room": "mr", "user": who.User.ID, "seconds": 60, "reason": "calm down"})
	if m := mod.expect(protocol.OpModerated); m.Action != "mute" || m.Target != who.User.ID {
		t.Fatalf("moderated: %+v", m)
	}
	if m := viewer.sendAndWait("mr", "1", "hello?"); m.Code != protocol.CodeMuted {
		t.Fatalf("muted viewer: %+v", m)
	}
	mod.send(map[string]any{"op": "moderate", "action": "settings", "room": "mr", "slowModeSeconds": 5})
	mod.expect(protocol.OpModerated)
	_, body := s.Do(t, "GET", "/v1/rooms/mr", nil)
	if !contains(body, `"slowModeSeconds":5`) {
		t.Fatalf("settings not applied: %s", body)
	}
	ack := mod.sendAndWait("mr", "m1", "to be deleted")
	mod.send(map[string]any{"op": "moderate", "action": "delete", "room": "mr", "msgId": ack.MsgID})
	mod.expect(protocol.OpModerated)
	mod.send(map[string]any{"op": "moderate", "action": "ban", "user": who.User.ID})
	mod.expect(protocol.OpModerated)
	if code := viewer.closeCode(5 * time.Second); code != protocol.CloseBanned {
		t.Fatalf("banned over WebSocket: close %d", code)
	}
	mod.send(map[string]any{"op": "moderate", "action": "explode"})
	if m := mod.expect(protocol.OpError); m.Code != protocol.CodeBadRequest {
		t.Fatalf("bad action: %+v", m)
	}
	// Each action is in the audit log, as the moderator's, from WebSocket.
	var actions []string
	for _, r := range logs.Records(t, "moderation") {
		if r["by"] != modID || r["role"] != "moderator" || r["via"] != "ws" {
			t.Errorf("audit record %v: want by %s, role moderator, via ws", r, modID)
		}
		actions = append(actions, fmt.Sprint(r["action"]))
	}
	if got := strings.Join(actions, " "); got != "mute settings delete ban" {
		t.Errorf("audited actions %q, want mute settings delete ban", got)
	}
}

func TestRoomLimitedModerator(t *testing.T) {
	s := authStack(t, stacktest.Options{})
	mod := dial(t, s.WSURL, nil)
	mod.auth(token(t, jwt.MapClaims{"sub": "room-mod", "role": "moderator", "rooms": []string{"mine"}}))
	mod.send(map[string]any{"op": "moderate", "action": "settings", "room": "theirs", "closed": true})
	if m := mod.expect(protocol.OpError); m.Code != protocol.CodeForbidden {
		t.Fatalf("moderating another room: %+v", m)
	}
	mod.send(map[string]any{"op": "moderate", "action": "ban", "user": "u_someone"})
	if m := mod.expect(protocol.OpError); m.Code != protocol.CodeForbidden {
		t.Fatalf("site-wide ban from a room moderator: %+v", m)
	}
	mod.send(map[string]any{"op": "moderate", "action": "settings", "room": "mine", "slowModeSeconds": 3})
	mod.expect(protocol.OpModerated)
}

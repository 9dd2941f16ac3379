package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

// sendAndWait sends text and returns the ack or nack.
func (v *viewer) sendAndWait(room, id, text string) *protocol.ServerMessage {
	v.t.Helper()
	v.send(map[string]any{"op": "send", "room": room, "id": id, "text": text})
	for {
		m := v.read(10 * time.Second)
		if (m.Op == protocol.OpAck || m.Op == protocol.OpNack) && m.ID == id {
			return m
		}
	}
}

// publicID learns a guest's public id from its own echoed message.
func publicID(t *testing.T, v, watcher *viewer, room string) string {
	t.Helper()
	ack := v.sendAndWait(room, "who", fmt.Sprintf("hello %d", time.Now().UnixNano()))
	if ack.Op != protocol.OpAck {
		t.Fatalf("send: %+v", ack)
	}
	for {
		m := watcher.read(10 * time.Second)
		if m.Op == protocol.OpBatch {
			for _, msg := range m.Msgs {
				if msg.ID == ack.MsgID {
					return msg.User.ID
				}
			}
		}
	}
}

func TestMuteAndUnmute(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	abuser, ordinary := dial(t, s.WSURL, nil), dial(t, s.WSURL, nil)
	abuser.join("m")
	ordinary.join("m")
	id := publicID(t, abuser, ordinary, "m")

	status, body := s.Do(t, "POST", "/v1/rooms/m/mutes", fmt.Sprintf(`{"publicId":%q,"seconds":600,"reason":"spam"}`, id))
	if status != 200 {
		t.Fatalf("mute: %d %s", status, body)
	}
	if m := abuser.sendAndWait("m", "a1", "still here"); m.Op != protocol.OpNack || m.Code != protocol.CodeMuted || !strings.Contains(m.Message, "spam") || m.RetryAfterMs <= 0 {
		t.Fatalf("muted user's send: %+v", m)
	}
	if m := ordinary.sendAndWait("m", "o1", "unaffected"); m.Op != protocol.OpAck {
		t.Fatalf("ordinary user's send: %+v", m)
	}
	_, body = s.Do(t, "GET", "/v1/rooms/m/mutes", nil)
	if !strings.Contains(string(body), id) {
		t.Fatalf("mute not listed: %s", body)
	}
	// The mute holds only in its room; a global one holds everywhere.
	abuser.join("other")
	if m := abuser.sendAndWait("other", "a2", "elsewhere"); m.Op != protocol.OpAck {
		t.Fatalf("room mute leaked: %+v", m)
	}
	if status, body := s.Do(t, "POST", "/v1/mutes", fmt.Sprintf(`{"publicId":%q}`, id)); status != 200 {
		t.Fatalf("global mute: %d %s", status, body)
	}
	if m := abuser.sendAndWait("other", "a3", "elsewhere again"); m.Code != protocol.CodeMuted {
		t.Fatalf("global mute: %+v", m)
	}
	for _, path := range []string{"/v1/rooms/m/mutes/" + id, "/v1/mutes/" + id} {
		if status, body := s.Do(t, "DELETE", path, nil); status != http.StatusNoContent {
			t.Fatalf("unmute %s: %d %s", path, status, body)
		}
	}
	if m := abuser.sendAndWait("m", "a4", "back"); m.Op != protocol.OpAck {
		t.Fatalf("after unmute: %+v", m)
	}
}

func TestBanClosesWith4503(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	abuser, ordinary := dial(t, s.WSURL, nil), dial(t, s.WSURL, nil)
	abuser.join("b")
	ordinary.join("b")
	id := publicID(t, abuser, ordinary, "b")
	if status, body := s.Do(t, "POST", "/v1/bans", fmt.Sprintf(`{"publicId":%q,"reason":"abuse"}`, id)); status != 200 {
		t.Fatalf("ban: %d %s", status, body)
	}
	if code := abuser.closeCode(5 * time.Second); code != protocol.CloseBanned {
		t.Fatalf("banned user closed with %d, want 4503", code)
	}
	if m := ordinary.sendAndWait("b", "o", "fine"); m.Op != protocol.OpAck {
		t.Fatalf("ordinary user: %+v", m)
	}
	_, body := s.Do(t, "GET", "/v1/bans", nil)
	if !strings.Contains(string(body), id) {
		t.Fatalf("ban not listed: %s", body)
	}
	if status, _ := s.Do(t, "DELETE", "/v1/bans/"+id, nil); status != http.StatusNoContent {
		t.Fatalf("unban: %d", status)
	}
}

func TestDeleteMessage(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	v.join("del")
	offsets := s.Publish(t, "del", "keep", "remove me", "keep too")
	got := v.collect("del", 3)
	status, body := s.Do(t, "DELETE", fmt.Sprintf("/v1/rooms/del/messages/%d", offsets[1]), nil)
	if status != 200 {
		t.Fatalf("delete: %d %s", status, body)
	}
	del := v.collect("del", 1)[0]
	var data struct {
		IDs []string `json:"ids"`
	}
	if del.Type != protocol.TypeDelete || json.Unmarshal(del.Data, &data) != nil || len(data.IDs) != 1 || data.IDs[0] != got[1].ID {
		t.Fatalf("delete message %+v", del)
	}
	_, body = s.Do(t, "GET", "/v1/rooms/del/messages", nil)
	if strings.Contains(string(body), "remove me") || !strings.Contains(string(body), "keep too") {
		t.Fatalf("history after delete: %s", body)
	}
	// By id too; an unknown one is 404.
	if status, _ := s.Do(t, "DELETE", "/v1/rooms/del/messages/"+got[0].ID, nil); status != 200 {
		t.Fatalf("delete by id: %d", status)
	}
	if status, _ := s.Do(t, "DELETE", "/v1/rooms/del/messages/nope", nil); status != 404 {
		t.Fatalf("delete unknown: %d", status)
	}
	// A fresh viewer does not get the deleted messages back.
	w := dial(t, s.WSURL, nil)
	w.join("del")
	for _, m := range w.collectFresh("del", 3) {
		if m.Text == "remove me" || m.Text == "keep" {
			t.Fatalf("replay brought back a deleted message: %+v", m)
		}
	}
}

func TestRoomSettings(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	v.join("set")
	if status, body := s.Do(t, "PUT", "/v1/rooms/set/settings", `{"slowModeSeconds":30}`); status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	if m := v.sendAndWait("set", "1", "first"); m.Op != protocol.OpAck {
		t.Fatalf("first: %+v", m)
	}
	if m := v.sendAndWait("set", "2", "second"); m.Code != protocol.CodeSlowMode || m.RetryAfterMs <= 0 {
		t.Fatalf("slow mode: %+v", m)
	}
	s.Do(t, "PUT", "/v1/rooms/set/settings", `{"slowModeSeconds":0,"maxTextRunes":5}`)
	if m := v.sendAndWait("set", "3", "too long now"); m.Code != protocol.CodeTooLong {
		t.Fatalf("room text limit: %+v", m)
	}
	s.Do(t, "PUT", "/v1/rooms/set/settings", `{"closed":true}`)
	if m := v.sendAndWait("set", "4", "hi"); m.Code != protocol.CodeRoomClosed {
		t.Fatalf("closed room: %+v", m)
	}
	_, body := s.Do(t, "GET", "/v1/rooms/set", nil)
	if !strings.Contains(string(body), `"closed":true`) || !strings.Contains(string(body), `"maxTextRunes":5`) {
		t.Fatalf("room info: %s", body)
	}
	if status, _ := s.Do(t, "PUT", "/v1/rooms/set/settings", `{"slowModeSeconds":99999}`); status != 400 {
		t.Fatalf("invalid settings accepted: %d", status)
	}
}

func TestSendLimits(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Logic: logic.Config{SendRate: 3}})
	v, other := dial(t, s.WSURL, nil), dial(t, s.WSURL, nil)
	v.join("lim")
	other.join("lim")
	if m := v.sendAndWait("lim", "d1", "same"); m.Op != protocol.OpAck {
		t.Fatal(m)
	}
	if m := v.sendAndWait("lim", "d2", "ＳＡＭＥ"); m.Code != protocol.CodeDuplicate {
		t.Fatalf("duplicate (after normalization): %+v", m)
	}
	v.sendAndWait("lim", "r2", "two")
	v.sendAndWait("lim", "r3", "three")
	if m := v.sendAndWait("lim", "r4", "four"); m.Code != protocol.CodeRateLimited || m.RetryAfterMs <= 0 {
		t.Fatalf("rate limit: %+v", m)
	}
	if m := other.sendAndWait("lim", "o", "four"); m.Op != protocol.OpAck {
		t.Fatalf("other user: %+v", m)
	}
}

func TestKeywordFilter(t *testing.T) {
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("# blocked\nbadword\n坏词\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := stacktest.Start(t, stacktest.Options{BlockedWordsFile: words})
	v := dial(t, s.WSURL, nil)
	v.join("f")
	for i, text := range []string{"a badword here", "ＢＡＤＷＯＲＤ!", "bad\u200bword?", "这是坏词"} {
		if m := v.sendAndWait("f", fmt.Sprint("b", i), text); m.Code != protocol.CodeBlockedContent {
			t.Fatalf("%q: %+v", text, m)
		}
	}
	if m := v.sendAndWait("f", "ok", "a good word"); m.Op != protocol.OpAck {
		t.Fatalf("clean text: %+v", m)
	}
	// Reload through the API after changing the file.
	if err := os.WriteFile(words, []byte("good\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, body := s.Do(t, "POST", "/v1/filter/reload", nil); status != 200 || !strings.Contains(string(body), `"words":1`) {
		t.Fatalf("reload: %d %s", status, body)
	}
	if m := v.sendAndWait("f", "ok2", "badword is fine now"); m.Op != protocol.OpAck {
		t.Fatalf("after reload: %+v", m)
	}
	if m := v.sendAndWait("f", "no", "so good"); m.Code != protocol.CodeBlockedContent {
		t.Fatalf("new word after reload: %+v", m)
	}
}

func TestKeywordFilterMask(t *testing.T) {
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("badword\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := stacktest.Start(t, stacktest.Options{BlockedWordsFile: words, Logic: logic.Config{FilterMask: true}})
	v, w := dial(t, s.WSURL, nil), dial(t, s.WSURL, nil)
	v.join("fm")
	w.join("fm")
	if m := v.sendAndWait("fm", "1", "a ＢＡＤＷＯＲＤ here"); m.Op != protocol.OpAck {
		t.Fatalf("mask mode refused: %+v", m)
	}
	if got := w.collect("fm", 1)[0]; got.Text != "a ******* here" {
		t.Fatalf("masked text %q", got.Text)
	}
}

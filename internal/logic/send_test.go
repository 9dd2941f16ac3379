package logic_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/protocol"
)

const testKey = "logic-test-key"

// newLogic runs a Logic on a real embedded bus (memory storage). Its clock
// advances a millisecond a reading, so every message gets its own ts.
func newLogic(t *testing.T, cfg logic.Config) (*logic.Logic, *bus.Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("bus close: %v", err)
		}
	})
	var tick atomic.Int64
	cfg.Store = b
	cfg.APIKeys = []string{testKey}
	cfg.Now = func() time.Time { return time.UnixMilli(1763900000000 + tick.Add(1)) }
	l, err := logic.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, b
}

func viewer(id string) protocol.User {
	return protocol.User{ID: id, Name: id, Role: protocol.RoleViewer}
}

func send(t *testing.T, l *logic.Logic, user protocol.User, room, text string) (uint64, error) {
	t.Helper()
	offset, _, err := l.Send(context.Background(), user, &protocol.ClientMessage{Op: protocol.OpSend, Room: room, Text: text})
	return offset, err
}

// api serves one request of the HTTP API in-process.
func api(t *testing.T, l *logic.Logic, method, path, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	w := httptest.NewRecorder()
	l.Handler().ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

// checkMetadata verifies that each message's Type and TS are set and agree
// with its body, and that the types are want, in order.
func checkMetadata(t *testing.T, read string, msgs []protocol.Stored, want ...string) {
	t.Helper()
	if len(msgs) != len(want) {
		t.Fatalf("%s: %d messages, want %d", read, len(msgs), len(want))
	}
	for i, m := range msgs {
		var body protocol.Body
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatalf("%s: body %s: %v", read, m.Body, err)
		}
		if m.Type != want[i] || m.Type != body.Type || m.TS == 0 || m.TS != body.TS {
			t.Errorf("%s: message %d has type %q ts %d; body %s; want type %q", read, i, m.Type, m.TS, m.Body, want[i])
		}
	}
}

// Every writer of room messages (a viewer's send, an API publish, a
// moderator's delete notice) gives the store the type and ts of the body
// it encoded, so that live delivery and history carry them.
func TestWritersStoreTypeAndTS(t *testing.T) {
	l, b := newLogic(t, logic.Config{})
	const room = "meta"
	live := make(chan protocol.Stored, 16)
	unsubscribe, err := b.SubscribeRoom(room, func(m protocol.Stored) { live <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()

	sent, err := send(t, l, viewer("u1"), room, "hello")
	if err != nil {
		t.Fatal(err)
	}
	status, body := api(t, l, "POST", "/v1/rooms/"+room+"/messages",
		`{"messages":[{"type":"gift","text":"","data":{"gift":"rocket"}},{"text":"from the api"}]}`)
	if status != http.StatusOK {
		t.Fatalf("publish: %d %s", status, body)
	}
	if _, err := l.DeleteMessage(context.Background(), room, strconv.FormatUint(sent, 10), logic.Actor{By: "mod", Role: "moderator", Via: "ws"}); err != nil {
		t.Fatal(err)
	}

	var got []protocol.Stored
	for len(got) < 4 {
		select {
		case m := <-live:
			got = append(got, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("live: %d of 4 messages", len(got))
		}
	}
	checkMetadata(t, "live", got, protocol.TypeDanmaku, protocol.TypeGift, protocol.TypeDanmaku, protocol.TypeDelete)
	// The deleted send is gone from history; the rest read back as they
	// were delivered.
	hist, _, err := b.After(context.Background(), room, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkMetadata(t, "history", hist, protocol.TypeGift, protocol.TypeDanmaku, protocol.TypeDelete)
	latest, err := b.Latest(context.Background(), room, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkMetadata(t, "latest", latest, protocol.TypeDelete)
}

package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/internal/leaktest"
	"github.com/danmaku/danmaku/protocol"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// viewer is a test WebSocket client speaking the raw protocol.
type viewer struct {
	t     testing.TB
	ws    *websocket.Conn
	last  map[string]uint64
	fresh map[string]bool // the next message starts a fresh view: its prev is not checked
}

func dial(t testing.TB, url string, opts *websocket.DialOptions) *viewer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(16 << 20)
	v := &viewer{t: t, ws: ws, last: map[string]uint64{}, fresh: map[string]bool{}}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return v
}

func (v *viewer) send(m any) {
	v.t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		v.t.Fatal(err)
	}
	v.sendRaw(websocket.MessageText, data)
}

func (v *viewer) sendRaw(typ websocket.MessageType, data []byte) {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.ws.Write(ctx, typ, data); err != nil {
		v.t.Fatalf("write: %v", err)
	}
}

// read returns the next server message, failing the test after timeout.
func (v *viewer) read(timeout time.Duration) *protocol.ServerMessage {
	v.t.Helper()
	m, err := v.tryRead(timeout)
	if err != nil {
		v.t.Fatalf("read: %v", err)
	}
	return m
}

func (v *viewer) tryRead(timeout time.Duration) (*protocol.ServerMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, data, err := v.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	m, err := protocol.DecodeServer(data)
	if err != nil {
		return nil, errors.New("bad server frame: " + string(data))
	}
	return m, nil
}

// expect reads until a message with op arrives, skipping online updates
// and room batches (a sender's own message may arrive before its ack).
func (v *viewer) expect(op string) *protocol.ServerMessage {
	v.t.Helper()
	for {
		m := v.read(10 * time.Second)
		if m.Op == op {
			return m
		}
		if m.Op == protocol.OpOnline || m.Op == protocol.OpBatch {
			continue
		}
		v.t.Fatalf("expected %q, got %+v", op, m)
	}
}

// join joins room and returns the joined reply.
func (v *viewer) join(room string) *protocol.ServerMessage {
	v.t.Helper()
	v.send(map[string]any{"op": "join", "room": room})
	j := v.expect(protocol.OpJoined)
	v.last[room] = j.Offset
	return j
}

// collect reads room messages until n have arrived, checking order and the
// prev chain against the last offset seen.
func (v *viewer) collect(room string, n int) []protocol.Message {
	v.t.Helper()
	var got []protocol.Message
	for len(got) < n {
		m := v.read(10 * time.Second)
		if m.Op != protocol.OpBatch || m.Room != room {
			continue
		}
		for _, msg := range m.Msgs {
			if msg.Offset <= v.last[room] {
				v.t.Fatalf("duplicate or out of order: offset %d after %d", msg.Offset, v.last[room])
			}
			if msg.Prev != v.last[room] && !v.fresh[room] {
				v.t.Fatalf("gap: message %d has prev %d, last seen %d", msg.Offset, msg.Prev, v.last[room])
			}
			v.last[room] = msg.Offset
			v.fresh[room] = false
			got = append(got, msg)
		}
	}
	if len(got) != n {
		v.t.Fatalf("got %d messages, want %d", len(got), n)
	}
	return got
}

// closeCode waits for the server to close the connection and returns the
// close status.
func (v *viewer) closeCode(timeout time.Duration) websocket.StatusCode {
	v.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, err := v.tryRead(time.Until(deadline))
		if err == nil {
			continue
		}
		return websocket.CloseStatus(err)
	}
	v.t.Fatalf("connection not closed within %s", timeout)
	return 0
}

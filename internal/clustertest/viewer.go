package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/protocol"
)

// Viewer is a raw protocol client that keeps every room message it gets,
// in order, and the latest online count of each room.
type Viewer struct {
	t  testing.TB
	ws *websocket.Conn

	replies chan *protocol.ServerMessage // everything but batches and online counts

	mu     sync.Mutex // guards the fields below
	msgs   map[string][]protocol.Message
	online map[string]int64
	epochs map[string]string

	done chan struct{} // closed when the reader stops
	err  error         // why it stopped; set before done is closed
}

// Dial connects a viewer to a node's WebSocket URL.
func Dial(t testing.TB, url string) (*Viewer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{protocol.Subprotocol}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(16 << 20)
	v := &Viewer{
		t: t, ws: ws, replies: make(chan *protocol.ServerMessage, 1024),
		msgs: map[string][]protocol.Message{}, online: map[string]int64{}, epochs: map[string]string{},
		done: make(chan struct{}),
	}
	go v.read()
	t.Cleanup(v.Close)
	return v, nil
}

// MustDial is Dial failing the test.
func MustDial(t testing.TB, url string) *Viewer {
	t.Helper()
	v, err := Dial(t, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return v
}

func (v *Viewer) read() {
	defer close(v.done)
	for {
		_, data, err := v.ws.Read(context.Background())
		if err != nil {
			v.err = err
			return
		}
		m, err := protocol.DecodeServer(data)
		if err != nil {
			v.err = fmt.Errorf("bad frame %s: %w", data, err)
			return
		}
		switch m.Op {
		case protocol.OpBatch:
			v.mu.Lock()
			v.msgs[m.Room] = append(v.msgs[m.Room], m.Msgs...)
			v.mu.Unlock()
		case protocol.OpOnline:
			v.mu.Lock()
			v.online[m.Room] = m.Count
			v.mu.Unlock()
		default:
			if m.Op == protocol.OpJoined {
				v.mu.Lock()
				v.online[m.Room] = m.Online
				v.epochs[m.Room] = m.Epoch
				v.mu.Unlock()
			}
			select {
			case v.replies <- m:
			default: // nobody reads replies this far behind; drop
			}
		}
	}
}

// Close closes the connection and waits for the reader.
func (v *Viewer) Close() {
	_ = v.ws.CloseNow()
	<-v.done
}

// Closed returns a channel closed when the connection ends, and the close
// status code (once closed).
func (v *Viewer) Closed() <-chan struct{} { return v.done }

// CloseCode is the close code the server sent, or -1.
func (v *Viewer) CloseCode() int { return int(websocket.CloseStatus(v.err)) }

func (v *Viewer) send(m any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return v.ws.Write(ctx, websocket.MessageText, data)
}

// reply waits for the next reply with op in ops.
func (v *Viewer) reply(timeout time.Duration, ops ...string) (*protocol.ServerMessage, error) {
	deadline := time.After(timeout)
	for {
		select {
		case m := <-v.replies:
			for _, op := range ops {
				if m.Op == op {
					return m, nil
				}
			}
		case <-v.done:
			return nil, fmt.Errorf("connection closed: %w", v.err)
		case <-deadline:
			return nil, fmt.Errorf("no %v within %s", ops, timeout)
		}
	}
}

// Join joins room fresh, or resuming after since within epoch.
func (v *Viewer) Join(room string, since *uint64, epoch string) (*protocol.ServerMessage, error) {
	if err := v.send(protocol.ClientMessage{Op: protocol.OpJoin, Room: room, Since: since, Epoch: epoch}); err != nil {
		return nil, err
	}
	m, err := v.reply(20*time.Second, protocol.OpJoined, protocol.OpError)
	if err != nil {
		return nil, err
	}
	if m.Op == protocol.OpError {
		return nil, fmt.Errorf("join %s: %s: %s", room, m.Code, m.Message)
	}
	return m, nil
}

// Send sends text to room and waits for its ack (offset) or nack (error
// with the code).
func (v *Viewer) Send(room, id, text string) (uint64, error) {
	if err := v.send(protocol.ClientMessage{Op: protocol.OpSend, Room: room, ID: id, Text: text}); err != nil {
		return 0, err
	}
	for {
		m, err := v.reply(20*time.Second, protocol.OpAck, protocol.OpNack)
		if err != nil {
			return 0, err
		}
		if m.ID != id {
			continue
		}
		if m.Op == protocol.OpNack {
			return 0, &protocol.CodeError{Code: m.Code, Message: m.Message}
		}
		return m.Offset, nil
	}
}

// Messages returns the room messages received so far, in order.
func (v *Viewer) Messages(room string) []protocol.Message {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]protocol.Message(nil), v.msgs[room]...)
}

// Online is the room's count in the latest joined or online frame.
func (v *Viewer) Online(room string) int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.online[room]
}

// Epoch is the epoch of the room's last joined reply.
func (v *Viewer) Epoch(room string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.epochs[room]
}

// WaitMessages waits until at least n messages of room have arrived.
func (v *Viewer) WaitMessages(room string, n int, timeout time.Duration) ([]protocol.Message, error) {
	deadline := time.Now().Add(timeout)
	for {
		got := v.Messages(room)
		if len(got) >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("%d of %d messages of %s within %s", len(got), n, room, timeout)
		}
		select {
		case <-v.done:
			if got := v.Messages(room); len(got) < n {
				return got, fmt.Errorf("closed after %d of %d messages: %w", len(got), n, v.err)
			}
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// CheckChain reports the first duplicate or gap in msgs: each message must
// follow the previous by its prev.
func CheckChain(msgs []protocol.Message) error {
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Offset <= msgs[i-1].Offset {
			return fmt.Errorf("message %d (offset %d) after offset %d: duplicate or out of order", i, msgs[i].Offset, msgs[i-1].Offset)
		}
		if msgs[i].Prev != msgs[i-1].Offset {
			return fmt.Errorf("message %d (offset %d) has prev %d, after offset %d: gap", i, msgs[i].Offset, msgs[i].Prev, msgs[i-1].Offset)
		}
	}
	return nil
}

var errNoMessages = errors.New("no messages")

// Last is the offset of the last message of room received, for a resume.
func (v *Viewer) Last(room string) (uint64, error) {
	msgs := v.Messages(room)
	if len(msgs) == 0 {
		return 0, errNoMessages
	}
	return msgs[len(msgs)-1].Offset, nil
}

// Wait waits for the next frame with op that is not a batch or an online
// count (user, broadcast, error, …).
func (v *Viewer) Wait(op string, timeout time.Duration) (*protocol.ServerMessage, error) {
	return v.reply(timeout, op)
}

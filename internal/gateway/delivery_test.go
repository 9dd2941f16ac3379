package gateway_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

func TestJoinReceiveInOrder(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	j := v.join("lobby")
	if j.Epoch == "" || j.Recovered || j.Online != 1 {
		t.Fatalf("joined = %+v", j)
	}
	offsets := s.Publish(t, "lobby", "a", "b", "c")
	got := v.collect("lobby", 3)
	for i, m := range got {
		if m.Offset != offsets[i] || m.Text != string(rune('a'+i)) || m.ID == "" || m.TS == 0 || m.Type != "danmaku" {
			t.Fatalf("message %d = %+v, offsets %v", i, m, offsets)
		}
	}
}

func TestSendAckAndEcho(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	a := dial(t, s.WSURL, nil)
	b := dial(t, s.WSURL, nil)
	a.join("r1")
	b.join("r1")
	a.send(map[string]any{"op": "send", "room": "r1", "id": "c1", "text": "  hi\nthere ", "color": "#FF00AA", "mode": "top"})
	// The sender is a member too: its own message may arrive before the ack.
	var ack *protocol.ServerMessage
	for ack == nil {
		if m := a.read(5 * time.Second); m.Op == protocol.OpAck {
			ack = m
		}
	}
	if ack.ID != "c1" || ack.Offset == 0 || ack.MsgID == "" {
		t.Fatalf("ack = %+v", ack)
	}
	got := b.collect("r1", 1)[0]
	if got.Text != "hi there" || got.Color != "#ff00aa" || got.Mode != "top" || got.User == nil || got.User.ID == "" || got.Offset != ack.Offset || got.ID != ack.MsgID {
		t.Fatalf("received %+v for ack %+v", got, ack)
	}
}

// A sender alone in its room gets its ack and its own message, and the two
// share a write (internal/gateway/ackride.go): danmaku_acks_total counts
// every ack once, and those that rode with a frame. Under a heavily loaded
// host a few may be written alone after the hold, so the test asks for
// one of five.
func TestAckRidesWithTheSendersFrame(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	a := dial(t, s.WSURL, nil)
	a.join("solo")
	const sends = 5
	for i := range sends {
		id := strconv.Itoa(i)
		a.send(map[string]any{"op": "send", "room": "solo", "id": id, "text": "hi " + id})
		var ack, own bool
		for !ack || !own {
			switch m := a.read(5 * time.Second); m.Op {
			case protocol.OpAck:
				ack = ack || m.ID == id
			case protocol.OpBatch:
				for _, msg := range m.Msgs {
					own = own || msg.Text == "hi "+id
				}
			}
		}
	}
	_, body := s.Do(t, "GET", "/metrics", nil)
	rode := metricValue(t, body, `danmaku_acks_total{written="with_frame"}`)
	alone := metricValue(t, body, `danmaku_acks_total{written="alone"}`)
	if rode+alone != sends || rode < 1 {
		t.Fatalf("acks with a frame %v, alone %v; want %d in all, at least one with a frame", rode, alone, sends)
	}
}

// metricValue reads one sample from a Prometheus text exposition.
func metricValue(t *testing.T, body []byte, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in the metrics", series)
	return 0
}

// TestOrderedFanOut: 1,000 viewers over several rooms, each gets every
// message of its room once, in the same order.
func TestOrderedFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.BatchWindow = 5 * time.Millisecond })})
	const viewers, rooms, perRoom = 1000, 4, 200
	vs := make([]*viewer, viewers)
	for i := range vs {
		vs[i] = dial(t, s.WSURL, nil)
		vs[i].join("fan" + strconv.Itoa(i%rooms))
	}
	want := make([][]uint64, rooms)
	var pub sync.WaitGroup
	for r := range rooms {
		pub.Add(1)
		go func() {
			defer pub.Done()
			for k := 0; k < perRoom; k += 20 {
				texts := make([]string, 20)
				for i := range texts {
					texts[i] = fmt.Sprintf("m%d", k+i)
				}
				want[r] = append(want[r], s.Publish(t, "fan"+strconv.Itoa(r), texts...)...)
			}
		}()
	}
	pub.Wait()
	var wg sync.WaitGroup
	errs := make(chan error, viewers)
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := "fan" + strconv.Itoa(i%rooms)
			got := v.collectErr(room, perRoom)
			if len(got) != perRoom {
				errs <- fmt.Errorf("viewer %d: got %d of %d messages in order", i, len(got), perRoom)
				return
			}
			for k, m := range got {
				if m.Offset != want[i%rooms][k] {
					errs <- fmt.Errorf("viewer %d: message %d offset %d, want %d", i, k, m.Offset, want[i%rooms][k])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestOnlineCount(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.OnlineInterval = 20 * time.Millisecond })})
	a := dial(t, s.WSURL, nil)
	a.join("room.with:odd-chars_1")
	b := dial(t, s.WSURL, nil)
	if j := b.join("room.with:odd-chars_1"); j.Online != 2 {
		t.Fatalf("online on join = %d, want 2", j.Online)
	}
	for {
		m := a.read(5 * time.Second)
		if m.Op == protocol.OpOnline && m.Count == 2 && m.Room == "room.with:odd-chars_1" {
			break
		}
	}
	status, body := s.Do(t, "GET", "/v1/rooms/room.with:odd-chars_1", nil)
	if status != 200 || !contains(body, `"online":2`) {
		t.Fatalf("room info: %d %s", status, body)
	}
}

func TestDeflate(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, &websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover, Subprotocols: []string{protocol.Subprotocol}})
	if v.ws.Subprotocol() != protocol.Subprotocol {
		t.Fatalf("subprotocol = %q", v.ws.Subprotocol())
	}
	plain := dial(t, s.WSURL, nil)
	v.join("z")
	plain.join("z")
	long := make([]string, 50)
	for i := range long {
		long[i] = fmt.Sprintf("compressible message number %d, compressible message", i)
	}
	s.Publish(t, "z", long...)
	a, b := v.collect("z", 50), plain.collect("z", 50)
	for i := range a {
		if a[i].Text != b[i].Text || a[i].Offset != b[i].Offset {
			t.Fatalf("deflated and plain viewers differ at %d", i)
		}
	}
}

func TestBroadcastAndUserPush(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	a := dial(t, s.WSURL, nil)
	a.join("x")
	b := dial(t, s.WSURL, nil)
	b.send(map[string]any{"op": "ping"})
	b.expect(protocol.OpPong)
	status, body := s.Do(t, "POST", "/v1/broadcast", `{"messages":[{"type":"system","text":"maintenance at 5"}]}`)
	if status != 200 {
		t.Fatalf("broadcast: %d %s", status, body)
	}
	for _, v := range []*viewer{a, b} {
		m := v.expect(protocol.OpBroadcast)
		if len(m.Msgs) != 1 || m.Msgs[0].Text != "maintenance at 5" || m.Msgs[0].Type != "system" {
			t.Fatalf("broadcast frame = %+v", m)
		}
	}
}

// A viewer learns the count from its join; the online loop sends a frame
// only when the count changes after that.
func TestOnlineSentOnlyOnChange(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.OnlineInterval = 20 * time.Millisecond })})
	a := dial(t, s.WSURL, nil)
	if j := a.join("lobby"); j.Online != 1 {
		t.Fatalf("online on join = %d, want 1", j.Online)
	}
	if m := a.read(5 * time.Second); m.Op != protocol.OpOnline || m.Count != 1 {
		t.Fatalf("after joined: %+v, want online 1", m)
	}
	time.Sleep(10 * 20 * time.Millisecond) // ten online intervals with no change
	s.Publish(t, "lobby", "hi")
	if m := a.read(5 * time.Second); m.Op != protocol.OpBatch {
		t.Fatalf("got %+v before the message; the count did not change", m)
	}
}

package gateway

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// The tests here hold the rules of ackride.go, on a connection whose
// socket is one end of a net.Pipe: each Write arrives at the other end as
// one read, so a test sees which frames shared a write.

// writeLog records the writes made to a connection.
type writeLog struct {
	mu     sync.Mutex
	writes [][]byte
}

func (l *writeLog) take() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.writes
	l.writes = nil
	return w
}

// rideConn returns a connection in a room of viewers viewers, whose writes
// cost 10 µs each, and the log of its writes. Call it inside a bubble.
func rideConn(t *testing.T, viewers int32) (*conn, *membership, *writeLog, *metrics.Metrics) {
	t.Helper()
	r, _ := testRoom(50*time.Millisecond, 500, viewers)
	r.env.writes.set(10 * time.Microsecond)
	m := metrics.New()
	server, client := net.Pipe()
	log := &writeLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if err != nil {
				return
			}
			log.mu.Lock()
			log.writes = append(log.writes, bytes.Clone(buf[:n]))
			log.mu.Unlock()
		}
	}()
	t.Cleanup(func() { server.Close(); client.Close(); <-done; r.close() })
	return &conn{policy: newConnPolicy(1<<20, m), raw: server}, &membership{room: r}, log, m
}

func ackPayload(offset uint64) []byte {
	return protocol.Marshal(protocol.Ack{Op: protocol.OpAck, ID: "c", Offset: offset, MsgID: "m"})
}

// frames splits one write into the payloads of its frames.
func frames(t *testing.T, w []byte) []string {
	t.Helper()
	var out []string
	for len(w) > 0 {
		n, hdr := int(w[1]&0x7f), 2
		if n == 126 {
			n, hdr = int(w[2])<<8|int(w[3]), 4
		}
		out = append(out, string(w[hdr:hdr+n]))
		w = w[hdr+n:]
	}
	return out
}

// ops reports the op of each frame of each write.
func ops(t *testing.T, writes [][]byte) [][]string {
	t.Helper()
	var out [][]string
	for _, w := range writes {
		var o []string
		for _, f := range frames(t, w) {
			m, err := protocol.DecodeServer([]byte(f))
			if err != nil {
				t.Fatalf("decode %q: %v", f, err)
			}
			o = append(o, m.Op)
		}
		out = append(out, o)
	}
	return out
}

func sameOps(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func acks(m *metrics.Metrics) (rode, alone float64) {
	return testutil.ToFloat64(m.Acks.WithLabelValues("with_frame")), testutil.ToFloat64(m.Acks.WithLabelValues("alone"))
}

// Rule 3: an ack that comes before its frame is held, and goes out in
// front of the frame, in one write.
func TestAckRidesInFrontOfItsFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, mb, log, m := rideConn(t, 1)
		c.storing()
		c.answer(mb, 5, ackPayload(5), true)
		synctest.Wait()
		if w := log.take(); len(w) != 0 {
			t.Fatalf("ack written before its frame: %q", w)
		}
		if !c.writeRoomFrame(mb.room, encodeBatch("r", []protocol.Stored{msg(5)})) {
			t.Fatal("frame not written")
		}
		mb.lastSent.Store(5)
		c.wroteThrough(mb.room, 5)
		synctest.Wait()
		if got, want := ops(t, log.take()), [][]string{{"ack", "batch"}}; !sameOps(got, want) {
			t.Fatalf("writes %v, want %v", got, want)
		}
		if rode, alone := acks(m); rode != 1 || alone != 0 {
			t.Fatalf("acks with a frame %v, alone %v; want 1, 0", rode, alone)
		}
	})
}

// Rule 2: while a send is in the store, the room's frames wait for its
// answer, in order, and the ack goes out behind them in one write; a nack
// releases them the same way.
func TestFramesWaitForTheAnswer(t *testing.T) {
	for _, stored := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			c, mb, log, m := rideConn(t, 1)
			c.storing()
			for off := uint64(4); off <= 5; off++ {
				if !c.writeRoomFrame(mb.room, encodeBatch("r", []protocol.Stored{msg(off)})) {
					t.Fatal("frame refused")
				}
				mb.lastSent.Store(off)
				c.wroteThrough(mb.room, off)
			}
			synctest.Wait()
			if w := log.take(); len(w) != 0 {
				t.Fatalf("frames written while the send was in the store: %q", w)
			}
			answer, op := ackPayload(5), "ack"
			if !stored {
				answer, op = protocol.Marshal(protocol.Errorf(protocol.CodeMuted, "muted").NackFor("c")), "nack"
			}
			c.answer(mb, 5, answer, stored)
			synctest.Wait()
			writes := log.take()
			if got, want := ops(t, writes), [][]string{{"batch", "batch", op}}; !sameOps(got, want) {
				t.Fatalf("writes %v, want %v", got, want)
			}
			if f := frames(t, writes[0]); !bytes.Contains([]byte(f[0]), []byte(`"offset":4`)) || !bytes.Contains([]byte(f[1]), []byte(`"offset":5`)) {
				t.Fatalf("frames out of order: %q", f)
			}
			if rode, _ := acks(m); stored && rode != 1 {
				t.Fatalf("acks with a frame %v, want 1", rode)
			}
		})
	}
}

// Rule 3: an ack whose frame the connection already has is written at
// once, on its own.
func TestAckOfAFrameAlreadyWrittenGoesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, mb, log, m := rideConn(t, 1)
		c.writeRoomFrame(mb.room, encodeBatch("r", []protocol.Stored{msg(5)}))
		mb.lastSent.Store(5)
		c.wroteThrough(mb.room, 5)
		c.storing()
		c.answer(mb, 5, ackPayload(5), true)
		synctest.Wait()
		if got, want := ops(t, log.take()), [][]string{{"batch"}, {"ack"}}; !sameOps(got, want) {
			t.Fatalf("writes %v, want %v", got, want)
		}
		if rode, alone := acks(m); rode != 0 || alone != 1 {
			t.Fatalf("acks with a frame %v, alone %v; want 0, 1", rode, alone)
		}
	})
}

// Rule 4: what is held goes out alone after ackHold: an ack whose frame
// never came, and a frame whose send is still in the store.
func TestHeldWritesGoOutAfterAckHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, mb, log, m := rideConn(t, 1)
		c.storing()
		c.answer(mb, 5, ackPayload(5), true)
		time.Sleep(ackHold - time.Millisecond)
		synctest.Wait()
		if w := log.take(); len(w) != 0 {
			t.Fatalf("written before ackHold: %q", w)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got, want := ops(t, log.take()), [][]string{{"ack"}}; !sameOps(got, want) {
			t.Fatalf("after ackHold: writes %v, want %v", got, want)
		}
		if rode, alone := acks(m); rode != 0 || alone != 1 {
			t.Fatalf("acks with a frame %v, alone %v; want 0, 1", rode, alone)
		}

		c.storing() // a send that the store does not answer
		c.writeRoomFrame(mb.room, encodeBatch("r", []protocol.Stored{msg(6)}))
		time.Sleep(ackHold)
		synctest.Wait()
		if got, want := ops(t, log.take()), [][]string{{"batch"}}; !sameOps(got, want) {
			t.Fatalf("frame after ackHold: writes %v, want %v", got, want)
		}
	})
}

// Rule 1: in a room of thousands, acks and frames are written at once.
func TestBigRoomWritesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, mb, log, _ := rideConn(t, 5000)
		if mb.room.acksRide() {
			t.Fatal("a room of 5,000 viewers at 10 µs a write rides")
		}
		c.storing()
		c.writeRoomFrame(mb.room, encodeBatch("r", []protocol.Stored{msg(5)}))
		synctest.Wait()
		c.answer(mb, 6, ackPayload(6), true)
		synctest.Wait()
		if got, want := ops(t, log.take()), [][]string{{"batch"}, {"ack"}}; !sameOps(got, want) {
			t.Fatalf("writes %v, want %v", got, want)
		}
	})
}

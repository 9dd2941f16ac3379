package gateway

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// loopbackConn is a conn over a real loopback TCP socket, and a reader of
// the server frames written to it.
func loopbackConn(t *testing.T, policy *connPolicy) (*conn, func() *protocol.ServerMessage) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	rd := bufio.NewReader(client)
	next := func() *protocol.ServerMessage {
		t.Helper()
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		var hdr [2]byte
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			t.Fatalf("read frame header: %v", err)
		}
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			_, _ = io.ReadFull(rd, ext[:])
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			_, _ = io.ReadFull(rd, ext[:])
			n = binary.BigEndian.Uint64(ext[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(rd, payload); err != nil {
			t.Fatalf("read frame payload: %v", err)
		}
		m, err := protocol.DecodeServer(payload)
		if err != nil {
			t.Fatalf("decode %s: %v", payload, err)
		}
		return m
	}
	return &conn{policy: policy, raw: server}, next
}

// A bucket on its own: a join writes the reply and the catch-up, then the
// member gets the room's frames; a rejoin skips what the viewer already has;
// after a leave it gets nothing more.
func TestBucketJoinDeliverRejoinLeave(t *testing.T) {
	m := metrics.New()
	b := newBucket(0, nil, newBucketMetrics(m), newWriteCost())
	c, next := loopbackConn(t, newConnPolicy(1<<20, m))
	b.conns.add(c)
	r := &room{name: "lobby"}
	join := func(msgs []protocol.Stored, upTo uint64) *membership {
		mb := &membership{room: r}
		b.exec(&task{kind: taskJoin, room: r, conn: c, member: mb, reply: []byte(`{"op":"joined","room":"lobby"}`),
			msgs: msgs, lastOffset: upTo, replayLimit: 2, online: 1})
		return mb
	}
	batch := func(msgs ...protocol.Stored) {
		b.exec(&task{kind: taskRoom, room: r, frame: encodeBatch("lobby", msgs), lastOffset: msgs[len(msgs)-1].Offset})
	}
	offsets := func(sm *protocol.ServerMessage) []uint64 {
		var o []uint64
		for _, msg := range sm.Msgs {
			o = append(o, msg.Offset)
		}
		return o
	}

	first := join([]protocol.Stored{msg(1), msg(2), msg(3)}, 3)
	if sm := next(); sm.Op != protocol.OpJoined {
		t.Fatalf("first frame %+v, want joined", sm)
	}
	if sm := next(); sm.Op != protocol.OpOnline || sm.Count != 1 {
		t.Fatalf("second frame %+v, want online 1", sm)
	}
	if sm := next(); sm.Op != protocol.OpBatch || len(sm.Msgs) != 2 {
		t.Fatalf("catch-up in batches of replayLimit: %+v", sm)
	}
	if got := offsets(next()); len(got) != 1 || got[0] != 3 {
		t.Fatalf("rest of the catch-up: %v", got)
	}
	b.exec(&task{kind: taskBatch, room: r, frame: encodeBatch("lobby", []protocol.Stored{msg(4)}), lastOffset: 4})
	if got := offsets(next()); len(got) != 1 || got[0] != 4 {
		t.Fatalf("live frame: %v", got)
	}
	if got := first.lastSent.Load(); got != 4 {
		t.Fatalf("lastSent %d, want 4", got)
	}

	// A rejoin whose catch-up overlaps what was written skips the overlap.
	second := join([]protocol.Stored{msg(3), msg(4), msg(5)}, 5)
	next() // joined
	next() // online
	if got := offsets(next()); len(got) != 1 || got[0] != 5 {
		t.Fatalf("rejoin catch-up %v, want only [5]", got)
	}
	if !first.left.Load() {
		t.Fatal("the replaced membership is not marked left")
	}

	b.exec(&task{kind: taskLeave, room: r, conn: c, member: second})
	if b.members[r] != nil {
		t.Fatalf("members after leave: %d", b.members[r].len())
	}
	batch(msg(6))
	b.exec(&task{kind: taskEveryone, frame: newTextFrame([]byte(`{"op":"broadcast","msgs":[]}`))})
	if sm := next(); sm.Op != protocol.OpBroadcast {
		t.Fatalf("after leave got %+v, want only the broadcast (no room frame)", sm)
	}
}

// While a bucket writes a frame to a big room, the members it reaches after
// the room received newer messages get them in the same write; the next
// frame then gives each member only what it lacks. Every member's stream is
// whole and in order, with no message twice, whichever members came first.
func TestCatchUpAppendsNewerMessages(t *testing.T) {
	const members = 2*extendEvery + 44
	m := metrics.New()
	b := newBucket(0, nil, newBucketMetrics(m), newWriteCost())
	r := &room{name: "big", streaming: true, flushedLast: 4, inFlight: 10,
		pending: []protocol.Stored{msg(5), msg(6)}}
	reads := make([]func() *protocol.ServerMessage, members)
	set := newMemberSet()
	for i := range reads {
		c, next := loopbackConn(t, newConnPolicy(1<<20, m))
		b.conns.add(c)
		mb := &membership{room: r}
		mb.lastSent.Store(2)
		set.put(c, mb)
		reads[i] = next
	}
	b.members[r] = set
	deliver := func(msgs ...protocol.Stored) {
		b.exec(&task{kind: taskBatch, room: r, frame: encodeBatch("big", msgs), batch: msgs, lastOffset: msgs[len(msgs)-1].Offset})
	}
	deliver(msg(3), msg(4))
	// The room flushes 5 and 6 with 7, which came since.
	r.mu.Lock()
	r.pending, r.flushedLast = nil, 7
	r.mu.Unlock()
	deliver(msg(5), msg(6), msg(7))

	early := 0
	for i, next := range reads {
		var got []uint64
		var sizes []int
		for len(got) == 0 || got[len(got)-1] < 7 {
			sm := next()
			sizes = append(sizes, len(sm.Msgs))
			for _, msg := range sm.Msgs {
				got = append(got, msg.Offset)
			}
		}
		if want := []uint64{3, 4, 5, 6, 7}; !slices.Equal(got, want) {
			t.Fatalf("member %d got %v in frames of %v, want %v", i, got, sizes, want)
		}
		if slices.Equal(sizes, []int{4, 1}) {
			early++
		}
	}
	// Those written before the first look at the room got 3, 4 then 5–7;
	// the rest 3–6 at once, then 7 alone.
	if early < members-extendEvery {
		t.Errorf("%d of %d members got 5 and 6 with the first frame, want at least %d", early, members, members-extendEvery)
	}
	for i, mb := range set.mems {
		if got := mb.lastSent.Load(); got != 7 {
			t.Fatalf("member %d lastSent %d, want 7", i, got)
		}
	}
}

// A join's reply, the room's count and its catch-up batches reach the
// viewer in one write.
func TestJoinWritesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, mb, log, m := rideConn(t, 1)
		b := newBucket(0, nil, newBucketMetrics(m), newWriteCost())
		b.exec(&task{kind: taskJoin, room: mb.room, conn: c, member: mb, reply: []byte(`{"op":"joined","room":"r"}`),
			msgs: []protocol.Stored{msg(1), msg(2), msg(3)}, lastOffset: 3, replayLimit: 2, online: 1})
		synctest.Wait()
		if got, want := ops(t, log.take()), [][]string{{"joined", "online", "batch", "batch"}}; !sameOps(got, want) {
			t.Fatalf("writes %v, want %v", got, want)
		}
	})
}

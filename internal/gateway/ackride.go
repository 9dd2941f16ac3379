package gateway

import (
	"sync"
	"time"
)

// Acks ride with frames. A viewer who sends to a small room gets two
// frames within a millisecond or so: the ack, when the store has the
// message, and the batch holding its own message, when the room flushes.
// A loopback write(2) costs about as much as everything else an accepted
// message costs the gateway, so the two go out in one write when they can:
// whichever comes first waits for the other, briefly. The protocol lets
// them come in either order.
//
//  1. Only small rooms: a room whose next frame is due within ackHold/2
//     (its window plus one round of it: viewers here × the CPU of a write),
//     a room of a few dozen viewers. For other rooms acks and frames are
//     written at once.
//  2. The frame first: while a send of the connection is in the store, the
//     bucket holds the connection's frames of such rooms; the send's ack or
//     nack goes out in one write behind them.
//  3. The ack first: it is held until the bucket writes the connection's
//     next frame, of any room, and goes out in front of it. An ack whose
//     frame the connection already has (its membership's lastSent reached
//     the ack's offset) is written at once, by whichever of the sender's
//     goroutine and the bucket comes second: each stores its side (heldAny,
//     lastSent) before it loads the other's, so one of them sees both.
//  4. Whatever is held is written once ackHold has passed (a timer), so
//     neither waits longer than that, whatever became of the other.
//
// Held bytes are written under heldWrites.mu, so that a connection's frames
// reach it in the order the bucket wrote them.

// ackHold is the longest an ack or a frame is held for the other.
const ackHold = 20 * time.Millisecond

// heldWrites are a connection's acks and frames waiting for each other;
// conn.heldAny and conn.awaiting, read on every frame written to the
// connection, sit with the connection's other hot fields.
type heldWrites struct {
	mu     sync.Mutex // guards the fields below and heldAny's changes; taken before nbio's connection lock
	buf    []byte     // the held frames, oldest first
	acks   []ackDue   // the held acks' rooms and offsets
	frames int        // held frames that are not acks
	timer  *time.Timer
}

type ackDue struct {
	room   *room
	offset uint64
}

// acksRide reports whether r's acks and frames may wait for each other
// (rule 1).
func (r *room) acksRide() bool {
	round := time.Duration(r.viewers.Load()) * r.env.writes.per()
	return r.window()+round <= ackHold/2
}

// storing marks a send of the connection as in the store; answer ends it.
func (c *conn) storing() { c.awaiting.Add(1) }

// answer writes the ack (stored: the message is at offset of m's room) or
// nack payload of a send that storing marked, with any frames held for it
// (rule 2), or holds the ack for its frame (rule 3).
func (c *conn) answer(m *membership, offset uint64, payload []byte, stored bool) {
	h := &c.held
	h.mu.Lock()
	defer h.mu.Unlock()
	c.awaiting.Add(-1)
	h.buf = appendTextFrame(h.buf, payload)
	// Held frames go out with it now (rule 2); otherwise an ack of a small
	// room waits for its frame (rule 3).
	ride := stored && h.frames == 0 && m != nil && m.room.acksRide()
	if stored {
		due := ackDue{offset: offset}
		if ride {
			due.room = m.room // only a riding ack is looked for by wroteThrough
		}
		h.acks = append(h.acks, due)
	}
	if ride {
		h.holdLocked(c)
		if m.lastSent.Load() < offset {
			return
		}
	}
	c.writeHeldLocked(nil)
}

// holdLocked marks something held and arms the timer of rule 4.
func (h *heldWrites) holdLocked(c *conn) {
	if c.heldAny.Swap(true) {
		return
	}
	if h.timer == nil {
		h.timer = time.AfterFunc(ackHold, c.flushHeld)
	} else {
		h.timer.Reset(ackHold)
	}
}

// writeHeldLocked writes the held bytes, then tail (a frame, may be nil),
// in one write, and forgets them. The acks among them are counted as
// riding when they share the write with a frame.
func (c *conn) writeHeldLocked(tail []byte) bool {
	h := &c.held
	if n := len(h.acks); n > 0 {
		if h.frames > 0 || tail != nil {
			c.policy.acksRode.Add(float64(n))
		} else {
			c.policy.acksAlone.Add(float64(n))
		}
	}
	h.buf = append(h.buf, tail...)
	ok := len(h.buf) == 0 || c.write(h.buf)
	h.buf, h.acks, h.frames = h.buf[:0], h.acks[:0], 0
	if c.heldAny.Swap(false) {
		h.timer.Stop()
	}
	return ok
}

// flushHeld writes whatever is held (rule 4, and before a join's replies).
func (c *conn) flushHeld() {
	h := &c.held
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.heldAny.Load() {
		c.writeHeldLocked(nil)
	}
}

// writeRoomFrame is how a bucket writes a frame of r to the connection:
// held while a send is in the store (rule 2), with the held acks in front
// (rule 3), or plainly when nothing is held or awaited.
func (c *conn) writeRoomFrame(r *room, f *frame) bool {
	h := &c.held
	if !c.heldAny.Load() && c.awaiting.Load() == 0 {
		return c.writeFrame(f)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.awaiting.Load() > 0 && r.acksRide() {
		h.buf = append(h.buf, f.bytesFor(c.deflate)...)
		h.frames++
		h.holdLocked(c)
		return !c.closing.Load()
	}
	if !c.heldAny.Load() {
		return c.writeFrame(f)
	}
	return c.writeHeldLocked(f.bytesFor(c.deflate))
}

// wroteThrough is rule 3 on the bucket's side, after r's frames up to
// offset last went to the connection (lastSent is stored): it writes the
// held acks if one of them is for a message of r the connection now has.
func (c *conn) wroteThrough(r *room, last uint64) {
	h := &c.held
	if !c.heldAny.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.acks {
		if d.room == r && d.offset <= last {
			c.writeHeldLocked(nil)
			return
		}
	}
}

// dropHeld forgets what a closed connection held.
func (c *conn) dropHeld() {
	h := &c.held
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf, h.acks, h.frames = nil, nil, 0
	if c.heldAny.Swap(false) {
		h.timer.Stop()
	}
}

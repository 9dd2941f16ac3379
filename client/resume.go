package client

import (
	"slices"

	"github.com/danmaku/danmaku/protocol"
)

// Limits on gap recovery within one connection. Past them the client stops
// waiting for the gap to fill, delivers what it holds and reports ErrGap.
const (
	maxHeld    = 10000 // messages held after a gap
	maxResyncs = 2     // rejoins for a gap without the chain advancing
)

// verdict is what a cursor asks of the connection after admitting messages.
type verdict int

const (
	verdictNone   verdict = iota
	verdictResync         // rejoin the room with since to fill a gap
	verdictGaveUp         // a gap could not be filled; tell the application
)

// cursor is the resume bookkeeping of one room: its epoch, the offset of the
// last message delivered, and the messages held past a gap. It is pure; the
// client calls it under its lock and acts on the verdicts.
type cursor struct {
	epoch string // empty until the first joined reply
	last  uint64 // offset of the last message delivered; nothing at or below it is delivered again

	// After a fresh (non-recovered) join the server sends its recent history,
	// all at or below the joined offset, before live messages. Those have no
	// chain to check against, so they are delivered in offset order only.
	inBacklog   bool
	backlogLast uint64

	resyncing bool               // a rejoin for a gap is in flight
	attempts  int                // rejoins since the chain last advanced
	held      []protocol.Message // past a gap, ordered by offset
}

// established reports whether the room has been joined at least once, so
// that its position can be resumed.
func (c *cursor) established() bool { return c.epoch != "" }

// position returns what a resume join sends: since and epoch.
func (c *cursor) position() (since uint64, epoch string) { return c.last, c.epoch }

// joined applies a joined reply. It reports whether an established room lost
// continuity, which the application must be told about.
func (c *cursor) joined(j protocol.Joined) (reset bool) {
	if c.established() && j.Recovered && j.Epoch == c.epoch {
		// The server replays every message after since next; held messages
		// wait for it.
		c.resyncing = false
		return false
	}
	reset = c.established()
	// In the same epoch, backlog messages this client already delivered
	// before the reset are still duplicates.
	floor := uint64(0)
	if j.Epoch == c.epoch {
		floor = c.last
	}
	*c = cursor{epoch: j.Epoch, last: j.Offset, inBacklog: true, backlogLast: floor}
	return reset
}

// disconnected forgets what only made sense on the lost connection. Held
// messages were never delivered; the resume join asks for them again.
func (c *cursor) disconnected() {
	c.inBacklog = false
	c.resyncing = false
	c.attempts = 0
	c.held = nil
}

// admit takes one batch of the room, oldest first, and returns the messages
// to deliver, in order, and what the connection must do next.
func (c *cursor) admit(msgs []protocol.Message) (out []protocol.Message, v verdict) {
	for _, m := range msgs {
		if c.inBacklog && m.Offset <= c.last {
			if m.Offset > c.backlogLast {
				out = append(out, m)
				c.backlogLast = m.Offset
			}
			continue
		}
		c.inBacklog = false
		if m.Offset <= c.last {
			continue // duplicate, e.g. replayed after a resume
		}
		if m.Prev == c.last {
			out = append(out, m)
			c.last = m.Offset
			c.attempts = 0
			out = c.drain(out)
			continue
		}
		// A gap: something between last and m.Prev was not received.
		c.hold(m)
		if len(c.held) > maxHeld {
			return c.giveUp(out), verdictGaveUp
		}
		if !c.resyncing {
			if c.attempts >= maxResyncs {
				return c.giveUp(out), verdictGaveUp
			}
			c.resyncing = true
			c.attempts++
			v = verdictResync
		}
	}
	return out, v
}

// hold keeps m until the gap before it is filled, in offset order and once.
func (c *cursor) hold(m protocol.Message) {
	i, found := slices.BinarySearchFunc(c.held, m.Offset, func(h protocol.Message, off uint64) int {
		switch {
		case h.Offset < off:
			return -1
		case h.Offset > off:
			return 1
		}
		return 0
	})
	if !found {
		c.held = slices.Insert(c.held, i, m)
	}
}

// drain delivers held messages that now continue the chain.
func (c *cursor) drain(out []protocol.Message) []protocol.Message {
	for len(c.held) > 0 {
		h := c.held[0]
		if h.Offset <= c.last {
			c.held = c.held[1:]
			continue
		}
		if h.Prev != c.last {
			break
		}
		out = append(out, h)
		c.last = h.Offset
		c.held = c.held[1:]
	}
	if len(c.held) == 0 {
		c.held = nil
	}
	return out
}

// giveUp accepts the gap: it delivers everything held and continues after it.
func (c *cursor) giveUp(out []protocol.Message) []protocol.Message {
	for _, h := range c.held {
		if h.Offset > c.last {
			out = append(out, h)
			c.last = h.Offset
		}
	}
	c.held = nil
	c.resyncing = false
	c.attempts = 0
	return out
}

package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/protocol"
)

// joinTimeout bounds the store reads of one join's catch-up.
const joinTimeout = 10 * time.Second

// catchUpWait bounds how long a resume waits for this gateway to deliver
// the viewer's since offset itself. A viewer that moves from a node that
// was ahead (it had flushed a batch this node still merges, or got a live
// message that is still on its way here) is a few milliseconds ahead, not
// more.
const catchUpWait = 2 * time.Second

// join makes c a member of a room. The quick checks answer at once; the
// catch-up (which may read the store) runs on a goroutine of its own so that
// nbio's executor is never held by I/O.
func (g *Gateway) join(c *conn, msg *protocol.ClientMessage) {
	if !protocol.ValidRoom(msg.Room) {
		g.bad(c, "room must be 1–64 characters of [A-Za-z0-9_.:-]")
		return
	}
	if !c.allowsRoom(msg.Room) {
		c.replyRoomError(msg.Room, protocol.CodeForbidden, "your token does not allow room "+auth.QuoteRoom(msg.Room))
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	old := c.rooms[msg.Room]
	if old == nil && len(c.rooms) >= g.cfg.MaxRoomsPerConn {
		c.mu.Unlock()
		c.replyRoomError(msg.Room, protocol.CodeTooManyRooms, "a connection may join at most "+itoa(g.cfg.MaxRoomsPerConn)+" rooms; leave one first")
		return
	}
	m := &membership{}
	if old != nil {
		// A rejoin (a client recovering from a gap) keeps the room reference
		// and replaces the membership; a join still in flight for the old one
		// is void.
		m.room = old.room
		old.left.Store(true)
	}
	c.rooms[msg.Room] = m
	c.mu.Unlock()
	if old == nil {
		m.room = g.rooms.acquire(msg.Room, c.bucket)
		g.metrics.JoinsTotal.Inc()
	}
	var since *uint64
	if msg.Since != nil {
		s := *msg.Since
		since = &s
	}
	epoch := msg.Epoch
	g.workers.Go(func(ctx context.Context) { g.completeJoin(ctx, c, m, since, epoch) })
}

// completeJoin computes what the viewer missed and queues the joined reply,
// the catch-up and the membership on the viewer's bucket, all under the
// room's lock, so that it slots between two live frames exactly. Store reads
// happen outside the lock.
func (g *Gateway) completeJoin(ctx context.Context, c *conn, m *membership, since *uint64, epoch string) {
	r := m.room
	select {
	case <-r.loaded:
	case <-ctx.Done():
		return
	}
	if r.loadErr != nil {
		if r.loadErr != errRoomClosed {
			g.log.Warn("room history unavailable", "room", r.name, "err", r.loadErr)
			// Forget the membership, so that the retry the viewer is asked
			// for starts over with a room that loads anew.
			g.dropFailedJoin(c, m)
			c.replyRoomError(r.name, protocol.CodeUnavailable, "room history is unavailable; retry the join")
		}
		return
	}
	currentEpoch := g.cfg.History.Epoch(r.name)
	resume := since != nil && epoch == currentEpoch
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	if resume && !r.waitFlushed(ctx, *since, catchUpWait) {
		if ctx.Err() != nil {
			return
		}
		// This gateway never got that far: the offset is not the room's,
		// or the live messages here lag far behind. A fresh view is the
		// honest answer.
		resume = false
	}

	for attempt := 0; ; attempt++ {
		var stored []protocol.Stored
		var storedComplete bool
		if resume && attempt > 0 {
			// The recent messages in memory do not reach back to since: read
			// the store, outside the room lock.
			var err error
			// One more than the limit tells "exactly the limit" from "more".
			stored, storedComplete, err = g.cfg.History.After(ctx, r.name, *since, g.cfg.ResumeLimit+1)
			if err != nil {
				g.log.Warn("resume read failed", "room", r.name, "err", err)
				storedComplete = false
			}
			if len(stored) > g.cfg.ResumeLimit {
				storedComplete = false // more missed than a resume replays
			}
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		var msgs []protocol.Stored
		recovered := false
		if resume {
			if attempt == 0 {
				msgs, recovered = r.recentAfterLocked(*since)
				if !recovered && *since < r.flushedLast {
					r.mu.Unlock()
					continue // read the store
				}
			} else if storedComplete {
				msgs, recovered = r.joinStoredLocked(*since, stored)
				if !recovered && attempt < 3 {
					r.mu.Unlock()
					continue // the live messages moved past what was read; read again
				}
			}
		}
		if !recovered {
			msgs = r.latestLocked(g.cfg.ReplayCount)
		}
		if since != nil {
			result := "fresh"
			if recovered {
				result = "recovered"
			}
			g.metrics.ResumesTotal.WithLabelValues(result).Inc()
		}
		online := g.withRemote(r.name, r.viewers.Load())
		if r.viewers.Load() == 1 {
			r.onlineSent = online // its only member learns the count here
		}
		reply := protocol.Marshal(protocol.Joined{
			Op: protocol.OpJoined, Room: r.name, Epoch: currentEpoch,
			Offset: r.flushedLast, Online: online, Recovered: recovered,
		})
		c.bucket.enqueue(task{
			kind: taskJoin, room: r, conn: c, member: m, reply: reply, msgs: msgs,
			lastOffset: r.flushedLast, replayLimit: g.cfg.BatchMaxMessages, online: online,
		})
		r.mu.Unlock()
		return
	}
}

// joinStoredLocked joins messages read from the store (everything after
// since, complete) with the recent ones in memory, up to what the buckets
// have been given. It reports false when the two do not meet, which happens
// if more messages were delivered meanwhile than memory keeps.
func (r *room) joinStoredLocked(since uint64, stored []protocol.Stored) ([]protocol.Stored, bool) {
	upTo := r.flushedLast
	out := make([]protocol.Stored, 0, len(stored))
	last := since
	for _, m := range stored {
		if m.Offset > upTo {
			break
		}
		out = append(out, m)
		last = m.Offset
	}
	if last == upTo {
		return out, true
	}
	// Continue from memory: the first recent message after last must follow
	// it directly.
	for i, m := range r.recent {
		if m.Offset <= last {
			continue
		}
		if m.Prev != last {
			return nil, false
		}
		for _, n := range r.recent[i:] {
			if n.Offset > upTo {
				break
			}
			out = append(out, n)
		}
		return out, true
	}
	return nil, false
}

// dropFailedJoin undoes a join whose room could not load, unless the viewer
// has left or joined again meanwhile.
func (g *Gateway) dropFailedJoin(c *conn, m *membership) {
	c.mu.Lock()
	current := c.rooms[m.room.name] == m
	if current {
		delete(c.rooms, m.room.name)
		m.left.Store(true)
	}
	c.mu.Unlock()
	if current {
		g.rooms.release(m.room, c.bucket)
	}
}

func (g *Gateway) leave(c *conn, msg *protocol.ClientMessage) {
	c.mu.Lock()
	m := c.rooms[msg.Room]
	if m != nil {
		delete(c.rooms, msg.Room)
		m.left.Store(true)
	}
	c.mu.Unlock()
	if m == nil {
		c.replyRoomError(msg.Room, protocol.CodeNotJoined, "not in room "+auth.QuoteRoom(msg.Room))
		return
	}
	c.bucket.enqueue(task{kind: taskLeave, room: m.room, conn: c, member: m})
	g.rooms.release(m.room, c.bucket)
	c.reply(protocol.Marshal(protocol.Left{Op: protocol.OpLeft, Room: msg.Room}))
}

func itoa(n int) string { return strconv.Itoa(n) }

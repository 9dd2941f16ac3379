package gateway

import (
	"time"

	"github.com/danmaku/danmaku/protocol"
)

type taskKind uint8

const (
	taskDeliver  taskKind = iota // write frame to every member of room
	taskJoin                     // write the join reply and catch-up, then add the member
	taskLeave                    // remove one membership
	taskDrop                     // the connection closed: remove its memberships
	taskEveryone                 // write frame to every connection of the bucket
	taskUser                     // write frame to every connection of user
)

// task is one unit of a bucket's work. Tasks of one bucket run in the order
// they were queued; that order is what makes a join's catch-up and the live
// frames meet without a gap or a duplicate.
type task struct {
	kind        taskKind
	room        *room
	conn        *conn
	member      *membership
	members     []*membership // taskDrop
	frame       *frame
	lastOffset  uint64            // taskDeliver: newest offset in frame (0 for online frames)
	acceptedAt  int64             // taskDeliver: unix ms of the oldest message, for latency
	reply       []byte            // taskJoin: the joined reply
	msgs        []protocol.Stored // taskJoin: catch-up, oldest first
	user        string            // taskUser
	replayLimit int               // taskJoin: messages per catch-up batch
	online      int64             // taskJoin: the room's viewer count
}

// bucket is one shard of the gateway's connections. Its goroutine owns the
// room member sets; mu guards the connection index that drains, sweeps and
// pushes read.
type bucket struct {
	g     *Gateway
	tasks chan task

	// Owned by run.
	members map[*room]map[*conn]*membership

	mu lockedIndex
}

func newBucket(g *Gateway, queue int) *bucket {
	return &bucket{
		g:       g,
		tasks:   make(chan task, queue),
		members: make(map[*room]map[*conn]*membership),
		mu:      newLockedIndex(),
	}
}

// run executes tasks until the gateway stops.
func (b *bucket) run() {
	for {
		select {
		case t := <-b.tasks:
			b.exec(&t)
		case <-b.g.stop:
			return
		}
	}
}

// enqueue queues t, waiting while the queue is full: a bucket that falls
// behind slows the rooms that feed it, which merges their messages into
// larger batches. It never blocks once the gateway stops.
func (b *bucket) enqueue(t task) {
	select {
	case b.tasks <- t:
	case <-b.g.stop:
	}
}

func (b *bucket) exec(t *task) {
	switch t.kind {
	case taskDeliver:
		b.deliver(t)
	case taskJoin:
		b.join(t)
	case taskLeave:
		b.leave(t.room, t.conn, t.member)
	case taskDrop:
		for _, m := range t.members {
			b.leave(m.room, t.conn, m)
		}
	case taskEveryone:
		n, bytes := 0, 0
		for _, c := range b.mu.snapshot() {
			if c.writeFrame(t.frame) {
				n++
				bytes += len(t.frame.bytesFor(c.deflate))
			}
		}
		b.count(n, bytes)
	case taskUser:
		n, bytes := 0, 0
		for _, c := range b.mu.user(t.user) {
			if c.writeFrame(t.frame) {
				n++
				bytes += len(t.frame.bytesFor(c.deflate))
			}
		}
		b.count(n, bytes)
	}
}

// deliver writes one shared frame to every member of the room in this
// bucket. This loop is the fan-out hot path: no allocation per viewer.
func (b *bucket) deliver(t *task) {
	if t.lastOffset != 0 {
		defer t.room.delivered(t.frame)
	}
	set := b.members[t.room]
	if len(set) == 0 {
		return
	}
	n, bytes := 0, 0
	for c, m := range set {
		if !c.writeFrame(t.frame) {
			continue
		}
		n++
		bytes += len(t.frame.bytesFor(c.deflate))
		if t.lastOffset != 0 {
			m.lastSent = t.lastOffset
		}
	}
	b.count(n, bytes)
	if t.acceptedAt > 0 && n > 0 {
		b.g.metrics.PublishToWrite.Observe(time.Since(time.UnixMilli(t.acceptedAt)).Seconds())
	}
}

func (b *bucket) count(n, bytes int) {
	if n == 0 {
		return
	}
	b.g.metrics.Deliveries.Add(float64(n))
	b.g.metrics.BytesOut.Add(float64(bytes))
}

// join writes the joined reply and the catch-up to the viewer, then makes it
// a member: every frame queued after this task reaches it, every frame queued
// before is covered by the catch-up.
func (b *bucket) join(t *task) {
	c, m := t.conn, t.member
	if m.left.Load() {
		return
	}
	set := b.members[t.room]
	if set == nil {
		set = make(map[*conn]*membership)
		b.members[t.room] = set
	}
	// A rejoin of a room the viewer is still in: skip what it already got.
	skipUpTo := uint64(0)
	if old, ok := set[c]; ok {
		skipUpTo = old.lastSent
		old.left.Store(true)
	}
	c.reply(t.reply)
	c.reply(protocol.AppendOnline(nil, t.room.name, t.online))
	msgs := t.msgs
	for len(msgs) > 0 && msgs[0].Offset <= skipUpTo {
		msgs = msgs[1:]
	}
	for len(msgs) > 0 {
		n := min(len(msgs), t.replayLimit)
		payload := protocol.AppendBatch(make([]byte, 0, 256*n), t.room.name, msgs[:n])
		c.reply(payload)
		msgs = msgs[n:]
	}
	m.lastSent = max(skipUpTo, t.lastOffset)
	set[c] = m
}

func (b *bucket) leave(r *room, c *conn, m *membership) {
	set := b.members[r]
	if cur, ok := set[c]; ok && cur == m {
		delete(set, c)
		if len(set) == 0 {
			delete(b.members, r)
		}
	}
}

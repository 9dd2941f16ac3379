package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

type taskKind uint8

const (
	taskBatch    taskKind = iota // write a room's batch frame to its members, then tell the room
	taskRoom                     // write a room frame that is not a batch (online counts)
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
	lastOffset  uint64            // taskBatch: newest offset in frame
	batch       []protocol.Stored // taskBatch: the frame's messages (a copy), for catchUp
	acceptedAt  int64             // taskBatch: unix ms of the oldest message, for latency
	reply       []byte            // taskJoin: the joined reply
	msgs        []protocol.Stored // taskJoin: catch-up, oldest first
	user        string            // taskUser
	replayLimit int               // taskJoin: messages per catch-up batch
	online      int64             // taskJoin: the room's viewer count
}

// maxScratch is the largest join buffer a bucket keeps for the next join.
const maxScratch = 64 << 10

// bucketMetrics are the measurements a bucket takes.
type bucketMetrics struct {
	deliveries prometheus.Counter
	bytesOut   prometheus.Counter
	latency    prometheus.Observer // publish → write, per batch frame
}

func newBucketMetrics(m *metrics.Metrics) bucketMetrics {
	return bucketMetrics{deliveries: m.Deliveries, bytesOut: m.BytesOut, latency: m.PublishToWrite}
}

// bucket is one shard of the gateway's connections. Its goroutine owns the
// room member sets; conns is the connection index that drains, sweeps and
// pushes read from other goroutines.
type bucket struct {
	index   int // position in fanout.buckets; rooms count their viewers per index
	queue   taskQueue
	stop    <-chan struct{}
	metrics bucketMetrics
	writes  *writeCost // what a write costs, for the rooms' windows

	// Owned by run.
	members map[*room]*memberSet
	scratch []byte // a join's frames, written at once

	conns connIndex
}

func newBucket(index int, stop <-chan struct{}, m bucketMetrics, writes *writeCost) *bucket {
	return &bucket{
		index:   index,
		queue:   newTaskQueue(),
		stop:    stop,
		metrics: m,
		writes:  writes,
		members: make(map[*room]*memberSet),
		conns:   newConnIndex(),
	}
}

// run executes tasks until stop is closed.
func (b *bucket) run() {
	var batch []task
	for {
		select {
		case <-b.queue.ready:
			batch = b.queue.takeAll(batch)
			for i := range batch {
				b.exec(&batch[i])
				batch[i] = task{} // let the frame go
			}
		case <-b.stop:
			return
		}
	}
}

// enqueue queues t. It never blocks, so rooms may call it under their lock
// and the bucket may call back into a room; see taskQueue for what bounds
// the queue.
func (b *bucket) enqueue(t task) { b.queue.push(t) }

func (b *bucket) exec(t *task) {
	switch t.kind {
	case taskBatch:
		b.deliver(t)
		t.room.frameWritten()
	case taskRoom:
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
		b.writeAll(b.conns.snapshot(), t.frame)
	case taskUser:
		b.writeAll(b.conns.user(t.user), t.frame)
	}
}

func (b *bucket) writeAll(conns []*conn, f *frame) {
	n, bytes := 0, 0
	for _, c := range conns {
		if c.writeFrame(f) {
			n++
			bytes += len(f.bytesFor(c.deflate))
		}
	}
	b.count(n, bytes)
}

// deliver writes one shared frame to every member of the room in this
// bucket. This loop is the fan-out hot path: no allocation per viewer.
func (b *bucket) deliver(t *task) {
	set := b.members[t.room]
	if set == nil || set.len() == 0 {
		return
	}
	batch := t.kind == taskBatch
	var cu catchUp
	step := max(extendEvery, set.len()/extendSteps+1)
	if batch {
		cu = newCatchUp(t)
	}
	n, bytes := 0, 0
	start := time.Now()
	for i, c := range set.conns {
		m := set.mems[i]
		f, last := t.frame, uint64(0)
		if batch {
			if i > 0 && i%step == 0 {
				cu.extend()
			}
			if f, last = cu.frameFor(m.lastSent.Load()); f == nil {
				continue
			}
		}
		if !c.writeRoomFrame(t.room, f) {
			continue
		}
		n++
		bytes += len(f.bytesFor(c.deflate))
		if batch {
			m.lastSent.Store(last)
			c.wroteThrough(t.room, last)
		}
	}
	b.count(n, bytes)
	if n > 0 {
		b.writes.observe(time.Since(start), n)
	}
	if t.acceptedAt > 0 && n > 0 {
		b.metrics.latency.Observe(time.Since(time.UnixMilli(t.acceptedAt)).Seconds())
	}
}

func (b *bucket) count(n, bytes int) {
	if n == 0 {
		return
	}
	b.metrics.deliveries.Add(float64(n))
	b.metrics.bytesOut.Add(float64(bytes))
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
		set = newMemberSet()
		b.members[t.room] = set
	}
	// A rejoin of a room the viewer is still in: skip what it already got.
	skipUpTo := uint64(0)
	if old, ok := set.get(c); ok {
		skipUpTo = old.lastSent.Load()
		old.left.Store(true)
	}
	c.flushHeld() // frames held for an ack go first (ackride.go)
	// The reply, the room's count and the catch-up go out in one write.
	b.scratch = appendTextFrame(b.scratch[:0], t.reply)
	b.scratch = appendTextFrame(b.scratch, protocol.AppendOnline(nil, t.room.name, t.online))
	msgs := t.msgs
	for len(msgs) > 0 && msgs[0].Offset <= skipUpTo {
		msgs = msgs[1:]
	}
	for len(msgs) > 0 {
		n := min(len(msgs), t.replayLimit)
		b.scratch = appendTextFrame(b.scratch, protocol.AppendBatch(make([]byte, 0, 256*n), t.room.name, msgs[:n]))
		msgs = msgs[n:]
	}
	c.write(b.scratch) // nbio copies what the kernel does not take at once
	if cap(b.scratch) > maxScratch {
		b.scratch = nil
	}
	last := max(skipUpTo, t.lastOffset)
	m.lastSent.Store(last)
	c.wroteThrough(t.room, last)
	set.put(c, m)
}

func (b *bucket) leave(r *room, c *conn, m *membership) {
	set := b.members[r]
	if set == nil {
		return
	}
	if cur, ok := set.get(c); ok && cur == m {
		set.remove(c)
		if set.len() == 0 {
			delete(b.members, r)
		}
	}
}

package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"sync"
	"sync/atomic"

	"github.com/danmaku/danmaku/protocol"
)

// room is a room with at least one viewer on this gateway. It receives the
// room's live messages from the bus, merges them into batches and hands each
// batch frame to every bucket.
type room struct {
	name string
	g    *Gateway

	refs int // connections that joined; guarded by Gateway.roomsMu

	loaded  chan struct{} // closed when the recent history is loaded
	loadErr error         // set before loaded is closed

	mu          sync.Mutex // guards the fields below; taken after Gateway.roomsMu
	closed      bool
	unsubscribe func()
	early       []protocol.Stored // live messages that arrived before loading finished
	ready       bool              // recent history loaded; live messages flow
	pending     []protocol.Stored // the batch being merged
	last        uint64            // newest offset accepted (pending or flushed)
	flushedLast uint64            // newest offset handed to the buckets
	recent      []protocol.Stored // the latest delivered messages, oldest first
	lastFlush   time.Time
	timer       *time.Timer
	timerArmed  bool
	onlineSent  int64 // count in the last online frame

	// lastFrame is the newest batch frame handed to the buckets; while it
	// is not delivered everywhere the room holds its next batch back
	// (held), so that a slow fan-out makes batches bigger instead of
	// queueing frames and growing latency.
	lastFrame atomic.Pointer[frame]
	held      atomic.Bool
}

// load subscribes to the room's live messages, then reads its recent
// history. Messages that arrive in between are in both and are deduplicated
// by offset.
func (r *room) load(ctx context.Context) {
	defer close(r.loaded)
	unsub, err := r.g.cfg.History.SubscribeRoom(r.name, r.onLive)
	if err != nil {
		r.loadErr = err
		return
	}
	recent, err := r.g.cfg.History.Latest(ctx, r.name, r.g.cfg.RecentPerRoom)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unsubscribe = unsub
	if r.closed {
		r.unsubscribe()
		r.loadErr = errRoomClosed
		return
	}
	if err != nil {
		r.loadErr = err
		return
	}
	r.recent = append(r.recent[:0], recent...)
	if n := len(recent); n > 0 {
		r.last = recent[n-1].Offset
		r.flushedLast = r.last
	}
	r.ready = true
	early := r.early
	r.early = nil
	for _, m := range early {
		r.acceptLocked(m)
	}
}

// onLive receives one stored message from the bus, in offset order.
func (r *room) onLive(m protocol.Stored) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if !r.ready {
		r.early = append(r.early, m)
		return
	}
	r.acceptLocked(m)
}

func (r *room) acceptLocked(m protocol.Stored) {
	if m.Offset <= r.last {
		return // already had it (loaded history overlapping the subscription)
	}
	if m.Prev > r.last && r.last != 0 {
		// The live path lost messages (a bus slow-consumer drop, say):
		// recover them from the store so that viewers get no gap.
		r.fillGapLocked(m.Offset)
	}
	r.pending = append(r.pending, m)
	r.last = m.Offset
	if bytes.Contains(m.Body, deleteType) {
		r.forgetDeletedLocked(m.Body)
	}
	now := time.Now()
	switch {
	case len(r.pending) >= r.g.cfg.BatchMaxMessages:
		r.flushLocked(now)
	case r.busyLocked():
		// flushed when the previous frame is delivered
	case len(r.pending) == 1 && now.Sub(r.lastFlush) >= r.g.cfg.BatchWindow:
		// An idle room flushes at once: merging only starts under load.
		r.flushLocked(now)
	case !r.timerArmed:
		r.armTimerLocked(r.lastFlush.Add(r.g.cfg.BatchWindow).Sub(now))
	}
}

var deleteType = []byte(`"type":"delete"`)

// forgetDeletedLocked drops messages a moderator deleted from the recent
// messages kept for resumes, so that a resume does not bring them back.
func (r *room) forgetDeletedLocked(body []byte) {
	var del struct {
		Type string `json:"type"`
		Data struct {
			Offsets []uint64 `json:"offsets"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &del) != nil || del.Type != protocol.TypeDelete {
		return
	}
	for _, off := range del.Data.Offsets {
		for i, m := range r.recent {
			if m.Offset != off {
				continue
			}
			// Keep the chain whole, as the store's reads see it after the
			// deletion: the next message now follows the deleted one's prev.
			if i+1 < len(r.recent) {
				r.recent[i+1].Prev = m.Prev
			}
			r.recent = append(r.recent[:i:i], r.recent[i+1:]...)
			break
		}
	}
}

func (r *room) fillGapLocked(before uint64) {
	r.g.metrics.Drops.WithLabelValues("live_gap").Inc()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, _, err := r.g.cfg.History.After(ctx, r.name, r.last, r.g.cfg.ResumeLimit)
	if err != nil {
		r.g.log.Warn("gap in live room messages not recovered", "room", r.name, "after", r.last, "err", err)
		return
	}
	for _, m := range msgs {
		if m.Offset >= before {
			break
		}
		if m.Offset > r.last {
			r.pending = append(r.pending, m)
			r.last = m.Offset
		}
	}
}

func (r *room) armTimerLocked(d time.Duration) {
	r.timerArmed = true
	if r.timer == nil {
		r.timer = time.AfterFunc(d, r.onTimer)
		return
	}
	r.timer.Reset(d)
}

func (r *room) onTimer() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timerArmed = false
	if r.closed || len(r.pending) == 0 || r.busyLocked() {
		return
	}
	r.flushLocked(time.Now())
}

// busyLocked reports whether the previous frame is still being delivered,
// and if so marks the room held: the bucket that finishes it wakes the room.
func (r *room) busyLocked() bool {
	if f := r.lastFrame.Load(); f != nil && f.remaining.Load() > 0 {
		r.held.Store(true)
		// The last bucket may have finished between the two loads.
		if f.remaining.Load() > 0 {
			return true
		}
		r.held.Store(false)
	}
	return false
}

// delivered is called by each bucket after writing a batch frame; the last
// one wakes a held room. It never takes the room's lock itself (a bucket
// must not wait for a room), so the flush runs on a timer goroutine.
func (r *room) delivered(f *frame) {
	if f.remaining.Add(-1) == 0 && r.lastFrame.Load() == f && r.held.CompareAndSwap(true, false) {
		time.AfterFunc(0, r.onTimer)
	}
}

// flushLocked encodes the pending messages once into one frame and queues
// it on every bucket.
func (r *room) flushLocked(now time.Time) {
	msgs := r.pending
	size := 64
	oldest := int64(0)
	for _, m := range msgs {
		size += len(m.Body) + 48
	}
	if n := len(msgs); n > 0 {
		oldest = acceptedAt(msgs[0].Body)
	}
	fb := newFrameBuilder(size)
	fb.buf = protocol.AppendBatch(fb.buf, r.name, msgs)
	f := fb.finish()

	r.recent = append(r.recent, msgs...)
	if keep := r.g.cfg.RecentPerRoom; len(r.recent) > keep+keep/2 {
		r.recent = append(r.recent[:0], r.recent[len(r.recent)-keep:]...)
	}
	r.pending = r.pending[:0]
	r.flushedLast = r.last
	r.lastFlush = now

	r.g.metrics.Frames.Inc()
	r.g.metrics.MessagesOut.Add(float64(len(msgs)))
	r.g.metrics.BatchSize.Observe(float64(len(msgs)))
	t := task{kind: taskDeliver, room: r, frame: f, lastOffset: r.flushedLast, acceptedAt: oldest}
	f.remaining.Store(int32(len(r.g.buckets)))
	r.lastFrame.Store(f)
	for _, b := range r.g.buckets {
		b.enqueue(t)
	}
}

// recentAfterLocked returns the recent messages with since < offset ≤ upTo,
// and whether recent covers everything after since.
func (r *room) recentAfterLocked(since uint64) ([]protocol.Stored, bool) {
	rec := r.recent
	if len(rec) > r.g.cfg.RecentPerRoom {
		rec = rec[len(rec)-r.g.cfg.RecentPerRoom:]
	}
	if since == r.flushedLast {
		return nil, true
	}
	if len(rec) == 0 || since < rec[0].Offset || since > r.flushedLast {
		return nil, false
	}
	i := 0
	for i < len(rec) && rec[i].Offset <= since {
		i++
	}
	return clone(rec[i:]), true
}

// latestLocked returns up to n of the newest delivered messages.
func (r *room) latestLocked(n int) []protocol.Stored {
	rec := r.recent
	if len(rec) > n {
		rec = rec[len(rec)-n:]
	}
	return clone(rec)
}

func clone(s []protocol.Stored) []protocol.Stored {
	if len(s) == 0 {
		return nil
	}
	return append([]protocol.Stored(nil), s...)
}

// close stops the room; called once its last viewer left.
func (r *room) close() {
	r.mu.Lock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	unsub := r.unsubscribe
	r.unsubscribe = nil
	r.mu.Unlock()
	if unsub != nil {
		unsub()
	}
}

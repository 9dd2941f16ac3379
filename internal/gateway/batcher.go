package gateway

import (
	"slices"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// The flush rule, as doc.go states it:
//
//  1. A room flushes its pending messages when no flush of it is in flight
//     and either its window has passed since its last flush or the batch
//     holds BatchMaxMessages. Its window is what a flush costs, its
//     viewers here × the CPU of one write, divided by BatchBudget, at most
//     BatchWindow.
//  2. A flush is in flight until every bucket it went to has written it;
//     the last of them applies rule 1 at once.
//  3. Otherwise a timer applies rule 1 when the window ends.
//  4. A flush writes at most BatchMaxMessages messages per frame; a longer
//     batch (grown while a flush was in flight) goes out as several frames,
//     in order.

// flushIfDueLocked applies rule 1, or sets up rule 2 or 3 to apply it later.
func (r *room) flushIfDueLocked(now time.Time) {
	switch {
	case r.closed || !r.streaming || len(r.pending) == 0:
	case r.inFlight > 0:
		// Rule 2: frameWritten comes back here.
	case len(r.pending) >= r.env.cfg.BatchMaxMessages || now.Sub(r.lastFlush) >= r.window():
		r.flushLocked(now)
	case !r.timerArmed:
		r.armTimerLocked(r.lastFlush.Add(r.window()).Sub(now)) // rule 3
	}
}

// window is how long the room merges after a flush: the time one flush of
// it costs the node, divided by the share of a core a room may take, and
// never more than BatchWindow.
func (r *room) window() time.Duration {
	cost := time.Duration(r.viewers.Load()) * r.env.writes.per()
	return min(time.Duration(float64(cost)/r.env.cfg.BatchBudget), r.env.cfg.BatchWindow)
}

// frameWritten is called by each bucket that has written one of the room's
// batch frames.
func (r *room) frameWritten() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	if r.inFlight == 0 {
		r.flushIfDueLocked(time.Now())
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
	r.flushIfDueLocked(time.Now())
}

// flushLocked encodes the pending messages once, into frames of at most
// BatchMaxMessages (rule 4), and queues each on the buckets that hold the
// room's viewers.
func (r *room) flushLocked(now time.Time) {
	msgs := r.pending
	r.recent = append(r.recent, msgs...)
	if keep := r.env.cfg.RecentPerRoom; len(r.recent) > keep+keep/2 {
		r.recent = append(r.recent[:0], r.recent[len(r.recent)-keep:]...)
	}
	r.pending = r.pending[:0]
	r.flushedLast = r.last
	r.lastFlush = now
	if r.flushed != nil {
		close(r.flushed) // resumes waiting for this room to catch up
		r.flushed = nil
	}
	for len(msgs) > 0 {
		n := min(len(msgs), r.env.cfg.BatchMaxMessages)
		batch := msgs[:n]
		msgs = msgs[n:]
		r.env.metrics.Frames.Inc()
		r.env.metrics.MessagesOut.Add(float64(n))
		r.messages.Add(uint64(n))
		r.env.metrics.BatchSize.Observe(float64(n))
		f := encodeBatch(r.name, batch)
		f.solo = r.viewers.Load() == 1
		r.inFlight += r.env.fanout.toRoom(r, task{
			kind: taskBatch, room: r, frame: f, batch: slices.Clone(batch),
			lastOffset: batch[n-1].Offset, acceptedAt: batch[0].TS,
		})
	}
}

// encodeBatch builds the one frame every member of the room gets.
func encodeBatch(room string, msgs []protocol.Stored) *frame {
	size := 64
	for _, m := range msgs {
		size += len(m.Body) + 48
	}
	fb := newFrameBuilder(size)
	fb.buf = protocol.AppendBatch(fb.buf, room, msgs)
	return fb.finish()
}

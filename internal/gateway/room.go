package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// roomHistory is what a room reads from the bus.
type roomHistory interface {
	SubscribeRoom(room string, fn func(protocol.Stored)) (unsubscribe func(), err error)
	After(ctx context.Context, room string, after uint64, limit int) ([]protocol.Stored, bool, error)
	Latest(ctx context.Context, room string, n int) ([]protocol.Stored, error)
}

// roomConfig is the part of Config a room uses.
type roomConfig struct {
	BatchWindow      time.Duration
	BatchBudget      float64
	BatchMaxMessages int
	RecentPerRoom    int
	ResumeLimit      int
}

// roomEnv is what every room of a gateway shares: its settings and the few
// parts of the gateway it talks to.
type roomEnv struct {
	cfg     roomConfig
	history roomHistory
	fanout  *fanout
	metrics *metrics.Metrics
	log     *slog.Logger
	workers *workers // runs the store reads of loads and gap fills
	writes  *writeCost
}

// room is a room with at least one viewer on this gateway. It receives the
// room's live messages from the bus, merges them into batches and hands each
// batch frame to the buckets that hold its viewers.
type room struct {
	name string
	env  *roomEnv

	// viewers counts the connections that joined; viewersIn counts them by
	// bucket index, so that frames go only where members are. Both change
	// under roomTable.mu and are read anywhere.
	viewers   atomic.Int64
	viewersIn []atomic.Int32
	replaced  bool // its load failed and a new room took its name; guarded by roomTable.mu
	// messages counts the room's messages put into batches (what
	// danmaku_messages_out_total counts for every room), for the node
	// stats' messages per second of each room. Added to under room.mu,
	// read anywhere.
	messages atomic.Uint64

	loaded  chan struct{} // closed when the recent history is loaded
	loadErr error         // set before loaded is closed

	mu          sync.Mutex // guards the fields below
	closed      bool
	unsubscribe func()
	// streaming is false while the room loads its recent history or reads
	// a gap back from the store; live messages wait in waiting meanwhile.
	streaming   bool
	waiting     []protocol.Stored
	pending     []protocol.Stored // the batch being merged
	last        uint64            // newest offset accepted (pending or flushed)
	flushedLast uint64            // newest offset handed to the buckets
	recent      []protocol.Stored // the latest delivered messages, oldest first
	lastFlush   time.Time
	inFlight    int           // buckets still writing this room's last flush
	flushed     chan struct{} // closed at the next flush; nil until someone waits
	timer       *time.Timer
	timerArmed  bool
	onlineSent  int64 // the count the members were last told (the online loop's, or a lone member's join reply)
}

func newRoom(name string, env *roomEnv) *room {
	return &room{
		name:      name,
		env:       env,
		viewersIn: make([]atomic.Int32, len(env.fanout.buckets)),
		loaded:    make(chan struct{}),
	}
}

// load subscribes to the room's live messages, then reads its recent
// history. Messages that arrive in between wait, and those the history
// already holds are dropped by offset.
func (r *room) load(ctx context.Context) {
	defer close(r.loaded)
	unsub, err := r.env.history.SubscribeRoom(r.name, r.onLive)
	if err != nil {
		r.loadErr = err
		return
	}
	recent, err := r.latest(ctx)
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
	r.resumeStreamingLocked()
}

// failed reports whether the room's load has failed.
func (r *room) failed() bool {
	select {
	case <-r.loaded:
		return r.loadErr != nil
	default:
		return false
	}
}

// latest reads the room's recent history, trying again while no stream
// answers (a clustered stream whose replicas are still starting, or that is
// electing a leader, answers nothing for a few seconds) until ctx ends.
// Other errors fail the load at once.
func (r *room) latest(ctx context.Context) ([]protocol.Stored, error) {
	wait := 50 * time.Millisecond
	for {
		recent, err := r.env.history.Latest(ctx, r.name, r.env.cfg.RecentPerRoom)
		if err == nil || ctx.Err() != nil || !errors.Is(err, bus.ErrNoStream) {
			return recent, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, err
		}
		wait = min(2*wait, time.Second)
	}
}

// onLive receives one stored message from the bus, in offset order.
func (r *room) onLive(m protocol.Stored) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.acceptLocked(m)
	}
}

func (r *room) acceptLocked(m protocol.Stored) {
	switch {
	case !r.streaming:
		r.waiting = append(r.waiting, m)
		return
	case m.Offset <= r.last:
		return // already had it (loaded history overlapping the subscription)
	case r.last != 0 && m.Prev > r.last:
		// The live path lost messages (a bus slow-consumer drop, say):
		// read them back from the store, without holding the lock.
		r.env.metrics.Drop(metrics.DropLiveGap)
		r.streaming = false
		r.waiting = append(r.waiting, m)
		after, before := r.last, m.Offset
		r.env.workers.Go(func(ctx context.Context) { r.fillGap(ctx, after, before) })
		return
	}
	r.pending = append(r.pending, m)
	r.last = m.Offset
	if m.Type == protocol.TypeDelete {
		r.forgetDeletedLocked(m.Body)
	}
	r.flushIfDueLocked(time.Now())
}

// fillGap reads the messages after `after` and before `before` from the
// store and puts them in front of the live messages that waited meanwhile.
// If the read fails the gap stays: viewers see it in the prev chain and
// rejoin with since, which reads the store again.
func (r *room) fillGap(ctx context.Context, after, before uint64) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msgs, _, err := r.env.history.After(ctx, r.name, after, r.env.cfg.ResumeLimit)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if err != nil {
		r.env.log.Warn("gap in live room messages not recovered", "room", r.name, "after", after, "err", err)
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
	r.resumeStreamingLocked()
}

// resumeStreamingLocked lets live messages flow again, starting with those
// that waited.
func (r *room) resumeStreamingLocked() {
	r.streaming = true
	waiting := r.waiting
	r.waiting = nil
	for _, m := range waiting {
		r.acceptLocked(m) // may stop streaming again at another gap
	}
	r.flushIfDueLocked(time.Now())
}

// forgetDeletedLocked drops messages a moderator deleted from the recent
// messages kept for resumes, so that a resume does not bring them back.
func (r *room) forgetDeletedLocked(body []byte) {
	var del struct {
		Data struct {
			Offsets []uint64 `json:"offsets"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &del) != nil {
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

// waitFlushed waits until the room has handed the buckets every message up
// to offset, and reports whether it did within wait.
func (r *room) waitFlushed(ctx context.Context, offset uint64, wait time.Duration) bool {
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		if r.flushedLast >= offset || r.closed {
			r.mu.Unlock()
			return true
		}
		if r.flushed == nil {
			r.flushed = make(chan struct{})
		}
		next := r.flushed
		r.mu.Unlock()
		select {
		case <-next:
		case <-timeout.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// recentAfterLocked returns the recent messages with offset > since, and
// whether recent covers everything after since.
func (r *room) recentAfterLocked(since uint64) ([]protocol.Stored, bool) {
	rec := r.recent
	if len(rec) > r.env.cfg.RecentPerRoom {
		rec = rec[len(rec)-r.env.cfg.RecentPerRoom:]
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

package gateway

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// The tests here hold the flush rule of doc.go, one test per sentence. A
// room is built on its own, with buckets whose queues the test reads
// instead of running them.

// testRoom builds a streaming room over len(viewersIn) buckets holding
// viewersIn[i] viewers each. Its writes cost an hour, so that its window
// is always BatchWindow; the tests of the cost-driven window set a cost.
func testRoom(window time.Duration, maxMsgs int, viewersIn ...int32) (*room, []*bucket) {
	stop := make(chan struct{})
	m := metrics.New()
	writes := newWriteCost()
	writes.set(time.Hour)
	env := &roomEnv{
		cfg:     roomConfig{BatchWindow: window, BatchBudget: 0.25, BatchMaxMessages: maxMsgs, RecentPerRoom: 100, ResumeLimit: 1000},
		fanout:  newFanout(len(viewersIn), stop, newBucketMetrics(m), writes),
		metrics: m,
		log:     slog.New(slog.DiscardHandler),
		workers: newWorkers(),
		writes:  writes,
	}
	r := newRoom("r", env)
	r.streaming = true
	for i, n := range viewersIn {
		r.viewersIn[i].Store(n)
		r.viewers.Add(int64(n))
	}
	return r, env.fanout.buckets
}

func msg(off uint64) protocol.Stored {
	return protocol.Stored{Offset: off, Prev: off - 1, Type: protocol.TypeDanmaku, TS: 1,
		Body: []byte(`{"id":"x","type":"danmaku","text":"t","ts":1}`)}
}

// queued takes the batch frames queued on b, without writing them.
func queued(t *testing.T, b *bucket) []task {
	t.Helper()
	var out []task
	for _, tk := range b.queue.takeAll(nil) {
		if tk.kind == taskBatch {
			out = append(out, tk)
		}
	}
	return out
}

// sizes reports the number of messages in each frame.
func sizes(t *testing.T, tasks []task) []int {
	t.Helper()
	var n []int
	for _, tk := range tasks {
		m, err := protocol.DecodeServer(tk.frame.payload())
		if err != nil {
			t.Fatal(err)
		}
		n = append(n, len(m.Msgs))
	}
	return n
}

// written reports every task as written by its bucket.
func written(tasks []task) {
	for _, tk := range tasks {
		tk.room.frameWritten()
	}
}

// deliverAll plays one bucket that writes frames as fast as they come,
// returning the sizes of the frames it wrote.
func deliverAll(t *testing.T, b *bucket) []int {
	t.Helper()
	var all []int
	for {
		tasks := queued(t, b)
		if len(tasks) == 0 {
			return all
		}
		all = append(all, sizes(t, tasks)...)
		written(tasks)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Rule 1: with nothing in flight and the window passed since the last
// flush, a message flushes at once. An idle room therefore has no merge
// delay.
func TestFlushIdleRoomAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(50*time.Millisecond, 500, 1)
		r.onLive(msg(1))
		if got := deliverAll(t, bs[0]); !equal(got, []int{1}) {
			t.Fatalf("lone message: frames %v, want [1] with no delay", got)
		}
		time.Sleep(time.Second) // idle again
		r.onLive(msg(2))
		if got := deliverAll(t, bs[0]); !equal(got, []int{1}) {
			t.Fatalf("after idle: frames %v, want [1]", got)
		}
		r.close()
	})
}

// Rule 1: a batch that holds BatchMaxMessages flushes before the window
// ends.
func TestFlushFullBatchBeforeWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(time.Hour, 4, 1)
		r.onLive(msg(1)) // idle: at once
		deliverAll(t, bs[0])
		for off := uint64(2); off <= 5; off++ {
			r.onLive(msg(off))
		}
		if got := deliverAll(t, bs[0]); !equal(got, []int{4}) {
			t.Fatalf("frames %v, want [4] with the window an hour away", got)
		}
		r.close()
	})
}

// Rule 2: a flush is in flight until every bucket it went to wrote it;
// the room holds its next batch that long, and the last bucket flushes it
// at once.
func TestFlushHoldsUntilEveryBucketWrote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(50*time.Millisecond, 500, 1, 1)
		r.onLive(msg(1))
		first0, first1 := queued(t, bs[0]), queued(t, bs[1])
		if len(first0) != 1 || len(first1) != 1 {
			t.Fatalf("first flush reached %d and %d frames, want one per bucket", len(first0), len(first1))
		}
		for off := uint64(2); off <= 30; off++ {
			time.Sleep(10 * time.Millisecond)
			r.onLive(msg(off))
		}
		written(first0) // bucket 0 is done, bucket 1 is still writing
		synctest.Wait()
		if got := queued(t, bs[0]); len(got) != 0 {
			t.Fatalf("flushed %v while bucket 1 still wrote the previous frame", sizes(t, got))
		}
		written(first1) // the last bucket: flushes at once, without a timer
		if got0, got1 := sizes(t, queued(t, bs[0])), sizes(t, queued(t, bs[1])); !equal(got0, []int{29}) || !equal(got1, []int{29}) {
			t.Fatalf("after the last bucket: frames %v and %v, want [29] on each", got0, got1)
		}
		r.close()
	})
}

// Rule 3: otherwise a timer flushes when the window ends, merging what came
// in the meantime.
func TestFlushMergesForTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(50*time.Millisecond, 500, 1)
		r.onLive(msg(1)) // flushes at once and opens a window
		deliverAll(t, bs[0])
		for off := uint64(2); off <= 11; off++ {
			time.Sleep(time.Millisecond)
			r.onLive(msg(off))
		}
		synctest.Wait()
		if got := deliverAll(t, bs[0]); len(got) != 0 {
			t.Fatalf("inside the window: frames %v, want none", got)
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if got := deliverAll(t, bs[0]); !equal(got, []int{10}) {
			t.Fatalf("after the window: frames %v, want [10]", got)
		}
		r.close()
	})
}

// Rule 4: a batch that grew past BatchMaxMessages while a flush was in
// flight goes out as several frames, in order.
func TestFlushSplitsALongBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(time.Hour, 4, 1)
		r.onLive(msg(1))
		first := queued(t, bs[0])
		for off := uint64(2); off <= 10; off++ {
			r.onLive(msg(off)) // held: the first frame is in flight
		}
		written(first)
		tasks := queued(t, bs[0])
		if got := sizes(t, tasks); !equal(got, []int{4, 4, 1}) {
			t.Fatalf("frames %v, want [4 4 1]", got)
		}
		want := []uint64{5, 9, 10}
		for i, tk := range tasks {
			if tk.lastOffset != want[i] {
				t.Fatalf("frame %d ends at %d, want %d", i, tk.lastOffset, want[i])
			}
		}
		// Three frames in flight: even a full batch waits for all of them.
		for off := uint64(11); off <= 14; off++ {
			r.onLive(msg(off))
		}
		written(tasks[:2])
		if got := queued(t, bs[0]); len(got) != 0 {
			t.Fatalf("flushed while a frame was in flight")
		}
		written(tasks[2:])
		if got := deliverAll(t, bs[0]); !equal(got, []int{4}) {
			t.Fatalf("after the last frame: %v, want [4]", got)
		}
		r.close()
	})
}

// Frames go only to buckets that hold viewers of the room, so a bucket that
// is behind (here: one that never runs) delays nobody it does not serve.
func TestFlushOnlyToBucketsWithViewers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(0, 500, 1, 0)
		for off := uint64(1); off <= 3; off++ {
			r.onLive(msg(off))
			if got := deliverAll(t, bs[0]); !equal(got, []int{1}) {
				t.Fatalf("message %d: frames %v on bucket 0, want [1]", off, got)
			}
		}
		if n := len(bs[1].queue.takeAll(nil)); n != 0 {
			t.Fatalf("bucket 1 holds no viewer of the room but got %d tasks", n)
		}
		r.close()
	})
}

func TestFlushDropsDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(50*time.Millisecond, 500, 1)
		r.onLive(msg(1))
		r.onLive(msg(1))
		time.Sleep(time.Second)
		synctest.Wait()
		if got := deliverAll(t, bs[0]); !equal(got, []int{1}) {
			t.Fatalf("frames %v, want one message once", got)
		}
		r.close()
	})
}

// The gateway reads a message's type and acceptance time from the fields
// the bus fills from the writer's headers, never from the body's bytes.
func TestTypeAndTimeComeFromStoredFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, bs := testRoom(0, 500, 1)
		for off := uint64(1); off <= 3; off++ {
			m := msg(off)
			m.TS = 1700000000000 + int64(off)
			r.onLive(m)
		}
		tasks := queued(t, bs[0])
		for i, tk := range tasks {
			if want := 1700000000001 + int64(i); tk.acceptedAt != want {
				t.Fatalf("frame %d: acceptedAt %d, want the message's TS %d", i, tk.acceptedAt, want)
			}
		}
		written(tasks)
		deleteBody := []byte(`{"id":"d","type":"delete","data":{"offsets":[2]},"ts":5}`)
		// Shaped like a deletion, typed as a comment: not one.
		r.onLive(protocol.Stored{Offset: 4, Prev: 3, Type: protocol.TypeDanmaku, Body: deleteBody})
		written(queued(t, bs[0]))
		if got := len(r.recentCopy()); got != 4 {
			t.Fatalf("a danmaku-typed message deleted from memory: %d recent, want 4", got)
		}
		r.onLive(protocol.Stored{Offset: 5, Prev: 4, Type: protocol.TypeDelete, Body: deleteBody})
		written(queued(t, bs[0]))
		rec := r.recentCopy()
		for _, m := range rec {
			if m.Offset == 2 {
				t.Fatalf("deleted message 2 still in memory: %+v", rec)
			}
		}
		if rec[1].Offset != 3 || rec[1].Prev != 1 {
			t.Fatalf("chain not kept whole after the deletion: %+v", rec[1])
		}
		r.close()
	})
}

func (r *room) recentCopy() []protocol.Stored {
	r.mu.Lock()
	defer r.mu.Unlock()
	return clone(r.recent)
}

// Rule 1, the window: a room whose flush is cheap (a few viewers) flushes
// every message at once however fast they come; one whose flush is dear
// merges for up to BatchWindow, in proportion to what a flush costs.
func TestFlushWindowFollowsTheFanOutCost(t *testing.T) {
	for _, c := range []struct {
		name    string
		viewers int32
		perMsg  time.Duration // between messages
		frames  int           // of 20 messages
	}{
		// 10 viewers × 20 µs = 200 µs per flush, ÷ 0.25: a 0.8 ms window.
		{"10 viewers at 200 msgs/s", 10, 5 * time.Millisecond, 20},
		{"10 viewers at 1,000 msgs/s", 10, time.Millisecond, 20},
		// 500 viewers: 10 ms per flush, a 40 ms window: 5 ms apart merge
		// by about eight.
		{"500 viewers at 200 msgs/s", 500, 5 * time.Millisecond, 3},
		// 10,000 viewers: 200 ms per flush, capped at the 50 ms window.
		{"10,000 viewers at 200 msgs/s", 10000, 5 * time.Millisecond, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, bs := testRoom(50*time.Millisecond, 500, c.viewers)
				r.env.writes.set(20 * time.Microsecond)
				var frames []int
				for off := uint64(1); off <= 20; off++ {
					r.onLive(msg(off))
					time.Sleep(c.perMsg)
					synctest.Wait()
					frames = append(frames, deliverAll(t, bs[0])...)
				}
				time.Sleep(time.Second)
				synctest.Wait()
				frames = append(frames, deliverAll(t, bs[0])...)
				total := 0
				for _, n := range frames {
					total += n
				}
				if total != 20 {
					t.Fatalf("frames %v carry %d messages, want 20", frames, total)
				}
				if len(frames) > c.frames+1 || len(frames) < c.frames-1 {
					t.Fatalf("20 messages went out in %d frames %v, want about %d", len(frames), frames, c.frames)
				}
			})
		})
	}
}

// The estimate of a write's cost follows the fan-out loops it is told of.
func TestWriteCostFollowsTheLoops(t *testing.T) {
	w := newWriteCost()
	for range 100 {
		w.observe(5*time.Millisecond, 1000) // 5 µs a write
	}
	if got := w.per(); got < 4*time.Microsecond || got > 6*time.Microsecond {
		t.Fatalf("after many 5 µs writes the estimate is %s", got)
	}
	w.observe(time.Second, 1) // one slow loop moves it, but not all the way
	if got := w.per(); got > 200*time.Millisecond {
		t.Fatalf("one slow loop moved the estimate to %s", got)
	}
}

// set replaces the estimate, so that a test decides what a write costs.
func (w *writeCost) set(d time.Duration) { w.nanos.Store(int64(d)) }

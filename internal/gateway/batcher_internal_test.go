package gateway

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// batchRoom builds a ready room whose flushes land in one bucket queue that
// the test reads directly.
func batchRoom(window time.Duration, maxMsgs int) (*room, chan task) {
	g := &Gateway{
		cfg:     Config{BatchWindow: window, BatchMaxMessages: maxMsgs, RecentPerRoom: 100},
		metrics: metrics.New(),
		stop:    make(chan struct{}),
	}
	b := &bucket{g: g, tasks: make(chan task, 100)}
	g.buckets = []*bucket{b}
	return &room{name: "r", g: g, ready: true}, b.tasks
}

func msg(off uint64) protocol.Stored {
	return protocol.Stored{Offset: off, Prev: off - 1, Body: []byte(`{"id":"x","type":"danmaku","text":"t","ts":1}`)}
}

// batchSizes drains the queue as a bucket would, reporting each frame as
// delivered.
func batchSizes(t *testing.T, q chan task) []int {
	t.Helper()
	var sizes []int
	for {
		select {
		case tk := <-q:
			m, err := protocol.DecodeServer(tk.frame.payload())
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(m.Msgs))
			tk.room.delivered(tk.frame)
		default:
			return sizes
		}
	}
}

func TestBatcherIdleRoomFlushesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, q := batchRoom(50*time.Millisecond, 500)
		r.onLive(msg(1))
		if got := batchSizes(t, q); len(got) != 1 || got[0] != 1 {
			t.Fatalf("lone message: batches %v, want [1] with no delay", got)
		}
		time.Sleep(time.Second) // idle again
		r.onLive(msg(2))
		if got := batchSizes(t, q); len(got) != 1 {
			t.Fatalf("after idle: batches %v", got)
		}
		r.close()
	})
}

func TestBatcherMergesUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, q := batchRoom(50*time.Millisecond, 500)
		r.onLive(msg(1)) // flushes at once and opens a window
		// Deliver the first frame before more arrive, so that only the
		// window (not an undelivered frame) holds the next batch.
		if got := batchSizes(t, q); len(got) != 1 || got[0] != 1 {
			t.Fatalf("first message: batches %v, want [1]", got)
		}
		synctest.Wait()
		for off := uint64(2); off <= 11; off++ {
			time.Sleep(time.Millisecond)
			r.onLive(msg(off))
		}
		synctest.Wait()
		if got := batchSizes(t, q); len(got) != 0 {
			t.Fatalf("inside the window: batches %v, want none", got)
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if got := batchSizes(t, q); len(got) != 1 || got[0] != 10 {
			t.Fatalf("after the window: batches %v, want [10]", got)
		}
		r.close()
	})
}

func TestBatcherSizeCapFlushesEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, q := batchRoom(time.Hour, 4)
		for off := uint64(1); off <= 9; off++ {
			r.onLive(msg(off))
		}
		// 1 at once (idle), then two full batches of 4 without waiting.
		if got := batchSizes(t, q); len(got) != 3 || got[1] != 4 || got[2] != 4 {
			t.Fatalf("batches %v, want [1 4 4]", got)
		}
		r.close()
	})
}

// While a frame is still being delivered the room holds its next batch
// back, however long that takes, and flushes it as soon as the frame is out.
func TestBatcherHoldsWhileDelivering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, q := batchRoom(50*time.Millisecond, 500)
		r.onLive(msg(1))
		first := <-q // taken by a "bucket" that is slow to deliver
		for off := uint64(2); off <= 30; off++ {
			time.Sleep(10 * time.Millisecond)
			r.onLive(msg(off))
		}
		if got := batchSizes(t, q); len(got) != 0 {
			t.Fatalf("flushed %v while the previous frame was in flight", got)
		}
		first.room.delivered(first.frame)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := batchSizes(t, q); len(got) != 1 || got[0] != 29 {
			t.Fatalf("after delivery: batches %v, want [29]", got)
		}
		r.close()
	})
}

func TestBatcherDropsDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, q := batchRoom(50*time.Millisecond, 500)
		r.onLive(msg(1))
		r.onLive(msg(1))
		time.Sleep(time.Second)
		synctest.Wait()
		if got := batchSizes(t, q); len(got) != 1 || got[0] != 1 {
			t.Fatalf("batches %v, want one message once", got)
		}
		r.close()
	})
}

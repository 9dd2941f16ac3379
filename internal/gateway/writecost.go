package gateway

import (
	"sync/atomic"
	"time"
)

// writeCost is the gateway's running estimate of the CPU one frame write
// takes (mostly the write(2) itself), from the buckets' fan-out loops. The
// rooms use it to price a flush.
type writeCost struct {
	nanos atomic.Int64
}

// initialWriteCost is the estimate before the first measurement: a
// loopback write on a small VM, so that rooms start out cautious.
const initialWriteCost = 20 * time.Microsecond

func newWriteCost() *writeCost {
	w := &writeCost{}
	w.nanos.Store(int64(initialWriteCost))
	return w
}

// observe folds in one fan-out loop: n writes in d. A moving average with
// weight 1/8 follows a change of load within a few dozen frames and does
// not jump with one slow loop. Concurrent updates may lose one another's
// sample; an estimate does not mind.
func (w *writeCost) observe(d time.Duration, n int) {
	sample := int64(d) / int64(n)
	old := w.nanos.Load()
	w.nanos.Store(old + (sample-old)/8)
}

// per is the estimated cost of one write.
func (w *writeCost) per() time.Duration { return time.Duration(w.nanos.Load()) }

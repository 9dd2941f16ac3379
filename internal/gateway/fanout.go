package gateway

// fanout is the gateway's set of buckets as the rest of the gateway sees it:
// where a new connection goes, and how a frame reaches the buckets that
// should write it.
type fanout struct {
	buckets []*bucket // len is a power of two
}

func newFanout(n int, stop <-chan struct{}, m bucketMetrics, writes *writeCost) *fanout {
	f := &fanout{}
	for i := range n {
		f.buckets = append(f.buckets, newBucket(i, stop, m, writes))
	}
	return f
}

// bucketFor spreads connections over the buckets by their sequence number.
func (f *fanout) bucketFor(seq uint64) *bucket {
	return f.buckets[seq&uint64(len(f.buckets)-1)]
}

// toRoom queues a room frame on the buckets that hold members of r and
// returns how many that is. Buckets without members of r never see it, so
// a bucket that is behind delays only the rooms it serves.
func (f *fanout) toRoom(r *room, t task) int {
	n := 0
	for i, b := range f.buckets {
		if r.viewersIn[i].Load() > 0 {
			b.enqueue(t)
			n++
		}
	}
	return n
}

// everywhere queues t on every bucket (broadcasts and user pushes, which
// are not tied to a room).
func (f *fanout) everywhere(t task) {
	for _, b := range f.buckets {
		b.enqueue(t)
	}
}

// snapshot lists every connection, bucket by bucket.
func (f *fanout) snapshot() []*conn {
	var all []*conn
	for _, b := range f.buckets {
		all = append(all, b.conns.snapshot()...)
	}
	return all
}

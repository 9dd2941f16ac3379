package gateway

import (
	"sync"
	"sync/atomic"
)

// fdIndex finds a viewer's conn from its socket's file descriptor (what
// nbio's Conn.Hash returns on Linux) without a lock. nbio calls the
// written-size hook on every write with only its own connection; getting
// from there to the conn through the WebSocket session took a lock per
// write, 4% of a hot room's fan-out. Chunks of fdChunk entries are made as
// descriptors reach them, so memory follows the highest descriptor in use.
type fdIndex struct {
	mu     sync.Mutex // guards making chunks
	chunks []atomic.Pointer[[fdChunk]atomic.Pointer[conn]]
}

const fdChunk = 4096

func newFDIndex(maxFDs int) *fdIndex {
	return &fdIndex{chunks: make([]atomic.Pointer[[fdChunk]atomic.Pointer[conn]], (maxFDs+fdChunk-1)/fdChunk)}
}

// put makes c the conn of descriptor fd; a descriptor past maxFDs is not
// indexed (get then reports nothing, and the caller falls back).
func (x *fdIndex) put(fd int, c *conn) {
	if fd < 0 || fd/fdChunk >= len(x.chunks) {
		return
	}
	slot := &x.chunks[fd/fdChunk]
	chunk := slot.Load()
	if chunk == nil {
		x.mu.Lock()
		if chunk = slot.Load(); chunk == nil {
			chunk = new([fdChunk]atomic.Pointer[conn])
			slot.Store(chunk)
		}
		x.mu.Unlock()
	}
	chunk[fd%fdChunk].Store(c)
}

// get returns the conn of descriptor fd, nil if none.
func (x *fdIndex) get(fd int) *conn {
	if fd < 0 || fd/fdChunk >= len(x.chunks) {
		return nil
	}
	chunk := x.chunks[fd/fdChunk].Load()
	if chunk == nil {
		return nil
	}
	return chunk[fd%fdChunk].Load()
}

// remove forgets c at fd, unless a newer conn took the descriptor.
func (x *fdIndex) remove(fd int, c *conn) {
	if fd < 0 || fd/fdChunk >= len(x.chunks) {
		return
	}
	if chunk := x.chunks[fd/fdChunk].Load(); chunk != nil {
		chunk[fd%fdChunk].CompareAndSwap(c, nil)
	}
}

package gateway

import "github.com/danmaku/danmaku/protocol"

// A bucket writing a batch frame to a room's members looks at the room's
// newer messages extendSteps−1 times in the round, at most every
// extendEvery members: each look that finds some costs one more frame
// (and one trimmed copy in the next round), so the steps are few.
const (
	extendEvery = 128
	extendSteps = 4
)

// catchUp chooses what each member of a room gets while a bucket writes one
// batch frame to them (bucket.deliver). A room holds its next batch until
// every bucket has written the frame in flight, so a message that arrives
// just after a flush would wait for the whole round, then for its place in
// the next: two rounds. Instead, every extendEvery members the bucket looks
// at the room's pending messages, and the members it has not written yet
// get the frame with them appended, built once for the rest of the round.
// The room flushes those messages as usual later; a member that already
// has some of a frame's messages gets only the ones it lacks (a trimmed
// copy, built once per starting point), and one that has them all gets
// nothing. So a message waits at most about one round, and the members'
// streams stay whole and in order: each member's lastSent says where its
// stream ends.
type catchUp struct {
	room    *room
	base    *frame            // the room's shared frame
	msgs    []protocol.Stored // base's messages, then the extension's, oldest first
	last    uint64            // newest offset in msgs
	full    *frame            // msgs as one frame once extended (nil: base is all of msgs)
	trimmed map[uint64]*frame // by the newest offset a member has
}

func newCatchUp(t *task) catchUp {
	return catchUp{room: t.room, base: t.frame, msgs: t.batch, last: t.lastOffset}
}

// extend appends the room's messages newer than c.last, if the room has
// them and the frame is the newest it flushed.
func (c *catchUp) extend() {
	more := c.room.pendingAfter(c.last)
	if len(more) == 0 {
		return
	}
	c.msgs = append(c.msgs[:len(c.msgs):len(c.msgs)], more...)
	c.last = more[len(more)-1].Offset
	c.full = c.encode(c.msgs)
	c.trimmed = nil
}

// frameFor returns the frame for a member whose stream ends at sent, and
// the offset it will end at; nil when the member has every message.
func (c *catchUp) frameFor(sent uint64) (*frame, uint64) {
	switch {
	case sent >= c.last:
		return nil, sent
	case len(c.msgs) == 0 || sent < c.msgs[0].Offset:
		if c.full != nil {
			return c.full, c.last
		}
		return c.base, c.last
	}
	f, ok := c.trimmed[sent]
	if !ok {
		i := 0
		for i < len(c.msgs) && c.msgs[i].Offset <= sent {
			i++
		}
		f = c.encode(c.msgs[i:])
		if c.trimmed == nil {
			c.trimmed = map[uint64]*frame{}
		}
		c.trimmed[sent] = f
	}
	return f, c.last
}

func (c *catchUp) encode(msgs []protocol.Stored) *frame {
	f := encodeBatch(c.room.name, msgs)
	f.solo = c.base.solo
	return f
}

// pendingAfter returns a copy of the room's pending messages newer than
// offset, when they follow on from the newest flushed frame (whose last
// offset is at most offset) with nothing missing; nil otherwise.
func (r *room) pendingAfter(offset uint64) []protocol.Stored {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || !r.streaming || offset < r.flushedLast || len(r.pending) == 0 {
		return nil
	}
	p := r.pending
	for len(p) > 0 && p[0].Offset <= offset {
		p = p[1:]
	}
	if len(p) == 0 {
		return nil
	}
	return append([]protocol.Stored(nil), p...)
}

// memberSet is a room's members in one bucket, kept in a stable order:
// deliver walks them in the same order every round, so that a member
// written early in one round is written early in the next, and a message
// that catchUp appended for the later members reaches the earlier ones in
// the next round at most about one round after it came. Removing a member
// moves the last one into its place.
type memberSet struct {
	conns []*conn
	mems  []*membership
	index map[*conn]int
}

func newMemberSet() *memberSet { return &memberSet{index: map[*conn]int{}} }

func (s *memberSet) len() int { return len(s.conns) }

func (s *memberSet) get(c *conn) (*membership, bool) {
	i, ok := s.index[c]
	if !ok {
		return nil, false
	}
	return s.mems[i], true
}

// put makes m c's membership, in c's place if it has one, else last.
func (s *memberSet) put(c *conn, m *membership) {
	if i, ok := s.index[c]; ok {
		s.mems[i] = m
		return
	}
	s.index[c] = len(s.conns)
	s.conns = append(s.conns, c)
	s.mems = append(s.mems, m)
}

func (s *memberSet) remove(c *conn) {
	i, ok := s.index[c]
	if !ok {
		return
	}
	last := len(s.conns) - 1
	s.conns[i], s.mems[i] = s.conns[last], s.mems[last]
	s.index[s.conns[i]] = i
	s.conns[last], s.mems[last] = nil, nil
	s.conns, s.mems = s.conns[:last], s.mems[:last]
	delete(s.index, c)
}

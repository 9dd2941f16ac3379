package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/danmaku/danmaku/protocol"
)

// room is a room the application joined. It stays in Client.rooms across
// reconnects until Leave.
type room struct {
	name    string
	cur     cursor
	online  int64
	pending *session      // the session a join was sent on and not answered yet
	waiters []chan result // Join calls waiting for the first joined reply
}

// fail ends every Join waiting for the room.
func (r *room) fail(err error) {
	for _, w := range r.waiters {
		w <- result{err: err}
	}
	r.waiters = nil
}

// ctrlRequest is a join or leave awaiting its reply. Those replies carry no
// request id, so they are matched by op and room, and an error frame by its
// room or else by wire order.
type ctrlRequest struct {
	op     string
	name   string
	room   *room       // join: the room the reply is for; a stale reply is ignored
	resync bool        // join: sent to fill a gap on a live connection
	reply  chan result // leave: the waiting Leave, if any
}

// Position is where a room's stream stands: its epoch and the offset of the
// last message delivered. A resume join sends them as epoch and since.
type Position struct {
	Epoch  string
	Offset uint64
}

// Offsets returns the position of every joined room.
func (c *Client) Offsets() map[string]Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Position, len(c.rooms))
	for name, r := range c.rooms {
		if r.cur.established() {
			since, epoch := r.cur.position()
			out[name] = Position{Epoch: epoch, Offset: since}
		}
	}
	return out
}

// Join joins room and returns the server's joined reply: the room's epoch,
// its current offset, the online count, and whether history was recovered.
// The room's messages then arrive on Events, starting with the recent
// history the server chooses to send.
//
// While the client is reconnecting Join waits for the connection. If the
// room is already joined, Join returns its current position without asking
// the server. If ctx ends first the join is abandoned (and undone on the
// server if it was sent). A refusal is a *protocol.CodeError, such as
// protocol.CodeTooManyRooms.
//
// Once joined, the room is rejoined after every reconnect until Leave.
func (c *Client) Join(ctx context.Context, name string) (protocol.Joined, error) {
	if !protocol.ValidRoom(name) {
		return protocol.Joined{}, fmt.Errorf("%w: %q", ErrInvalidRoom, name)
	}
	c.mu.Lock()
	if c.err != nil {
		defer c.mu.Unlock()
		return protocol.Joined{}, c.err
	}
	r := c.rooms[name]
	if r != nil && r.cur.established() {
		defer c.mu.Unlock()
		since, epoch := r.cur.position()
		return protocol.Joined{Op: protocol.OpJoined, Room: name, Epoch: epoch, Offset: since, Online: r.online, Recovered: true}, nil
	}
	if r == nil {
		r = &room{name: name}
		c.rooms[name] = r
	}
	w := make(chan result, 1)
	r.waiters = append(r.waiters, w)
	s := c.sess
	c.mu.Unlock()

	// Without a live connection the next one's rejoin sends the join.
	if s != nil {
		s.join(r)
	}
	select {
	case res := <-w:
		return res.joined, res.err
	case <-ctx.Done():
		return c.abandonJoin(r, w, ctx.Err())
	}
}

// join sends a join for r on s unless one is already in flight there.
func (s *session) join(r *room) { s.sendJoin(r, false) }

// resync rejoins r with since on s to fill a gap.
func (s *session) resync(r *room) { s.sendJoin(r, true) }

func (s *session) sendJoin(r *room, gap bool) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	c := s.c
	c.mu.Lock()
	if c.sess != s || c.rooms[r.name] != r || r.pending == s {
		c.mu.Unlock()
		return
	}
	frame := c.joinLocked(s, r, gap)
	c.mu.Unlock()
	if gap {
		s.log.Debug("danmaku: gap, rejoining", "room", r.name)
	}
	s.writeLocked(frame)
}

// joinLocked registers a join for r on s and returns its frame: a resume
// from the room's position once it has one. c.mu and s.writeMu must be held.
func (c *Client) joinLocked(s *session, r *room, resync bool) []byte {
	m := protocol.ClientMessage{Op: protocol.OpJoin, Room: r.name}
	if r.cur.established() {
		since, epoch := r.cur.position()
		m.Since, m.Epoch = &since, epoch
	}
	c.ctrl = append(c.ctrl, &ctrlRequest{op: protocol.OpJoin, name: r.name, room: r, resync: resync})
	r.pending = s
	frame, _ := m.Encode() // a ClientMessage without raw JSON always encodes
	return frame
}

// abandonJoin gives up a Join whose context ended, unless it succeeded
// meanwhile.
func (c *Client) abandonJoin(r *room, w chan result, err error) (protocol.Joined, error) {
	c.mu.Lock()
	select {
	case res := <-w:
		c.mu.Unlock()
		return res.joined, res.err
	default:
	}
	r.waiters = slices.DeleteFunc(r.waiters, func(x chan result) bool { return x == w })
	var undo *session
	if c.rooms[r.name] == r && !r.cur.established() && len(r.waiters) == 0 {
		delete(c.rooms, r.name)
		undo = r.pending
		c.forgetJoinsLocked(r)
	}
	c.mu.Unlock()
	if undo != nil {
		// The join is on the wire; leave again so the server does not keep
		// sending a room nobody asked for. Its reply is matched and dropped.
		undo.request(leaveFrame(r.name), func() {
			c.ctrl = append(c.ctrl, &ctrlRequest{op: protocol.OpLeave, name: r.name, reply: make(chan result, 1)})
		})
	}
	return protocol.Joined{}, err
}

// Leave leaves room: its messages stop at once and it is not rejoined after
// a reconnect. It waits for the server's left reply while connected; a
// connection lost meanwhile counts as left. It returns ErrNotJoined for a
// room that was not joined.
func (c *Client) Leave(ctx context.Context, name string) error {
	c.mu.Lock()
	if c.err != nil {
		defer c.mu.Unlock()
		return c.err
	}
	r := c.rooms[name]
	if r == nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNotJoined, name)
	}
	onServer := r.cur.established() || r.pending != nil
	delete(c.rooms, name)
	c.forgetJoinsLocked(r)
	r.fail(ErrLeft)
	s := c.sess
	c.mu.Unlock()
	if !onServer || s == nil {
		return nil
	}

	reply := make(chan result, 1)
	err := s.request(leaveFrame(name), func() {
		c.ctrl = append(c.ctrl, &ctrlRequest{op: protocol.OpLeave, name: name, reply: reply})
	})
	if err != nil {
		return nil // the connection is gone, and with it the membership
	}
	select {
	case res := <-reply:
		if errors.Is(res.err, ErrConnectionLost) {
			return nil
		}
		return res.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func leaveFrame(name string) []byte {
	frame, _ := (&protocol.ClientMessage{Op: protocol.OpLeave, Room: name}).Encode()
	return frame
}

// forgetJoinsLocked drops the pending joins of a room being left. The
// server voids a join that a leave overtakes and never answers it; left in
// place, such an entry would take the joined reply of a later join of the
// same room. c.mu must be held.
func (c *Client) forgetJoinsLocked(r *room) {
	c.ctrl = slices.DeleteFunc(c.ctrl, func(req *ctrlRequest) bool { return req.op == protocol.OpJoin && req.room == r })
	r.pending = nil
}

// popCtrlLocked removes and returns the oldest pending request matching op
// (any op if empty) and room (any room if empty). c.mu must be held.
func (c *Client) popCtrlLocked(op, name string) *ctrlRequest {
	for i, req := range c.ctrl {
		if (op == "" || req.op == op) && (name == "" || req.name == name) {
			c.ctrl = slices.Delete(c.ctrl, i, i+1)
			return req
		}
	}
	return nil
}

// popCtrlForErrorLocked removes and returns the join or leave an error frame
// answers. Error frames name no request, and the server answers some joins
// at once (too_many_rooms) but others only after reading history, so wire
// order alone would blame the wrong join. In order of preference: the
// request for the error's room, if the server named one; for not_joined,
// the oldest leave; for too_many_rooms, the newest join (the server admits
// joins in order, so the refused ones are always the latest); otherwise the
// oldest request. c.mu must be held.
func (c *Client) popCtrlForErrorLocked(name, code string) *ctrlRequest {
	if name != "" {
		if req := c.popCtrlLocked("", name); req != nil {
			return req
		}
	}
	switch code {
	case protocol.CodeNotJoined:
		if req := c.popCtrlLocked(protocol.OpLeave, ""); req != nil {
			return req
		}
	case protocol.CodeTooManyRooms:
		for i := len(c.ctrl) - 1; i >= 0; i-- {
			if req := c.ctrl[i]; req.op == protocol.OpJoin {
				c.ctrl = slices.Delete(c.ctrl, i, i+1)
				return req
			}
		}
	}
	return c.popCtrlLocked("", "")
}

package client

import (
	"fmt"
	"strconv"

	"github.com/danmaku/danmaku/protocol"
)

// readLoop reads frames until the connection ends and turns them into
// replies and events. It is the only goroutine that delivers room messages,
// which is what keeps them in order.
func (s *session) readLoop() {
	defer s.wg.Done()
	c := s.c
	if !c.emit(Event{Kind: EventState, State: StateConnected, URL: s.url}) {
		s.end(ErrClosed)
		return
	}
	for {
		_, data, err := s.conn.Read(s.ctx)
		if err != nil {
			s.end(closeCause(err)) // a no-op if the session already ended
			return
		}
		s.alive()
		m, err := protocol.DecodeServer(data)
		if err != nil {
			s.log.Warn("danmaku: undecodable frame", "err", err, "len", len(data))
			continue
		}
		if !s.dispatch(m) {
			s.end(ErrClosed)
			return
		}
	}
}

// dispatch handles one frame. It returns false once the client is closed
// and an event could not be delivered.
func (s *session) dispatch(m *protocol.ServerMessage) bool {
	c := s.c
	switch m.Op {
	case protocol.OpBatch:
		return s.onBatch(m)
	case protocol.OpOnline:
		c.mu.Lock()
		r := c.rooms[m.Room]
		if r != nil {
			r.online = m.Count
		}
		c.mu.Unlock()
		if r == nil {
			return true
		}
		return s.deliver(Event{Kind: EventOnline, Room: m.Room, Online: m.Count})
	case protocol.OpUser, protocol.OpBroadcast:
		kind := EventUser
		if m.Op == protocol.OpBroadcast {
			kind = EventBroadcast
		}
		for _, msg := range m.Msgs {
			if !s.deliver(Event{Kind: kind, Message: msg}) {
				return false
			}
		}
		return true
	case protocol.OpJoined:
		return s.onJoined(m)
	case protocol.OpLeft:
		c.mu.Lock()
		req := c.popCtrlLocked(protocol.OpLeave, m.Room)
		c.mu.Unlock()
		if req != nil && req.reply != nil {
			req.reply <- result{}
		}
		return true
	case protocol.OpAck, protocol.OpNack:
		c.mu.Lock()
		reply := c.sends[m.ID]
		delete(c.sends, m.ID)
		c.mu.Unlock()
		if reply == nil {
			return true // its Send gave up
		}
		if m.Op == protocol.OpAck {
			reply <- result{ack: protocol.Ack{Op: m.Op, ID: m.ID, Offset: m.Offset, MsgID: m.MsgID}}
		} else {
			reply <- result{err: &NackError{ID: m.ID, CodeError: codeError(m)}}
		}
		return true
	case protocol.OpPong:
		token, err := strconv.ParseUint(string(m.T), 10, 64)
		if err != nil {
			return true // a heartbeat pong: it has done its job by arriving
		}
		c.mu.Lock()
		reply := c.pings[token]
		delete(c.pings, token)
		c.mu.Unlock()
		if reply != nil {
			reply <- result{}
		}
		return true
	case protocol.OpError:
		return s.onError(m)
	case protocol.OpAuthed:
		c.mu.Lock()
		c.user = m.User
		c.mu.Unlock()
		return true
	default:
		return true // ops added after this client was written
	}
}

// deliver emits ev and tells the heartbeat that delivery progressed, so a
// slow consumer is not mistaken for a silent server.
func (s *session) deliver(ev Event) bool {
	if !s.c.emit(ev) {
		return false
	}
	s.alive()
	return true
}

// onBatch delivers a room's messages through its cursor.
func (s *session) onBatch(m *protocol.ServerMessage) bool {
	c := s.c
	c.mu.Lock()
	r := c.rooms[m.Room]
	if r == nil || !r.cur.established() {
		c.mu.Unlock()
		return true // left, or a join this client abandoned
	}
	out, v := r.cur.admit(m.Msgs)
	var epoch string
	var offset uint64
	if v == verdictGaveUp {
		offset, epoch = r.cur.position()
	}
	c.mu.Unlock()

	for _, msg := range out {
		if !s.deliver(Event{Kind: EventMessage, Room: m.Room, Message: msg}) {
			return false
		}
	}
	switch v {
	case verdictResync:
		s.resync(r)
	case verdictGaveUp:
		s.log.Warn("danmaku: gap in room offsets not filled", "room", m.Room)
		return s.deliver(Event{Kind: EventReset, Room: m.Room, Epoch: epoch, Offset: offset, Err: ErrGap})
	}
	return true
}

// onJoined applies a joined reply to its room and wakes the Join calls.
func (s *session) onJoined(m *protocol.ServerMessage) bool {
	c := s.c
	j := protocol.Joined{Op: m.Op, Room: m.Room, Epoch: m.Epoch, Offset: m.Offset, Online: m.Online, Recovered: m.Recovered}
	c.mu.Lock()
	req := c.popCtrlLocked(protocol.OpJoin, m.Room)
	r := c.rooms[m.Room]
	if req == nil || r == nil || req.room != r {
		c.mu.Unlock()
		return true // a join abandoned or left since
	}
	r.pending = nil
	reset := r.cur.joined(j)
	r.online = m.Online
	waiters := r.waiters
	r.waiters = nil
	c.mu.Unlock()

	for _, w := range waiters {
		w <- result{joined: j}
	}
	if reset {
		s.log.Info("danmaku: room history not recovered", "room", m.Room, "epoch", m.Epoch)
		return s.deliver(Event{Kind: EventReset, Room: m.Room, Epoch: m.Epoch, Offset: m.Offset, Err: ErrHistoryLost})
	}
	return true
}

// onError routes an error frame to the join or leave it answers, or to the
// application when no request was waiting.
func (s *session) onError(m *protocol.ServerMessage) bool {
	c := s.c
	ce := codeError(m)
	c.mu.Lock()
	req := c.popCtrlForErrorLocked(m.Room, m.Code)
	if req == nil {
		c.mu.Unlock()
		return s.deliver(Event{Kind: EventError, Room: m.Room, Err: &ce})
	}
	if req.op == protocol.OpLeave {
		c.mu.Unlock()
		if req.reply != nil {
			req.reply <- result{err: fmt.Errorf("leave %s: %w", req.name, &ce)}
		}
		return true
	}

	r := c.rooms[req.name]
	if r == nil || req.room != r {
		c.mu.Unlock()
		return true
	}
	r.pending = nil
	switch {
	case req.resync || (r.cur.established() && transient(ce.Code)):
		// The room is fine but this connection cannot catch up on it; a
		// fresh connection resumes it from its position.
		c.mu.Unlock()
		s.end(fmt.Errorf("rejoin %s: %w", req.name, &ce))
		return true
	case !r.cur.established():
		delete(c.rooms, req.name)
		r.fail(fmt.Errorf("join %s: %w", req.name, &ce))
		c.mu.Unlock()
		return true
	default:
		// A room the server no longer lets this client into (closed,
		// banned from): drop it and tell the application.
		delete(c.rooms, req.name)
		c.mu.Unlock()
		s.log.Warn("danmaku: rejoin refused, room dropped", "room", req.name, "code", ce.Code)
		return s.deliver(Event{Kind: EventError, Room: req.name, Err: fmt.Errorf("rejoin %s: %w", req.name, &ce)})
	}
}

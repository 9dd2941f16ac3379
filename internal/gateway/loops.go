package gateway

import (
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// sweepLoop closes connections that have been silent for longer than
// IdleTimeout with 4012.
func (g *Gateway) sweepLoop() {
	every := min(max(min(g.cfg.IdleTimeout, g.cfg.HandshakeTimeout)/10, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-g.workers.ctx.Done():
			return
		case now := <-t.C:
			g.sweep(now)
		}
	}
}

// sweep runs the per-connection timers: the close grace, nbio's stray
// read deadline, the idle timeout and the auth deadlines.
func (g *Gateway) sweep(now time.Time) {
	idle := now.Add(-g.cfg.IdleTimeout).UnixNano()
	grace := now.Add(-closeGrace).UnixNano()
	for _, b := range g.fanout.buckets {
		for _, c := range b.conns.snapshot() {
			if c.closing.Load() {
				if at := c.closeAt.Load(); at != 0 && at < grace {
					_ = c.raw.Close() // no close reply within the grace
				}
				continue
			}
			if !c.deadlineCleared && now.Sub(c.connected) > time.Second {
				// nbio's accept path can set its keep-alive read deadline
				// after the upgrade already cleared it (nbhttp engine.go,
				// AddConnNonTLSNonBlocking), which would drop the viewer
				// HandshakeTimeout after connecting. The gateway runs its
				// own idle timeout, so it clears that deadline once the
				// accept path is long done.
				_ = c.raw.SetReadDeadline(time.Time{})
				c.deadlineCleared = true
			}
			if c.lastActive.Load() < idle {
				c.close(protocol.CloseHeartbeatTimeout, "heartbeat timeout")
				continue
			}
			g.sweepAuth(c, now)
		}
	}
}

// onlineLoop sends each room's viewer count to its members when it changed,
// at most once per OnlineInterval.
func (g *Gateway) onlineLoop() {
	t := time.NewTicker(g.cfg.OnlineInterval)
	defer t.Stop()
	for {
		select {
		case <-g.workers.ctx.Done():
			return
		case <-t.C:
			g.sendOnline()
		}
	}
}

func (g *Gateway) sendOnline() {
	g.rooms.each(func(r *room) {
		n := g.withRemote(r.name, r.viewers.Load())
		r.mu.Lock()
		changed := n != r.onlineSent && !r.closed
		r.onlineSent = n
		if changed {
			f := newTextFrame(protocol.AppendOnline(nil, r.name, n))
			g.fanout.toRoom(r, task{kind: taskRoom, room: r, frame: f})
		}
		r.mu.Unlock()
	})
}

// onBroadcast delivers messages from POST /v1/broadcast to every connection.
func (g *Gateway) onBroadcast(bodies [][]byte) {
	f := newTextFrame(protocol.AppendMsgs(nil, protocol.OpBroadcast, stored(bodies)))
	g.fanout.everywhere(task{kind: taskEveryone, frame: f})
}

// onUserPush delivers messages to every connection of one user.
func (g *Gateway) onUserPush(user string, bodies [][]byte) {
	f := newTextFrame(protocol.AppendMsgs(nil, protocol.OpUser, stored(bodies)))
	g.fanout.everywhere(task{kind: taskUser, user: user, frame: f})
}

func stored(bodies [][]byte) []protocol.Stored {
	out := make([]protocol.Stored, len(bodies))
	for i, b := range bodies {
		out[i] = protocol.Stored{Body: b}
	}
	return out
}

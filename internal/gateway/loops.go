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
		case <-g.stop:
			return
		case now := <-t.C:
			deadline := now.Add(-g.cfg.IdleTimeout).UnixNano()
			for _, b := range g.buckets {
				for _, c := range b.mu.snapshot() {
					if c.lastActive.Load() < deadline {
						c.close(protocol.CloseHeartbeatTimeout, "heartbeat timeout")
						continue
					}
					g.sweepAuth(c, now)
				}
			}
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
		case <-g.stop:
			return
		case <-t.C:
			g.sendOnline()
		}
	}
}

func (g *Gateway) sendOnline() {
	type change struct {
		r     *room
		count int64
	}
	var changes []change
	g.roomsMu.Lock()
	for _, r := range g.rooms {
		if n := int64(r.refs); n != r.onlineSent {
			r.onlineSent = n
			changes = append(changes, change{r, n})
		}
	}
	g.roomsMu.Unlock()
	for _, ch := range changes {
		f := newTextFrame(protocol.AppendOnline(nil, ch.r.name, ch.count))
		t := task{kind: taskDeliver, room: ch.r, frame: f}
		for _, b := range g.buckets {
			b.enqueue(t)
		}
	}
}

// onBroadcast delivers messages from POST /v1/broadcast to every connection.
func (g *Gateway) onBroadcast(bodies [][]byte) {
	f := newTextFrame(protocol.AppendMsgs(nil, protocol.OpBroadcast, stored(bodies)))
	for _, b := range g.buckets {
		b.enqueue(task{kind: taskEveryone, frame: f})
	}
}

// onUserPush delivers messages to every connection of one user.
func (g *Gateway) onUserPush(user string, bodies [][]byte) {
	f := newTextFrame(protocol.AppendMsgs(nil, protocol.OpUser, stored(bodies)))
	for _, b := range g.buckets {
		b.enqueue(task{kind: taskUser, user: user, frame: f})
	}
}

func stored(bodies [][]byte) []protocol.Stored {
	out := make([]protocol.Stored, len(bodies))
	for i, b := range bodies {
		out[i] = protocol.Stored{Body: b}
	}
	return out
}

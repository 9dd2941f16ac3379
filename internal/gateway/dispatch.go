package gateway

import (
	"errors"
	"time"
	"unicode/utf8"

	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// onMessage handles one client message. nbio runs it on its executor,
// serially per connection.
func (g *Gateway) onMessage(ws *websocket.Conn, mt websocket.MessageType, data []byte) {
	c, ok := ws.Session().(*conn)
	if !ok {
		return
	}
	c.touch(time.Now())
	g.metrics.BytesIn.Add(float64(len(data)))
	if mt != websocket.TextMessage {
		g.bad(c, "binary frames are not part of the protocol; send JSON text frames")
		return
	}
	if !utf8.Valid(data) {
		c.close(protocol.CloseInvalidPayload, "invalid UTF-8")
		return
	}
	msg, err := protocol.DecodeClient(data)
	if errors.Is(err, protocol.ErrUnknownOp) {
		// A newer client's op: answer, but it is not garbage.
		c.replyError(protocol.CodeBadRequest, err.Error())
		return
	}
	if err != nil {
		g.bad(c, err.Error())
		return
	}
	if !g.allowMessage(c, msg) {
		return
	}
	if g.cfg.RequireAuth && !c.authed.Load() && msg.Op != protocol.OpAuth && msg.Op != protocol.OpPing {
		c.replyRoomError(msg.Room, protocol.CodeUnauthorized, "authenticate first: send auth with your token")
		return
	}
	switch msg.Op {
	case protocol.OpPing:
		c.reply(protocol.Marshal(protocol.Pong{Op: protocol.OpPong, T: msg.T}))
	case protocol.OpJoin:
		g.join(c, msg)
	case protocol.OpLeave:
		g.leave(c, msg)
	case protocol.OpSend:
		g.send(c, msg)
	case protocol.OpModerate:
		g.moderate(c, msg)
	case protocol.OpAuth:
		g.authenticate(c, msg.Token)
	}
}

// closeReasons names, for the closes metric, the codes the server closes
// with; a connection the server did not close counts as CloseClient.
var closeReasons = map[int32]metrics.CloseReason{
	protocol.CloseSlowConsumer:     metrics.CloseSlowConsumer,
	protocol.CloseHeartbeatTimeout: metrics.CloseIdle,
	protocol.CloseDraining:         metrics.CloseDrain,
	protocol.CloseProtocolError:    metrics.CloseProtocol,
	protocol.CloseInvalidPayload:   metrics.CloseBadUTF8,
	protocol.CloseOverloaded:       metrics.CloseFlood,
	protocol.CloseUnauthorized:     metrics.CloseUnauthorized,
	protocol.CloseBanned:           metrics.CloseBanned,
}

func closeReason(code int32, err error) metrics.CloseReason {
	if r, ok := closeReasons[code]; ok {
		return r
	}
	if code == 0 && errors.Is(err, websocket.ErrMessageTooLarge) {
		return metrics.CloseTooBig // nbio closed it with 1009
	}
	return metrics.CloseClient
}

func (g *Gateway) onClose(ws *websocket.Conn, err error) {
	c, ok := ws.Session().(*conn)
	if !ok {
		return
	}
	c.closing.Store(true)
	c.dropHeld()
	g.unindexConn(c)
	g.metrics.Closed(closeReason(c.closeCode.Load(), err))
	members := c.takeMemberships()
	c.bucket.conns.remove(c)
	if len(members) > 0 {
		c.bucket.enqueue(task{kind: taskDrop, conn: c, members: members})
		for _, m := range members {
			g.rooms.release(m.room, c.bucket)
		}
	}
	g.admission.release(c.ip)
	g.conns.Add(-1)
	g.metrics.Connections.Dec()
}

// allowMessage applies the per-connection message rate. A refused send
// gets a rate_limited nack, anything else an error; a connection that goes
// on flooding through the refusals is closed with 4013.
func (g *Gateway) allowMessage(c *conn, msg *protocol.ClientMessage) bool {
	if c.limiter.Allow() {
		c.refusals = 0
		return true
	}
	c.refusals++
	g.metrics.Drop(metrics.DropMessageRate)
	if c.refusals > 2*g.cfg.MessageBurst {
		c.close(protocol.CloseOverloaded, "retry=10000 message flood")
		return false
	}
	retry := time.Duration(float64(time.Second) / g.cfg.MessageRate)
	e := &protocol.CodeError{Code: protocol.CodeRateLimited, Message: "too many messages; slow down", RetryAfter: retry}
	if msg.Op == protocol.OpSend {
		g.nack(c, msg, e)
	} else {
		c.replyError(e.Code, e.Message)
	}
	return false
}

// badWindow is the period over which malformed messages are counted.
const badWindow = time.Minute

// bad answers a malformed message with an error, and closes a connection
// that keeps sending them with 4400.
func (g *Gateway) bad(c *conn, why string) {
	g.metrics.Drop(metrics.DropBadRequest)
	now := time.Now()
	c.mu.Lock()
	if now.Sub(c.badSince) > badWindow {
		c.bad, c.badSince = 0, now
	}
	c.bad++
	n := c.bad
	c.mu.Unlock()
	if n > g.cfg.MaxBadMessages {
		c.close(protocol.CloseProtocolError, "too many malformed messages")
		return
	}
	c.replyError(protocol.CodeBadRequest, why)
}

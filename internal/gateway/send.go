package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// sendTimeout bounds one send through the logic tier and the store.
const sendTimeout = 10 * time.Second

// send runs a viewer's send op: the gateway checks what only it knows (the
// viewer joined the room), the Sender applies the rules and stores it, and
// the viewer gets an ack with the offset or a nack with a code.
func (g *Gateway) send(c *conn, msg *protocol.ClientMessage) {
	if len(msg.ID) > protocol.MaxClientIDLen {
		g.nack(c, msg, protocol.Errorf(protocol.CodeBadRequest, "id is longer than %d bytes", protocol.MaxClientIDLen))
		return
	}
	c.mu.Lock()
	_, joined := c.rooms[msg.Room]
	c.mu.Unlock()
	if !joined {
		g.nack(c, msg, protocol.Errorf(protocol.CodeNotJoined, "join room %q before sending to it", msg.Room))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	offset, id, err := g.cfg.Sender.Send(ctx, c.user, msg)
	if err != nil {
		var ce *protocol.CodeError
		if !errors.As(err, &ce) {
			g.log.Warn("send failed", "room", msg.Room, "err", err)
			ce = protocol.Errorf(protocol.CodeUnavailable, "the message could not be stored; retry")
		}
		g.nack(c, msg, ce)
		return
	}
	g.metrics.MessagesIn.WithLabelValues("ws").Inc()
	c.reply(protocol.Marshal(protocol.Ack{Op: protocol.OpAck, ID: msg.ID, Offset: offset, MsgID: id}))
}

// nack refuses a send, counting the refusal by code.
func (g *Gateway) nack(c *conn, msg *protocol.ClientMessage, e *protocol.CodeError) {
	g.metrics.Nacks.WithLabelValues(e.Code).Inc()
	c.reply(protocol.Marshal(e.NackFor(msg.ID)))
}

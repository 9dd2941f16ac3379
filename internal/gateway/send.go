package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// sendTimeout bounds one send through the logic tier and the store.
const sendTimeout = 10 * time.Second

// maxWaitingSends bounds the sends of one connection that wait for the
// logic tier. A viewer within --msg-rate never has more than a few; past it
// a send is refused with rate_limited instead of holding more memory.
const maxWaitingSends = 16

// send runs a viewer's send op: the gateway checks what only it knows (the
// viewer joined the room), then queues it for the Sender, which applies the
// rules and stores it; the viewer gets an ack with the offset or a nack
// with a code. A connection's sends go to the Sender one at a time and in
// order, on a goroutine of their own, so that a slow logic tier holds up
// neither nbio's executor nor the connection's other ops.
func (g *Gateway) send(c *conn, msg *protocol.ClientMessage) {
	if len(msg.ID) > protocol.MaxClientIDLen {
		g.nack(c, msg, protocol.Errorf(protocol.CodeBadRequest, "id is longer than %d bytes", protocol.MaxClientIDLen))
		return
	}
	c.mu.Lock()
	_, joined := c.rooms[msg.Room]
	full := len(c.sends) >= maxWaitingSends
	start := false
	if joined && !full && !c.closed {
		c.sends = append(c.sends, msg)
		start, c.sending = !c.sending, true
	}
	c.mu.Unlock()
	switch {
	case !joined:
		g.nack(c, msg, protocol.Errorf(protocol.CodeNotJoined, "join room %q before sending to it", msg.Room))
	case full:
		g.nack(c, msg, &protocol.CodeError{Code: protocol.CodeRateLimited, Message: "too many sends waiting for their acks; wait for them", RetryAfter: time.Second})
	case start:
		g.workers.Go(func(ctx context.Context) { g.drainSends(ctx, c) })
	}
}

// drainSends hands the connection's waiting sends to the Sender, oldest
// first, until none is left or the connection closed.
func (g *Gateway) drainSends(ctx context.Context, c *conn) {
	for {
		c.mu.Lock()
		if len(c.sends) == 0 || c.closed {
			c.sends, c.sending = nil, false
			c.mu.Unlock()
			return
		}
		msg := c.sends[0]
		c.sends = c.sends[1:]
		c.mu.Unlock()
		g.sendOne(ctx, c, msg)
	}
}

// sendOne stores one send through the Sender and answers it. While it is
// in the store, the connection's frames of small rooms wait for the answer
// (ackride.go).
func (g *Gateway) sendOne(ctx context.Context, c *conn, msg *protocol.ClientMessage) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	c.storing()
	offset, id, err := g.cfg.Sender.Send(ctx, c.identityUser(), msg)
	if err != nil {
		var ce *protocol.CodeError
		if !errors.As(err, &ce) {
			g.log.Warn("send failed", "room", msg.Room, "err", err)
			ce = protocol.Errorf(protocol.CodeUnavailable, "the message could not be stored; retry")
		}
		c.answer(nil, 0, g.nackPayload(msg, ce), false)
		return
	}
	g.metrics.MessagesIn.WithLabelValues("ws").Inc()
	c.answer(c.membership(msg.Room), offset, protocol.Marshal(protocol.Ack{Op: protocol.OpAck, ID: msg.ID, Offset: offset, MsgID: id}), true)
}

// nack refuses a send, counting the refusal by code.
func (g *Gateway) nack(c *conn, msg *protocol.ClientMessage, e *protocol.CodeError) {
	c.reply(g.nackPayload(msg, e))
}

// nackPayload counts a refusal by code and returns its nack.
func (g *Gateway) nackPayload(msg *protocol.ClientMessage, e *protocol.CodeError) []byte {
	g.metrics.Nacks.WithLabelValues(e.Code).Inc()
	return protocol.Marshal(e.NackFor(msg.ID))
}

package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/moderation"
	"github.com/danmaku/danmaku/protocol"
)

// moderate runs a moderator's request. The role and rooms come from the
// verified token; everyone else is refused before anything is looked at.
func (g *Gateway) moderate(c *conn, msg *protocol.ClientMessage) {
	// The rule is auth's, shared with the HTTP API: a token limited to some
	// rooms moderates only those; acting across rooms (bans, mutes
	// everywhere) needs an unrestricted token or admin.
	c.mu.Lock()
	id := c.identity
	c.mu.Unlock()
	if reason := id.ModerationRefusal(msg.Room); reason != "" {
		c.replyRoomError(msg.Room, protocol.CodeForbidden, reason)
		return
	}
	if g.cfg.Moderator == nil {
		c.replyRoomError(msg.Room, protocol.CodeUnavailable, "moderation is not configured on this node")
		return
	}
	ctx, cancel := context.WithTimeout(g.workers.ctx, 10*time.Second)
	defer cancel()
	if err := g.cfg.Moderator.Moderate(ctx, c.user, msg); err != nil {
		var ce *protocol.CodeError
		if !errors.As(err, &ce) {
			g.log.Warn("moderation failed", "action", msg.Action, "err", err)
			ce = protocol.Errorf(protocol.CodeUnavailable, "moderation failed; retry")
		}
		c.replyRoomError(msg.Room, ce.Code, ce.Message)
		return
	}
	c.reply(protocol.Marshal(protocol.Moderated{Op: protocol.OpModerated, Action: msg.Action, Room: msg.Room, Target: msg.User}))
}

// onBan closes every connection of a banned user on this node with 4503.
// It runs on the moderation store's watcher, once per ban on every node.
func (g *Gateway) onBan(b moderation.Ban) {
	for _, c := range g.fanout.snapshot() {
		if c.publicID() == b.User {
			g.metrics.Refused(metrics.RefuseBanned)
			c.close(protocol.CloseBanned, "banned")
		}
	}
}

// banned reports whether the connection's user is banned now.
func (g *Gateway) banned(c *conn) bool {
	if g.cfg.Moderation == nil {
		return false
	}
	_, ok := g.cfg.Moderation.Banned(c.publicID())
	return ok
}

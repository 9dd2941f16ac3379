package gateway

import (
	"errors"
	"time"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// authenticate handles the auth op: a valid token turns the guest into the
// token's user; a bad or expired one is answered with unauthorized and
// close code 4501. The token itself is never logged.
func (g *Gateway) authenticate(c *conn, token string) {
	v := g.cfg.Verifier
	if v == nil || !v.Enabled() {
		c.replyError(protocol.CodeUnauthorized, "token authentication is not configured on this server; you are connected as a guest")
		return
	}
	id, err := v.Verify(token)
	if err != nil {
		reason := "invalid token"
		if errors.Is(err, auth.ErrExpired) {
			reason = "token expired"
		}
		g.metrics.Refused(metrics.RefuseUnauthorized)
		c.replyError(protocol.CodeUnauthorized, reason)
		c.close(protocol.CloseUnauthorized, reason)
		return
	}
	c.mu.Lock()
	previous := c.identity.Subject
	c.mu.Unlock()
	if previous != "" && previous != id.Subject {
		c.replyError(protocol.CodeForbidden, "a connection cannot change users; reconnect to sign in as someone else")
		return
	}
	name := id.Name
	if name == "" {
		name = "user"
	}
	user := protocol.User{ID: v.PublicID(id.Subject), Name: name, Role: id.Role}
	c.mu.Lock()
	c.identity = id
	c.mu.Unlock()
	c.setUser(user, id.Subject)
	c.expires.Store(id.Expires.UnixNano())
	c.authed.Store(true)
	if g.banned(c) {
		g.metrics.Refused(metrics.RefuseBanned)
		c.close(protocol.CloseBanned, "banned")
		return
	}
	c.reply(protocol.Marshal(protocol.Authed{Op: protocol.OpAuthed, User: user}))
}

// allowsRoom applies the token's rooms claim.
func (c *conn) allowsRoom(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.identity.Subject == "" || c.identity.AllowsRoom(room)
}

// sweepAuth closes connections that must authenticate and have not within
// the handshake timeout, and those whose token has expired (a client
// refreshes by sending auth again before then).
func (g *Gateway) sweepAuth(c *conn, now time.Time) {
	if exp := c.expires.Load(); exp != 0 && now.UnixNano() > exp {
		g.metrics.Refused(metrics.RefuseTokenExpired)
		c.close(protocol.CloseUnauthorized, "token expired")
		return
	}
	if g.cfg.RequireAuth && !c.authed.Load() && now.Sub(c.connected) > g.cfg.HandshakeTimeout {
		g.metrics.Refused(metrics.RefuseAuthTimeout)
		c.close(protocol.CloseUnauthorized, "authentication required")
	}
}

package gateway

import (
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// ServeHTTP upgrades a viewer's request to a WebSocket.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.draining.Load() || g.closed.Load() {
		g.metrics.HandshakeFailed(metrics.HandshakeDraining)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "server draining", http.StatusServiceUnavailable)
		return
	}
	ip, ref := g.admit(r)
	if ref != nil {
		g.refuse(w, ref)
		return
	}
	user := protocol.User{ID: auth.GuestID(), Name: "guest", Role: protocol.RoleGuest}
	ws, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		g.admission.release(ip)
		g.metrics.HandshakeFailed(metrics.HandshakeUpgrade)
		g.log.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	now := time.Now()
	c := &conn{
		policy:  g.policy,
		ws:      ws,
		raw:     ws.UnderlayerConn(),
		user:    user,
		userKey: user.ID,
		deflate: viewerDeflate(!g.cfg.DisableCompression && offersDeflate(r), g.cfg.CompressionLevel),
		ip:      ip,
		rooms:   make(map[string]*membership),
	}
	c.limiter = rate.NewLimiter(rate.Limit(g.cfg.MessageRate), g.cfg.MessageBurst)
	c.touch(now)
	c.connected = now
	c.bucket = g.fanout.bucketFor(g.nextID.Add(1))
	ws.SetSession(c)
	g.indexConn(c)
	c.bucket.conns.add(c)
	g.conns.Add(1)
	g.metrics.Connections.Inc()
	g.metrics.ConnectsTotal.Inc()
}

// offersDeflate reports whether the handshake offered permessage-deflate,
// which the upgrader then accepts (with no context takeover either way).
// nbio does not expose the negotiated result, so the gateway reads the same
// header the upgrader does.
func offersDeflate(r *http.Request) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Extensions") {
		for _, ext := range strings.Split(h, ",") {
			name, _, _ := strings.Cut(ext, ";")
			if strings.EqualFold(strings.TrimSpace(name), "permessage-deflate") {
				return true
			}
		}
	}
	return false
}

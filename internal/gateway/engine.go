package gateway

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/danmaku/danmaku/protocol"
)

// This file holds everything that is about nbio rather than about viewers:
// the upgrader and engine settings, and the workarounds for nbio v1.6.12.

func (g *Gateway) newUpgrader() *websocket.Upgrader {
	u := websocket.NewUpgrader()
	u.Subprotocols = []string{protocol.Subprotocol}
	u.CheckOrigin = func(*http.Request) bool { return true } // admission checks origins before the upgrade
	u.KeepaliveTime = 0                                      // the gateway's sweeper enforces IdleTimeout with close code 4012
	u.HandshakeTimeout = g.cfg.HandshakeTimeout
	u.MessageLengthLimit = g.cfg.MaxMessageBytes
	u.EnableCompression(!g.cfg.DisableCompression)
	u.SetPingHandler(func(ws *websocket.Conn, data string) {
		// A WebSocket ping counts as activity, like the application ping.
		if c, ok := ws.Session().(*conn); ok {
			c.touch(time.Now())
		}
		_ = ws.WriteMessage(websocket.PongMessage, []byte(data))
	})
	u.SetCloseHandler(func(ws *websocket.Conn, code int, text string) {
		// When the gateway closed first (conn.close writes its close frame
		// itself, unknown to nbio), the viewer's close frame is the answer
		// to it and ends the closing handshake: nbio's default would send a
		// second close frame, after which browsers report the close as
		// 1006 instead of the code the gateway sent. A close the viewer
		// starts is echoed, as nbio does.
		if c, ok := ws.Session().(*conn); ok && c.closing.Load() {
			return
		}
		var payload []byte
		const noStatus = 1005 // what nbio reports for a close frame without a code
		if code != noStatus {
			payload = binary.BigEndian.AppendUint16(nil, uint16(code))
			payload = append(payload, text...)
		}
		_ = ws.WriteMessage(websocket.CloseMessage, payload)
	})
	u.OnOpen(func(*websocket.Conn) {})
	u.OnMessage(g.onMessage)
	u.OnClose(g.onClose)
	return u
}

// startEngine binds addr and starts nbio's engine on it.
func (g *Gateway) startEngine(addr string, handler http.Handler) error {
	// Bind first: nbio's own failure path on a busy port does not return.
	// No TCP keep-alive probes: a dead peer is found by IdleTimeout (close
	// 4012) on WebSocket connections and by KeepaliveTime on HTTP ones, and
	// Go's default would cost four setsockopt calls per accepted
	// connection (6% of the server's CPU in a connect storm).
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", addr, err)
	}
	g.addr = ln.Addr()
	g.exec = newExecutor(runtime.GOMAXPROCS(0)*1024, g.log)
	g.byFD = newFDIndex(nbio.MaxOpenFiles)
	engine := nbhttp.NewEngine(nbhttp.Config{
		Name:           "danmaku",
		ServerExecutor: g.exec.Go,
		Network:        "tcp",
		Addrs:          []string{addr},
		Listen: func(string, string) (net.Listener, error) {
			return ln, nil
		},
		Handler:         holdOpen(handler, g.cfg.RequestTimeout),
		KeepaliveTime:   g.cfg.HandshakeTimeout, // idle HTTP (pre-upgrade and API keep-alive) connections
		ReadLimit:       g.cfg.MaxRequestBytes,  // a whole HTTP request; logic bounds API bodies tighter
		MaxHTTPBodySize: g.cfg.MaxRequestBytes,
		// No nbio write-buffer cap: conn.write enforces MaxPendingBytes and
		// closes with 4008, where nbio would drop the socket silently.
		ReleaseWebsocketPayload: true,
		OnAcceptError: func(err error) {
			g.log.Debug("accept", "err", err)
		},
	})
	// We answer invalid UTF-8 with 1007 ourselves; nbio would send 1002.
	engine.CheckUtf8 = func([]byte) bool { return true }
	engine.OnWrittenSize(g.onWritten)
	engine.Engine.OnOpen(func(*nbio.Conn) { raceRelease() })
	engine.Engine.OnData(func(c *nbio.Conn, data []byte) {
		raceAcquire()
		c.DataHandler()(c, data)
	})
	if err := engine.Start(); err != nil {
		_ = ln.Close()
		return fmt.Errorf("gateway: start on %s: %w", addr, err)
	}
	g.engine = engine
	return waitServing(g.addr, g.cfg.HandshakeTimeout)
}

// holdOpen gives each request on the shared port d to be answered. nbio's
// keep-alive read deadline (KeepaliveTime) runs from the previous answer,
// and it is not moved when the next request arrives: without this, a
// request that came late in a keep-alive connection's idle time, or took
// long in the store, would have its connection closed before its answer.
// nbio sets the keep-alive deadline again after the answer.
func holdOpen(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if res, ok := w.(*nbhttp.Response); ok && res.Parser != nil && res.Parser.Conn != nil {
			_ = res.Parser.Conn.SetReadDeadline(time.Now().Add(d))
		}
		h.ServeHTTP(w, r)
	})
}

// onWritten advances a viewer's written-bytes count as nbio hands bytes to
// the kernel; with the queued count it gives the viewer's unsent bytes.
// The descriptor index is the fast way; a conn it does not hold (a
// descriptor past its size) is found through the sessions.
func (g *Gateway) onWritten(nc *nbio.Conn, _ []byte, n int) {
	if c := g.byFD.get(nc.Hash()); c != nil && c.nc == nc {
		c.written.Add(int64(n))
		return
	}
	ws, ok := nc.Session().(*websocket.Conn)
	if !ok {
		return
	}
	if c, ok := ws.Session().(*conn); ok {
		c.written.Add(int64(n))
	}
}

// indexConn and unindexConn keep g.byFD in step with the viewers. The
// WebSocket's underlying connection is nbio's, or nbhttp's wrapper of it.
func (g *Gateway) indexConn(c *conn) {
	switch raw := c.raw.(type) {
	case *nbio.Conn:
		c.nc = raw
	case *nbhttp.Conn:
		c.nc, _ = raw.Conn.(*nbio.Conn)
	}
	if c.nc != nil {
		g.byFD.put(c.nc.Hash(), c)
	}
}

func (g *Gateway) unindexConn(c *conn) {
	if c.nc != nil {
		g.byFD.remove(c.nc.Hash(), c)
	}
}

// waitServing makes one HTTP request to the engine and waits for any
// answer: it proves that nbio's poller runs, before which a Stop can be lost
// (and hang) in nbio v1.6.12.
func waitServing(addr net.Addr, timeout time.Duration) error {
	deadline := time.Now().Add(max(timeout, 5*time.Second))
	c, err := net.DialTimeout("tcp", addr.String(), time.Until(deadline))
	if err != nil {
		return fmt.Errorf("gateway: self-check: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: self\r\nConnection: close\r\n\r\n")); err != nil {
		return fmt.Errorf("gateway: self-check: %w", err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		return fmt.Errorf("gateway: self-check: %w", err)
	}
	return nil
}

// engineStopTimeout bounds nbio's Stop, which can hang with a poller that
// never sees the stop signal; the process then exits without it.
const engineStopTimeout = 10 * time.Second

func stopEngine(e *nbhttp.Engine, log *slog.Logger) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Stop()
	}()
	select {
	case <-done:
	case <-time.After(engineStopTimeout):
		log.Error("nbio engine did not stop; leaving it to process exit", "waited", engineStopTimeout)
	}
}

package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
	"golang.org/x/time/rate"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// Gateway holds viewer connections and delivers room messages to them.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics

	upgrader  *websocket.Upgrader
	admission *admission
	engine    *nbhttp.Engine
	addr      net.Addr

	buckets []*bucket
	nextID  atomic.Uint64

	roomsMu sync.Mutex // guards rooms; taken before room.mu
	rooms   map[string]*room

	draining atomic.Bool
	closed   atomic.Bool
	conns    atomic.Int64

	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	stop    chan struct{}
	wg      sync.WaitGroup // goroutines started by the gateway: loops, joins, room loads
	unsubs  []func()
	closeMu sync.Mutex // serialises Close
}

// New returns a gateway; Start begins serving.
func New(cfg Config) (*Gateway, error) {
	if cfg.History == nil || cfg.Sender == nil {
		return nil, fmt.Errorf("gateway: Config.History and Config.Sender are required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		rooms:   make(map[string]*room),
		stop:    make(chan struct{}),
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	for range cfg.Buckets {
		g.buckets = append(g.buckets, newBucket(g, 1024))
	}
	g.admission = newAdmission(&g.cfg)
	u := websocket.NewUpgrader()
	u.Subprotocols = []string{protocol.Subprotocol}
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.KeepaliveTime = 0 // the gateway's sweeper enforces IdleTimeout with close code 4012
	u.HandshakeTimeout = cfg.HandshakeTimeout
	u.MessageLengthLimit = cfg.MaxMessageBytes
	u.EnableCompression(!cfg.DisableCompression)
	u.SetPingHandler(func(ws *websocket.Conn, data string) {
		// A WebSocket ping counts as activity, like the application ping.
		if c, ok := ws.Session().(*conn); ok {
			c.touch(time.Now())
		}
		_ = ws.WriteMessage(websocket.PongMessage, []byte(data))
	})
	u.OnOpen(g.onOpen)
	u.OnMessage(g.onMessage)
	u.OnClose(g.onClose)
	g.upgrader = u
	return g, nil
}

// Metrics returns the gateway's metrics.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// Start listens on addr and serves handler there; requests for the
// WebSocket path should reach ServeHTTP through it. It returns once the
// listener is bound.
func (g *Gateway) Start(addr string, handler http.Handler) error {
	if g.closed.Load() {
		return ErrClosed
	}
	// Bind first: nbio's own failure path on a busy port does not return.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", addr, err)
	}
	g.addr = ln.Addr()
	engine := nbhttp.NewEngine(nbhttp.Config{
		Name:    "danmaku",
		Network: "tcp",
		Addrs:   []string{addr},
		Listen: func(string, string) (net.Listener, error) {
			return ln, nil
		},
		Handler:         handler,
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
	if err := waitServing(g.addr, g.cfg.HandshakeTimeout); err != nil {
		return err
	}
	for _, b := range g.buckets {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); b.run() }()
	}
	g.wg.Add(2)
	go func() { defer g.wg.Done(); g.sweepLoop() }()
	go func() { defer g.wg.Done(); g.onlineLoop() }()
	if g.cfg.Moderation != nil {
		g.unsubs = append(g.unsubs, g.cfg.Moderation.OnBan(g.onBan))
	}
	if unsub, err := g.cfg.History.SubscribeBroadcast(g.onBroadcast); err == nil {
		g.unsubs = append(g.unsubs, unsub)
	} else {
		return fmt.Errorf("gateway: subscribe broadcast: %w", err)
	}
	if unsub, err := g.cfg.History.SubscribeUsers(g.onUserPush); err == nil {
		g.unsubs = append(g.unsubs, unsub)
	} else {
		return fmt.Errorf("gateway: subscribe user pushes: %w", err)
	}
	return nil
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

// Addr is the bound listen address (after Start).
func (g *Gateway) Addr() net.Addr { return g.addr }

// Connections is the number of open viewer connections.
func (g *Gateway) Connections() int64 { return g.conns.Load() }

// Online returns the viewers of room on this gateway.
func (g *Gateway) Online(room string) int64 {
	g.roomsMu.Lock()
	defer g.roomsMu.Unlock()
	if r := g.rooms[room]; r != nil {
		return int64(r.refs)
	}
	return 0
}

// Draining reports whether Drain has begun.
func (g *Gateway) Draining() bool { return g.draining.Load() }

// ServeHTTP upgrades a viewer's request to a WebSocket.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.draining.Load() || g.closed.Load() {
		g.metrics.HandshakeErrors.WithLabelValues("draining").Inc()
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
		g.metrics.HandshakeErrors.WithLabelValues("upgrade").Inc()
		g.log.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	now := time.Now()
	c := &conn{
		g:       g,
		ws:      ws,
		raw:     ws.UnderlayerConn(),
		user:    user,
		userKey: user.ID,
		deflate: !g.cfg.DisableCompression && offersDeflate(r),
		ip:      ip,
		rooms:   make(map[string]*membership),
	}
	c.limiter = rate.NewLimiter(rate.Limit(g.cfg.MessageRate), g.cfg.MessageBurst)
	c.touch(now)
	c.connected = now
	c.bucket = g.buckets[g.nextID.Add(1)&uint64(len(g.buckets)-1)]
	ws.SetSession(c)
	c.bucket.mu.add(c)
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

func (g *Gateway) onOpen(*websocket.Conn) {}

// onWritten advances a viewer's written-bytes count as nbio hands bytes to
// the kernel; with the queued count it gives the viewer's unsent bytes.
func (g *Gateway) onWritten(nc *nbio.Conn, _ []byte, n int) {
	ws, ok := nc.Session().(*websocket.Conn)
	if !ok {
		return
	}
	if c, ok := ws.Session().(*conn); ok {
		c.written.Add(int64(n))
	}
}

func (g *Gateway) onClose(ws *websocket.Conn, err error) {
	c, ok := ws.Session().(*conn)
	if !ok {
		return
	}
	reason := metrics.ReasonClient
	switch c.closeCode.Load() {
	case protocol.CloseSlowConsumer:
		reason = metrics.ReasonSlowConsumer
	case protocol.CloseHeartbeatTimeout:
		reason = metrics.ReasonIdle
	case protocol.CloseDraining:
		reason = metrics.ReasonDrain
	case protocol.CloseProtocolError:
		reason = metrics.ReasonProtocol
	case protocol.CloseInvalidPayload:
		reason = metrics.ReasonBadUTF8
	case protocol.CloseOverloaded:
		reason = "flood"
	case protocol.CloseUnauthorized:
		reason = "unauthorized"
	case protocol.CloseBanned:
		reason = "banned"
	case 0:
		if err != nil && err == websocket.ErrMessageTooLarge {
			reason = metrics.ReasonTooBig
		}
	}
	c.closing.Store(true)
	g.metrics.Closes.WithLabelValues(reason).Inc()
	members := c.takeMemberships()
	c.bucket.mu.remove(c)
	if len(members) > 0 {
		c.bucket.enqueue(task{kind: taskDrop, conn: c, members: members})
		for _, m := range members {
			g.releaseRoom(m.room)
		}
	}
	g.admission.release(c.ip)
	g.conns.Add(-1)
	g.metrics.Connections.Dec()
}

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

// allowMessage applies the per-connection message rate. A refused send
// gets a rate_limited nack, anything else an error; a connection that goes
// on flooding through the refusals is closed with 4013.
func (g *Gateway) allowMessage(c *conn, msg *protocol.ClientMessage) bool {
	if c.limiter.Allow() {
		c.refusals = 0
		return true
	}
	c.refusals++
	g.metrics.Drops.WithLabelValues("message_rate").Inc()
	if c.refusals > 2*g.cfg.MessageBurst {
		c.close(protocol.CloseOverloaded, "retry=10000 message flood")
		return false
	}
	retry := time.Duration(float64(time.Second) / g.cfg.MessageRate)
	e := &protocol.CodeError{Code: protocol.CodeRateLimited, Message: "too many messages; slow down", RetryAfter: retry}
	if msg.Op == protocol.OpSend {
		g.metrics.Nacks.WithLabelValues(e.Code).Inc()
		c.reply(protocol.Marshal(e.NackFor(msg.ID)))
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
	g.metrics.Drops.WithLabelValues(metrics.ReasonBadRequest).Inc()
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

func (g *Gateway) send(c *conn, msg *protocol.ClientMessage) {
	nack := func(e *protocol.CodeError) {
		g.metrics.Nacks.WithLabelValues(e.Code).Inc()
		c.reply(protocol.Marshal(e.NackFor(msg.ID)))
	}
	if len(msg.ID) > protocol.MaxClientIDLen {
		nack(protocol.Errorf(protocol.CodeBadRequest, "id is longer than %d bytes", protocol.MaxClientIDLen))
		return
	}
	c.mu.Lock()
	_, joined := c.rooms[msg.Room]
	c.mu.Unlock()
	if !joined {
		nack(protocol.Errorf(protocol.CodeNotJoined, "join room %q before sending to it", msg.Room))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offset, id, err := g.cfg.Sender.Send(ctx, c.user, msg)
	if err != nil {
		ce, ok := err.(*protocol.CodeError)
		if !ok {
			g.log.Warn("send failed", "room", msg.Room, "err", err)
			ce = protocol.Errorf(protocol.CodeUnavailable, "the message could not be stored; retry")
		}
		nack(ce)
		return
	}
	g.metrics.MessagesIn.WithLabelValues("ws").Inc()
	c.reply(protocol.Marshal(protocol.Ack{Op: protocol.OpAck, ID: msg.ID, Offset: offset, MsgID: id}))
}

// Drain refuses new connections and closes existing ones with 4000, spread
// evenly over spread so that viewers do not all come back at once. It returns
// when every connection is closed or ctx ends.
func (g *Gateway) Drain(ctx context.Context, spread time.Duration) error {
	g.draining.Store(true)
	var all []*conn
	for _, b := range g.buckets {
		all = append(all, b.mu.snapshot()...)
	}
	const tick = 10 * time.Millisecond
	perTick := len(all)
	if steps := int(spread / tick); steps > 1 {
		perTick = (len(all) + steps - 1) / steps
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for len(all) > 0 {
		n := min(perTick, len(all))
		for _, c := range all[:n] {
			c.close(protocol.CloseDraining, "server draining; reconnect")
		}
		all = all[n:]
		if len(all) == 0 {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for g.conns.Load() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close stops the gateway: the listener, every connection, and every
// goroutine it started. Close after Drain for a graceful stop.
func (g *Gateway) Close() error {
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	if g.closed.Swap(true) {
		return nil
	}
	for _, u := range g.unsubs {
		u()
	}
	close(g.stop)
	g.cancel()
	if g.engine != nil {
		stopEngine(g.engine, g.log)
	}
	g.roomsMu.Lock()
	rooms := g.rooms
	g.rooms = map[string]*room{}
	g.roomsMu.Unlock()
	for _, r := range rooms {
		r.close()
	}
	g.wg.Wait()
	return nil
}

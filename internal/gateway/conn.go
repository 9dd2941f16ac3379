package gateway

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// closeGrace is how long a connection closed by the server may take to
// answer the close frame before its socket is closed outright.
const closeGrace = 2 * time.Second

// connPolicy is what every connection of a gateway shares: the limit on
// its unsent bytes, the counter of the viewers it cut off, and the ack
// counters.
type connPolicy struct {
	maxPending int64
	slowDrops  prometheus.Counter
	acksRode   prometheus.Counter // acks written with a frame (ackride.go)
	acksAlone  prometheus.Counter
}

func newConnPolicy(maxPending int, m *metrics.Metrics) *connPolicy {
	return &connPolicy{
		maxPending: int64(maxPending),
		slowDrops:  m.Drops.WithLabelValues(string(metrics.DropSlowConsumer)),
		acksRode:   m.Acks.WithLabelValues("with_frame"),
		acksAlone:  m.Acks.WithLabelValues("alone"),
	}
}

// conn is one viewer's WebSocket connection.
type conn struct {
	// What every frame written to the connection reads, together at the
	// front, so that a fan-out touches few cache lines per viewer.
	raw     net.Conn // the nbio connection; frames are written to it as raw bytes
	policy  *connPolicy
	closing atomic.Bool  // a close frame was sent or the socket closed
	deflate deflateLevel // 0, or the level of the deflated frames it negotiated
	// heldAny: acks or frames are held; awaiting: sends in the store, not
	// yet answered (both ackride.go).
	heldAny  atomic.Bool
	awaiting atomic.Int32
	// Unsent bytes = queued - written. written is advanced by nbio's
	// OnWrittenSize hook as bytes reach the kernel.
	queued  atomic.Int64
	written atomic.Int64

	ws      *websocket.Conn
	nc      *nbio.Conn // the nbio connection under raw, as the written-size hook knows it (engine.go)
	bucket  *bucket
	user    protocol.User
	userKey string // the id push-to-user addresses (the platform's user id)
	ip      string // counted against the per-IP limit

	// limiter bounds the messages the viewer may send; nbio runs a
	// connection's messages one at a time, so only onMessage touches it.
	limiter  *rate.Limiter
	refusals int // messages refused by limiter in a row

	lastActive atomic.Int64 // unix nanoseconds of the last message received
	connected  time.Time    // set before the connection is shared
	authed     atomic.Bool
	expires    atomic.Int64 // unix nanoseconds the token expires; 0 for guests
	closeCode  atomic.Int32 // the code the server closed with, 0 if none
	closeAt    atomic.Int64 // unix nanoseconds the close frame was sent
	// deadlineCleared: the sweeper has removed nbio's pre-upgrade read
	// deadline (owned by the sweeper goroutine; see Gateway.sweep).
	deadlineCleared bool

	held heldWrites // acks and frames waiting for each other (ackride.go)

	mu       sync.Mutex                // guards the fields below
	rooms    map[string]*membership    // joined rooms, by name
	identity auth.Identity             // the verified token's claims; zero for guests
	closed   bool                      // OnClose ran; no new memberships or sends
	sends    []*protocol.ClientMessage // waiting for the Sender, oldest first
	sending  bool                      // a goroutine is draining sends
	bad      int                       // malformed messages in the current window
	badSince time.Time                 // start of the malformed-message window
}

// membership is a connection's presence in one room. It is created by join
// and ended by leave or close; the bucket keeps the delivery state.
type membership struct {
	room *room
	left atomic.Bool // leave or close happened; pending join tasks are void

	// lastSent is the newest offset of this room written to the connection.
	// Written only by the bucket goroutine; the sender's goroutine reads it
	// to tell whether an ack's frame went out already (ackride.go).
	lastSent atomic.Uint64
}

// membership returns the connection's membership of room, nil if it is
// not in it.
func (c *conn) membership(room string) *membership {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rooms[room]
}

// identityUser is the user a send is made as: the guest, or the token's
// user once auth succeeded.
func (c *conn) identityUser() protocol.User {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// publicID is the id other viewers see; it changes once, on auth.
func (c *conn) publicID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user.ID
}

// setUser replaces the guest identity after auth and re-indexes the
// connection for push-to-user under the platform's user id.
func (c *conn) setUser(u protocol.User, key string) {
	c.mu.Lock()
	c.user = u
	c.mu.Unlock()
	c.bucket.conns.rekey(c, key)
}

func (c *conn) touch(now time.Time) { c.lastActive.Store(now.UnixNano()) }

func (c *conn) pending() int64 { return c.queued.Load() - c.written.Load() }

// write hands b to the socket without blocking. nbio writes what the kernel
// takes at once and buffers the rest; a viewer whose unsent bytes then pass
// the limit is closed with 4008, so that it cannot hold memory or slow
// anyone else.
func (c *conn) write(b []byte) bool {
	if c.closing.Load() {
		return false
	}
	c.queued.Add(int64(len(b)))
	if _, err := c.raw.Write(b); err != nil {
		c.closing.Store(true)
		return false
	}
	if c.pending() > c.policy.maxPending {
		c.policy.slowDrops.Inc()
		c.close(protocol.CloseSlowConsumer, "slow consumer")
	}
	return true
}

// writeFrame writes a shared frame in the form the viewer negotiated.
func (c *conn) writeFrame(f *frame) bool { return c.write(f.bytesFor(c.deflate)) }

// reply writes a small control reply, uncompressed (permessage-deflate is
// per message, so an uncompressed frame is always allowed).
func (c *conn) reply(payload []byte) {
	c.write(appendTextFrame(make([]byte, 0, maxHeader+len(payload)), payload))
}

// appendTextFrame appends payload to b as one uncompressed text frame.
func appendTextFrame(b, payload []byte) []byte {
	var hdr [maxHeader]byte
	n := putHeader(hdr[:], 0x81, len(payload))
	return append(append(b, hdr[:n]...), payload...)
}

func (c *conn) replyError(code, message string) { c.replyRoomError("", code, message) }

// replyRoomError reports an error about one room, naming it.
func (c *conn) replyRoomError(room, code, message string) {
	c.reply(protocol.Marshal(protocol.Error{Op: protocol.OpError, Code: code, Message: message, Room: room}))
}

// close sends a close frame with code and closes the socket once the viewer
// answers or closeGrace passes. Only the first call has an effect.
func (c *conn) close(code int, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.closeCode.Store(int32(code))
	b := closeFrame(code, reason)
	c.queued.Add(int64(len(b)))
	if _, err := c.raw.Write(b); err != nil {
		_ = c.raw.Close()
		return
	}
	// The viewer's close reply closes the socket; the sweeper closes it
	// after closeGrace otherwise.
	c.closeAt.Store(time.Now().UnixNano())
}

// takeMemberships returns and forgets every membership; used when the
// connection closes.
func (c *conn) takeMemberships() []*membership {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	ms := make([]*membership, 0, len(c.rooms))
	for _, m := range c.rooms {
		m.left.Store(true)
		ms = append(ms, m)
	}
	c.rooms = nil
	return ms
}

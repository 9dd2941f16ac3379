package gateway

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"golang.org/x/time/rate"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/moderation"
	"github.com/danmaku/danmaku/protocol"
)

// History is what the gateway needs from the bus: live room messages, the
// room history for resume, and the pushes that are not stored. *bus.Bus
// implements it.
type History interface {
	Epoch(room string) string
	SubscribeRoom(room string, fn func(protocol.Stored)) (unsubscribe func(), err error)
	After(ctx context.Context, room string, after uint64, limit int) ([]protocol.Stored, bool, error)
	Latest(ctx context.Context, room string, n int) ([]protocol.Stored, error)
	SubscribeBroadcast(fn func(bodies [][]byte)) (unsubscribe func(), err error)
	SubscribeUsers(fn func(user string, bodies [][]byte)) (unsubscribe func(), err error)
}

// Sender runs a client's send through the logic tier's rules and stores it.
// It returns the stored offset and message id, or an error; a
// *protocol.CodeError becomes a nack with its code.
type Sender interface {
	Send(ctx context.Context, user protocol.User, msg *protocol.ClientMessage) (offset uint64, msgID string, err error)
}

// Moderator carries out moderate requests from moderators' connections;
// *logic.Logic implements it. A *protocol.CodeError becomes an error reply
// with its code.
type Moderator interface {
	Moderate(ctx context.Context, by protocol.User, msg *protocol.ClientMessage) error
}

// Presence is the viewers that other gateways hold, per room;
// *presence.Table implements it.
type Presence interface {
	Remote(room string) int64
}

// Config configures a Gateway. Each field's zero value selects the default
// named in its comment.
type Config struct {
	// History is the bus. Required.
	History History
	// Sender handles client sends. Required.
	Sender Sender
	// Verifier checks the tokens of the auth op. nil, or one without keys,
	// answers auth with an error and keeps everyone a guest.
	Verifier *auth.Verifier
	// RequireAuth closes connections that have not authenticated within
	// HandshakeTimeout with 4501; before auth only ping and auth are
	// answered. The zero value lets guests connect.
	RequireAuth bool
	// Moderator handles the moderate op; nil refuses it.
	Moderator Moderator
	// Moderation is consulted for bans: a ban closes the user's connections
	// with 4503, here and on every node. nil means no bans.
	Moderation *moderation.Store
	// Presence adds the other gateways' viewers to the online counts this
	// gateway tells its viewers. nil counts this gateway's viewers only.
	Presence Presence
	// Metrics receives the gateway's measurements. nil creates a private set.
	Metrics *metrics.Metrics
	// Logger; nil discards.
	Logger *slog.Logger

	// Buckets is the number of connection shards, rounded up to a power of
	// two. 0 means 2×GOMAXPROCS.
	Buckets int
	// MaxRoomsPerConn is how many rooms one connection may join. 0 means 8.
	MaxRoomsPerConn int
	// BatchWindow is how long a busy room merges messages before flushing.
	// An idle room flushes at once. 0 means 50ms.
	BatchWindow time.Duration
	// BatchMaxMessages flushes a batch early when it reaches this many
	// messages. 0 means 500.
	BatchMaxMessages int
	// MaxPendingBytes is how many unsent bytes a viewer may have queued
	// before it is closed with 4008. 0 means 1 MiB.
	MaxPendingBytes int
	// IdleTimeout closes a connection that sent nothing for this long with
	// 4012. 0 means 60s.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds the HTTP request that carries the upgrade. 0
	// means 5s.
	HandshakeTimeout time.Duration
	// MaxMessageBytes closes a connection that sends a larger message with
	// 1009, after decompression. 0 means 4096.
	MaxMessageBytes int
	// MaxRequestBytes bounds a whole HTTP request (headers and body) on the
	// shared port; larger requests are cut off. 0 means 4 MiB.
	MaxRequestBytes int
	// ReplayCount is how many recent messages a join without a usable since
	// gets. 0 means 50; negative means none.
	ReplayCount int
	// RecentPerRoom is how many delivered messages each room keeps in memory
	// to serve resumes without reading the store. 0 means 64.
	RecentPerRoom int
	// ResumeLimit is the most messages one resume may replay; a larger gap
	// is answered with recovered:false. 0 means 1000.
	ResumeLimit int
	// OnlineInterval is the least time between two online updates of a
	// room. 0 means 2s.
	OnlineInterval time.Duration
	// MaxBadMessages is how many malformed messages (bad JSON, not an
	// object, no op, bad field types or room names) a connection may send
	// within one minute before it is closed with 4400. Unknown ops are not
	// counted. 0 means 10.
	MaxBadMessages int
	// AllowedOrigins lists the Origin values a browser handshake may carry,
	// like "https://example.com". nil or empty allows the same origin only
	// (Origin's host equals the Host header); "*" allows any. Requests
	// without an Origin header (non-browser clients) are always allowed.
	AllowedOrigins []string
	// MaxConns caps this node's connections; past it handshakes get HTTP
	// 503 with Retry-After. 0 means no cap.
	MaxConns int
	// MaxConnsPerIP caps connections from one IP address. 0 means no cap.
	MaxConnsPerIP int
	// ConnRate caps new connections per second on this node (token bucket
	// with ConnBurst). 0 means no cap.
	ConnRate float64
	// ConnBurst is the burst of ConnRate. 0 means ConnRate (at least 1).
	ConnBurst int
	// MessageRate is how many messages per second one connection may send
	// (token bucket with MessageBurst); past it messages are refused with
	// rate_limited, and a connection that keeps flooding is closed with
	// 4013. 0 means 10; negative means no limit.
	MessageRate float64
	// MessageBurst is the burst of MessageRate. 0 means 20.
	MessageBurst int
	// Compression offers permessage-deflate. The zero value offers it; set
	// DisableCompression to refuse.
	DisableCompression bool
}

func (c *Config) setDefaults() {
	if c.Buckets <= 0 {
		c.Buckets = 2 * runtime.GOMAXPROCS(0)
	}
	n := 1
	for n < c.Buckets {
		n <<= 1
	}
	c.Buckets = n
	if c.MaxRoomsPerConn <= 0 {
		c.MaxRoomsPerConn = 8
	}
	if c.BatchWindow <= 0 {
		c.BatchWindow = 50 * time.Millisecond
	}
	if c.BatchMaxMessages <= 0 {
		c.BatchMaxMessages = 500
	}
	if c.MaxPendingBytes <= 0 {
		c.MaxPendingBytes = 1 << 20
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 5 * time.Second
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 4096
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 4 << 20
	}
	if c.ReplayCount == 0 {
		c.ReplayCount = 50
	}
	if c.ReplayCount < 0 {
		c.ReplayCount = 0
	}
	if c.RecentPerRoom <= 0 {
		c.RecentPerRoom = 64
	}
	if c.ResumeLimit <= 0 {
		c.ResumeLimit = 1000
	}
	if c.OnlineInterval <= 0 {
		c.OnlineInterval = 2 * time.Second
	}
	if c.MaxBadMessages <= 0 {
		c.MaxBadMessages = 10
	}
	if c.ConnBurst <= 0 {
		c.ConnBurst = int(c.ConnRate)
	}
	if c.MessageRate == 0 {
		c.MessageRate = 10
	}
	if c.MessageRate < 0 {
		c.MessageRate = float64(rate.Inf)
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
}

package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/klauspost/compress/flate"
	"golang.org/x/time/rate"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/defaults"
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

// Config configures a Gateway. DefaultConfig returns the recommended
// settings, which "danmaku serve" shows as its flag defaults. A zero field
// means what its comment says: where zero is no useful value (a window, a
// size, a count, a timeout), it means the default from DefaultConfig, and a
// negative value is refused; where zero is a meaningful setting (none, no
// cap), it means that, and DefaultConfig may recommend another value.
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
	// two. 0 means 2×GOMAXPROCS, which is also the default.
	Buckets int
	// MaxRoomsPerConn is how many rooms one connection may join. 0 means
	// the default.
	MaxRoomsPerConn int
	// BatchWindow is the longest a busy room merges messages before
	// flushing. A room's own window is shorter the cheaper its fan-out is
	// (see BatchBudget), and an idle room flushes at once. 0 means the
	// default.
	BatchWindow time.Duration
	// BatchBudget is the share of one core that one room's flushes may
	// take: a room's window is what one flush costs (its viewers on this
	// gateway × the measured CPU of one write) divided by it, at most
	// BatchWindow. So a room of a few viewers flushes every message at
	// once at any rate, and one of thousands merges for the whole window.
	// 0 means the default; at most 1.
	BatchBudget float64
	// BatchMaxMessages flushes a batch early when it reaches this many
	// messages. 0 means the default.
	BatchMaxMessages int
	// MaxPendingBytes is how many unsent bytes a viewer may have queued
	// before it is closed with 4008. 0 means the default.
	MaxPendingBytes int
	// IdleTimeout closes a connection that sent nothing for this long with
	// 4012. 0 means the default.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds the HTTP request that carries the upgrade. 0
	// means the default.
	HandshakeTimeout time.Duration
	// MaxMessageBytes closes a connection that sends a larger message with
	// 1009, after decompression. 0 means the default.
	MaxMessageBytes int
	// MaxRequestBytes bounds a whole HTTP request (headers and body) on the
	// shared port; larger requests are cut off. 0 means the default.
	MaxRequestBytes int
	// RequestTimeout is how long a request on the shared port may take to
	// be answered before its connection is closed; the keep-alive idle
	// time (HandshakeTimeout) starts again after the answer. Set it above
	// the API's own timeout. 0 means the default.
	RequestTimeout time.Duration
	// ReplayCount is how many recent messages a join without a usable since
	// gets. 0 means none; DefaultConfig sends some.
	ReplayCount int
	// RecentPerRoom is how many delivered messages each room keeps in memory
	// to serve resumes without reading the store; it is raised to
	// ReplayCount if lower. 0 means the default.
	RecentPerRoom int
	// ResumeLimit is the most messages one resume may replay; a larger gap
	// is answered with recovered:false. 0 means the default.
	ResumeLimit int
	// OnlineInterval is the least time between two online updates of a
	// room. 0 means the default.
	OnlineInterval time.Duration
	// MaxBadMessages is how many malformed messages (bad JSON, not an
	// object, no op, bad field types or room names) a connection may send
	// within one minute before it is closed with 4400. Unknown ops are not
	// counted. 0 means the default.
	MaxBadMessages int
	// AllowedOrigins lists the Origin values a browser handshake may carry,
	// like "https://example.com". nil or empty allows the same origin only
	// (Origin's host equals the Host header); "*" allows any. Requests
	// without an Origin header (non-browser clients) are always allowed.
	AllowedOrigins []string
	// MaxConns caps this node's connections; past it handshakes get HTTP
	// 503 with Retry-After. 0 means no cap.
	MaxConns int
	// MaxConnsPerIP caps connections from one IP address. 0 means no cap;
	// DefaultConfig sets one.
	MaxConnsPerIP int
	// ConnRate caps new connections per second on this node (token bucket
	// with ConnBurst). 0 means no cap.
	ConnRate float64
	// ConnBurst is the burst of ConnRate. 0 means ConnRate (at least 1).
	ConnBurst int
	// MessageRate is how many messages per second one connection may send
	// (token bucket with MessageBurst); past it messages are refused with
	// rate_limited, and a connection that keeps flooding is closed with
	// 4013. 0 means the default; negative means no limit.
	MessageRate float64
	// MessageBurst is the burst of MessageRate. 0 means the default.
	MessageBurst int
	// DisableCompression refuses permessage-deflate; the zero value offers
	// it.
	DisableCompression bool
	// CompressionLevel is the flate level, 1 (fastest) to 9 (smallest), of
	// the deflated copy of each frame. That copy is built once per frame
	// and shared by every viewer that negotiated permessage-deflate, so a
	// higher level costs CPU per frame, not per viewer (docs/benchmarks.md
	// weighs it). 0 means the default.
	CompressionLevel int
}

// ErrInvalidConfig is returned by New for a Config it cannot honour.
var ErrInvalidConfig = errors.New("gateway: invalid config")

// DefaultConfig returns the recommended settings: the defaults of
// "danmaku serve" (docs/operations.md lists them) and what a zero field
// stands for.
func DefaultConfig() Config {
	return Config{
		MaxRoomsPerConn:  8,
		BatchWindow:      50 * time.Millisecond,
		BatchBudget:      0.25,
		BatchMaxMessages: 500,
		MaxPendingBytes:  1 << 20,
		IdleTimeout:      60 * time.Second,
		HandshakeTimeout: 5 * time.Second,
		MaxMessageBytes:  4096,
		MaxRequestBytes:  4 << 20,
		RequestTimeout:   30 * time.Second,
		ReplayCount:      50,
		RecentPerRoom:    64,
		ResumeLimit:      1000,
		OnlineInterval:   2 * time.Second,
		MaxBadMessages:   10,
		// One address rarely needs more; behind a proxy every viewer has
		// the proxy's address, and the operator sets 0.
		MaxConnsPerIP: 1000,
		MessageRate:   10,
		MessageBurst:  20,
		// Level 6 makes danmaku batches 2–6% smaller for 1.1–1.6× the
		// CPU per frame, level 9 3–7% for 2–5× (docs/benchmarks.md):
		// worth it for big rooms, not for a node of many small ones.
		CompressionLevel: flate.BestSpeed,
	}
}

// withDefaults returns c with its zero fields filled from DefaultConfig, or
// an error naming every field out of range.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	err := errors.Join(
		defaults.NonNegative("Buckets", c.Buckets),
		defaults.Positive("MaxRoomsPerConn", &c.MaxRoomsPerConn, d.MaxRoomsPerConn),
		defaults.Positive("BatchWindow", &c.BatchWindow, d.BatchWindow),
		defaults.PositiveUpTo("BatchBudget", &c.BatchBudget, d.BatchBudget, 1),
		defaults.Positive("BatchMaxMessages", &c.BatchMaxMessages, d.BatchMaxMessages),
		defaults.Positive("MaxPendingBytes", &c.MaxPendingBytes, d.MaxPendingBytes),
		defaults.Positive("IdleTimeout", &c.IdleTimeout, d.IdleTimeout),
		defaults.Positive("HandshakeTimeout", &c.HandshakeTimeout, d.HandshakeTimeout),
		defaults.Positive("MaxMessageBytes", &c.MaxMessageBytes, d.MaxMessageBytes),
		defaults.Positive("MaxRequestBytes", &c.MaxRequestBytes, d.MaxRequestBytes),
		defaults.Positive("RequestTimeout", &c.RequestTimeout, d.RequestTimeout),
		defaults.NonNegative("ReplayCount", c.ReplayCount),
		defaults.Positive("RecentPerRoom", &c.RecentPerRoom, d.RecentPerRoom),
		defaults.Positive("ResumeLimit", &c.ResumeLimit, d.ResumeLimit),
		defaults.Positive("OnlineInterval", &c.OnlineInterval, d.OnlineInterval),
		defaults.Positive("MaxBadMessages", &c.MaxBadMessages, d.MaxBadMessages),
		defaults.NonNegative("MaxConns", c.MaxConns),
		defaults.NonNegative("MaxConnsPerIP", c.MaxConnsPerIP),
		defaults.NonNegative("ConnRate", c.ConnRate),
		defaults.NonNegative("ConnBurst", c.ConnBurst),
		defaults.Positive("MessageBurst", &c.MessageBurst, d.MessageBurst),
		defaults.PositiveUpTo("CompressionLevel", &c.CompressionLevel, d.CompressionLevel, flate.BestCompression),
	)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if c.Buckets == 0 {
		c.Buckets = 2 * runtime.GOMAXPROCS(0)
	}
	n := 1
	for n < c.Buckets {
		n <<= 1
	}
	c.Buckets = n
	// A fresh join replays from the room's memory, so it must hold as many.
	c.RecentPerRoom = max(c.RecentPerRoom, c.ReplayCount)
	if c.ConnBurst == 0 {
		c.ConnBurst = int(c.ConnRate)
	}
	defaults.Or(&c.MessageRate, d.MessageRate)
	if c.MessageRate < 0 {
		c.MessageRate = float64(rate.Inf)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	return c, nil
}

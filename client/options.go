package client

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// CompressionMode selects how permessage-deflate is negotiated.
type CompressionMode int

const (
	// CompressionNoContextTakeover offers permessage-deflate with
	// server_no_context_takeover and client_no_context_takeover, which is
	// what the server offers. It is the zero value and the default.
	CompressionNoContextTakeover CompressionMode = iota
	// CompressionDisabled does not offer permessage-deflate.
	CompressionDisabled
	// CompressionContextTakeover asks for context takeover; servers that
	// refuse it fall back to no context takeover.
	CompressionContextTakeover
)

// Defaults for zero Options fields.
const (
	DefaultMinBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff    = 20 * time.Second
	DefaultPingInterval  = 25 * time.Second
	DefaultPongTimeout   = 10 * time.Second
	DefaultDialTimeout   = 10 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultReadLimit     = 1 << 20
	DefaultMessageBuffer = 1024
)

// Options configures a Client. The zero value is usable: every field's doc
// says what its zero value means.
type Options struct {
	// Token is a JWT sent as {"op":"auth"} right after every connect,
	// before any rejoin. Empty means anonymous. It is never logged.
	Token string

	// HTTPHeader is added to the WebSocket handshake request. Nil means none.
	HTTPHeader http.Header
	// Origin, if set, is sent as the Origin header of the handshake.
	Origin string
	// HTTPClient performs the handshake. Nil means http.DefaultClient.
	HTTPClient *http.Client
	// Compression selects permessage-deflate negotiation. The zero value
	// offers it without context takeover.
	Compression CompressionMode

	// DialTimeout bounds one connect attempt: the handshake and, with a
	// Token, the authed reply. Zero means DefaultDialTimeout (10s).
	DialTimeout time.Duration
	// WriteTimeout bounds writing one frame; a write that takes longer
	// ends the connection, which is then reconnected. Zero means
	// DefaultWriteTimeout (10s).
	WriteTimeout time.Duration
	// ReadLimit is the largest frame the client accepts, in bytes. A larger
	// frame closes the connection with 1009. Zero means DefaultReadLimit
	// (1 MiB); negative means no limit.
	ReadLimit int64

	// PingInterval is how often the client sends an application ping, which
	// keeps the server's idle timer (60s by default) from firing. Zero means
	// DefaultPingInterval (25s).
	PingInterval time.Duration
	// PongTimeout is how long past PingInterval the client waits for any
	// frame before it declares the connection dead and reconnects. Zero
	// means DefaultPongTimeout (10s).
	PongTimeout time.Duration

	// MinBackoff is the ceiling of the first reconnect delay; each further
	// attempt (with DialAny, each further round of one attempt per URL)
	// doubles the ceiling up to MaxBackoff, and the delay is drawn uniformly
	// below the ceiling (full jitter). Zero means DefaultMinBackoff (500ms).
	MinBackoff time.Duration
	// MaxBackoff caps the reconnect delay. Zero means DefaultMaxBackoff (20s).
	MaxBackoff time.Duration
	// DisableReconnect makes the client stop, instead of reconnecting, when
	// its connection ends for any reason. The zero value reconnects.
	DisableReconnect bool

	// MessageBuffer is the capacity of the Events channel. Zero means
	// DefaultMessageBuffer (1024); negative means unbuffered. A full buffer
	// blocks the read loop (see the package doc on slow consumers).
	MessageBuffer int

	// Logger receives connection lifecycle logs. Nil discards them.
	Logger *slog.Logger

	// random returns a number in [0, 1) for the backoff jitter and the
	// first URL of DialAny. Nil means math/rand/v2.Float64; tests fix it.
	random func() float64
}

func (o Options) withDefaults() Options {
	setDuration := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDuration(&o.MinBackoff, DefaultMinBackoff)
	setDuration(&o.MaxBackoff, DefaultMaxBackoff)
	setDuration(&o.PingInterval, DefaultPingInterval)
	setDuration(&o.PongTimeout, DefaultPongTimeout)
	setDuration(&o.DialTimeout, DefaultDialTimeout)
	setDuration(&o.WriteTimeout, DefaultWriteTimeout)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	switch {
	case o.ReadLimit == 0:
		o.ReadLimit = DefaultReadLimit
	case o.ReadLimit < 0:
		o.ReadLimit = -1
	}
	switch {
	case o.MessageBuffer == 0:
		o.MessageBuffer = DefaultMessageBuffer
	case o.MessageBuffer < 0:
		o.MessageBuffer = 0
	}
	if o.random == nil {
		o.random = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

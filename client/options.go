package client

import (
	"errors"
	"fmt"
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

// Options configures a Client. The zero value is usable: every field's doc
// says what its zero value means. Where zero is no useful value (a timeout,
// a backoff, a size), it means the default from DefaultOptions, and a
// negative value is refused unless the field gives it a meaning; where zero
// is a meaningful setting (none, anonymous), it means that.
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
	// Token, the authed reply. Zero means the default.
	DialTimeout time.Duration
	// WriteTimeout bounds writing one frame; a write that takes longer
	// ends the connection, which is then reconnected. Zero means the
	// default.
	WriteTimeout time.Duration
	// ReadLimit is the largest frame the client accepts, in bytes. A larger
	// frame closes the connection with 1009. Zero means the default;
	// negative means no limit.
	ReadLimit int64

	// PingInterval is how often the client sends an application ping,
	// which must be shorter than the server's idle timeout (--idle-timeout).
	// Zero means the default.
	PingInterval time.Duration
	// PongTimeout is how long past PingInterval the client waits for any
	// frame before it declares the connection dead and reconnects. Zero
	// means the default.
	PongTimeout time.Duration

	// MinBackoff is the ceiling of the first reconnect delay; each further
	// attempt (with DialAny, each further round of one attempt per URL)
	// doubles the ceiling up to MaxBackoff, and the delay is drawn uniformly
	// below the ceiling (full jitter). Zero means the default.
	MinBackoff time.Duration
	// MaxBackoff caps the reconnect delay; it is raised to MinBackoff if
	// lower. Zero means the default.
	MaxBackoff time.Duration
	// DisableReconnect makes the client stop, instead of reconnecting, when
	// its connection ends for any reason. The zero value reconnects.
	DisableReconnect bool

	// MessageBuffer is the capacity of the Events channel. Zero means the
	// default; negative means unbuffered. A full buffer blocks the read loop
	// (see the package doc on slow consumers).
	MessageBuffer int

	// Logger receives connection lifecycle logs. Nil discards them.
	Logger *slog.Logger

	// random returns a number in [0, 1) for the backoff jitter and the
	// first URL of DialAny. Nil means math/rand/v2.Float64; tests fix it.
	random func() float64
}

// DefaultOptions returns what a zero field stands for.
func DefaultOptions() Options {
	return Options{
		DialTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		ReadLimit:    1 << 20,
		// Well inside the server's default idle timeout of 60 s, so that
		// one lost ping does not end the connection.
		PingInterval:  25 * time.Second,
		PongTimeout:   10 * time.Second,
		MinBackoff:    500 * time.Millisecond,
		MaxBackoff:    20 * time.Second,
		MessageBuffer: 1024,
	}
}

// withDefaults returns o with its zero fields filled from DefaultOptions, or
// an error naming every duration that is negative.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	var errs []error
	for _, f := range []struct {
		name   string
		v      *time.Duration
		orElse time.Duration
	}{
		{"DialTimeout", &o.DialTimeout, d.DialTimeout},
		{"WriteTimeout", &o.WriteTimeout, d.WriteTimeout},
		{"PingInterval", &o.PingInterval, d.PingInterval},
		{"PongTimeout", &o.PongTimeout, d.PongTimeout},
		{"MinBackoff", &o.MinBackoff, d.MinBackoff},
		{"MaxBackoff", &o.MaxBackoff, d.MaxBackoff},
	} {
		switch {
		case *f.v < 0:
			errs = append(errs, fmt.Errorf("%w: %s is %v: it must be positive, or 0 for the default", ErrInvalidOptions, f.name, *f.v))
		case *f.v == 0:
			*f.v = f.orElse
		}
	}
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	switch {
	case o.ReadLimit == 0:
		o.ReadLimit = d.ReadLimit
	case o.ReadLimit < 0:
		o.ReadLimit = -1
	}
	switch {
	case o.MessageBuffer == 0:
		o.MessageBuffer = d.MessageBuffer
	case o.MessageBuffer < 0:
		o.MessageBuffer = 0
	}
	if o.random == nil {
		o.random = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

package logic

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nuid"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// Store is the history store and bus as the logic tier uses it; *bus.Bus
// implements it.
type Store interface {
	Epoch() string
	Append(ctx context.Context, room string, bodies [][]byte) ([]uint64, error)
	After(ctx context.Context, room string, after uint64, limit int) ([]protocol.Stored, bool, error)
	Latest(ctx context.Context, room string, n int) ([]protocol.Stored, error)
	Range(ctx context.Context, room string, from, to time.Time, limit int) ([]protocol.Stored, error)
	LastOffset(ctx context.Context, room string) (uint64, error)
	PublishBroadcast(ctx context.Context, bodies [][]byte) error
	PublishUser(ctx context.Context, user string, bodies [][]byte) error
}

// Config configures Logic. Each field's zero value selects the default named
// in its comment.
type Config struct {
	// Store is the bus. Required.
	Store Store
	// APIKeys are the keys accepted as "Authorization: Bearer <key>" by the
	// HTTP API. Empty refuses every API request.
	APIKeys []string
	// MaxTextRunes is the longest text, in runes, a message may have. 0
	// means 100.
	MaxTextRunes int
	// MaxBodyBytes bounds an HTTP request body. 0 means 1 MiB.
	MaxBodyBytes int64
	// MaxDataBytes bounds a message's data object. 0 means 2048.
	MaxDataBytes int
	// Online returns a room's viewer count for GET /v1/rooms/{room}. nil
	// reports 0.
	Online func(room string) int64
	// Metrics; nil creates a private set.
	Metrics *metrics.Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Logic validates and stores messages and serves the HTTP API.
type Logic struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics
	keys    [][]byte
}

// New returns a Logic.
func New(cfg Config) (*Logic, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("logic: Config.Store is required")
	}
	if cfg.MaxTextRunes <= 0 {
		cfg.MaxTextRunes = 100
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxDataBytes <= 0 {
		cfg.MaxDataBytes = 2048
	}
	if cfg.Online == nil {
		cfg.Online = func(string) int64 { return 0 }
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Logic{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics}
	for _, k := range cfg.APIKeys {
		if k != "" {
			l.keys = append(l.keys, []byte(k))
		}
	}
	return l, nil
}

// Send runs a viewer's send through the pipeline and stores it. It
// implements the gateway's Sender.
func (l *Logic) Send(ctx context.Context, user protocol.User, msg *protocol.ClientMessage) (uint64, string, error) {
	if !protocol.ValidRoom(msg.Room) {
		return 0, "", protocol.Errorf(protocol.CodeBadRequest, "invalid room name")
	}
	if msg.Type != "" && msg.Type != protocol.TypeDanmaku {
		return 0, "", protocol.Errorf(protocol.CodeForbidden, "viewers may only send type %q", protocol.TypeDanmaku)
	}
	u := user
	body := protocol.Body{
		Type: protocol.TypeDanmaku, User: &u, Text: msg.Text, Mode: msg.Mode, Color: msg.Color,
		Size: msg.Size, VideoTimeMs: msg.VideoTimeMs, ReplyTo: msg.ReplyTo,
	}
	if len(msg.Data) > 0 && string(msg.Data) != "null" {
		return 0, "", protocol.Errorf(protocol.CodeForbidden, "viewers may not attach data")
	}
	if err := l.validate(&body); err != nil {
		return 0, "", err
	}
	encoded := l.finish(&body)
	offsets, err := l.cfg.Store.Append(ctx, msg.Room, [][]byte{encoded})
	if err != nil {
		l.log.Warn("store append failed", "room", msg.Room, "err", err)
		return 0, "", protocol.Errorf(protocol.CodeUnavailable, "the message could not be stored; retry")
	}
	return offsets[0], body.ID, nil
}

// finish gives a validated body its id and timestamp and encodes it.
func (l *Logic) finish(b *protocol.Body) []byte {
	b.ID = nuid.Next()
	b.TS = l.cfg.Now().UnixMilli()
	b.Normalize()
	out, err := json.Marshal(b)
	if err != nil {
		// Every field is validated: strings, numbers and a json.RawMessage
		// checked to be a JSON object.
		panic("logic: encoding a validated body: " + err.Error())
	}
	return out
}

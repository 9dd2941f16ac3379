package logic

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nuid"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/moderation"
	"github.com/danmaku/danmaku/internal/overview"
	"github.com/danmaku/danmaku/protocol"
)

// Store is the history store and bus as the logic tier uses it; *bus.Bus
// implements it.
type Store interface {
	Epoch(room string) string
	Append(ctx context.Context, room string, recs []bus.Record) ([]uint64, error)
	After(ctx context.Context, room string, after uint64, limit int) ([]protocol.Stored, bool, error)
	Latest(ctx context.Context, room string, n int) ([]protocol.Stored, error)
	Range(ctx context.Context, room string, from, to time.Time, limit int) ([]protocol.Stored, error)
	LastOffset(ctx context.Context, room string) (uint64, error)
	PublishBroadcast(ctx context.Context, bodies [][]byte) error
	PublishUser(ctx context.Context, user string, bodies [][]byte) error
	Delete(ctx context.Context, room string, offset uint64) error
}

// Config configures Logic. DefaultConfig returns the recommended settings,
// which "danmaku serve" shows as its flag defaults. A zero field means what
// its comment says: where zero is no useful value (a size, a window, a
// rate), it means the default from DefaultConfig; where zero is a
// meaningful setting (none, off), it means that.
type Config struct {
	// Store is the bus. Required.
	Store Store
	// APIKeys are the keys accepted as "Authorization: Bearer <key>" by the
	// HTTP API. Empty refuses every request that carries no token.
	APIKeys []string
	// Verifier checks "Authorization: Bearer <JWT>" on the HTTP API, with
	// the same keys as the viewers' tokens; admin and moderator tokens are
	// let in by role (access.go). nil, or a verifier without a key,
	// accepts API keys only.
	Verifier *auth.Verifier
	// MaxTextRunes is the longest text, in runes, a message may have. 0
	// means the default.
	MaxTextRunes int
	// MaxBodyBytes bounds an HTTP request body. 0 means the default.
	MaxBodyBytes int64
	// RequestTimeout bounds an HTTP API request's store and moderation
	// calls: past it the request is answered 503 unavailable. 0 means the
	// default.
	RequestTimeout time.Duration
	// MaxDataBytes bounds a message's data object. 0 means the default.
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

	// Moderation holds mutes, bans and room settings. nil disables the
	// moderation checks and answers the moderation endpoints with 503.
	Moderation *moderation.Store
	// PublicID maps a platform user id (a token's sub) to the id other
	// viewers see, which mutes and bans are keyed by. nil uses ids as given.
	PublicID func(subject string) string
	// DenyAnonymousSend refuses sends from guests (nack unauthorized). The
	// zero value lets guests send.
	DenyAnonymousSend bool
	// SendRate is how many messages one user may send per SendWindow. 0
	// means the default; negative means no limit.
	SendRate int
	// SendWindow is the window of SendRate. 0 means the default.
	SendWindow time.Duration
	// Filter is the keyword filter; nil or an empty list filters nothing.
	Filter *filter.Holder
	// FilterMask masks matched words with '*' instead of refusing the
	// message (blocked_content), which is the zero value's behaviour.
	FilterMask bool
	// ReloadFilter rereads the word list for POST /v1/filter/reload and
	// returns its size; nil answers 503.
	ReloadFilter func() (int, error)
	// FilterFile is the word list's path, as GET /v1/filter shows it; ""
	// for none.
	FilterFile string
	// Overview holds every node's stats for GET /v1/nodes and GET
	// /v1/rooms. nil answers them with 503.
	Overview *overview.Table
	// DuplicateWindow refuses the same text from the same user within it.
	// 0 means the default; negative disables the check.
	DuplicateWindow time.Duration
}

// Logic validates and stores messages and serves the HTTP API.
type Logic struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics
	keys    atomic.Pointer[[]apiKey] // swapped whole on rotation
	mod     *moderation.Store
	senders *senders
}

// New returns a Logic.
func New(cfg Config) (*Logic, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Logic{cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, mod: cfg.Moderation,
		senders: newSenders(max(cfg.SendRate, 0), cfg.SendWindow, cfg.DuplicateWindow)}
	l.SetAPIKeys(cfg.APIKeys)
	return l, nil
}

// SetAPIKeys replaces the accepted API keys (key rotation: configure the new
// and old keys together, move callers over, then drop the old one).
func (l *Logic) SetAPIKeys(keys []string) {
	var ks []apiKey
	for _, k := range keys {
		if k != "" {
			ks = append(ks, apiKey{key: []byte(k), fingerprint: keyFingerprint([]byte(k))})
		}
	}
	l.keys.Store(&ks)
}

// Send runs a viewer's send through the pipeline and stores it. It
// implements the gateway's Sender. The checks run in a fixed order, each
// with its nack code: auth, ban and mute, closed room, length, the user's
// rate limit, slow mode, duplicates, then the keyword filter.
func (l *Logic) Send(ctx context.Context, user protocol.User, msg *protocol.ClientMessage) (uint64, string, error) {
	var body protocol.Body
	if err := l.accept(user, msg, &body); err != nil {
		return 0, "", err
	}
	offsets, err := l.cfg.Store.Append(ctx, msg.Room, []bus.Record{l.finish(&body)})
	if err != nil {
		l.log.Warn("store append failed", "room", msg.Room, "err", err)
		l.metrics.StoreFailed(metrics.StoreErrorWS)
		return 0, "", protocol.Errorf(protocol.CodeUnavailable, "the message could not be stored; retry")
	}
	return offsets[0], body.ID, nil
}

// accept is Send's checks: it fills body with the message as it is to be
// stored, or returns why it is refused. It is apart from the store so that
// the pipeline's cost can be measured on its own (bench_test.go).
func (l *Logic) accept(user protocol.User, msg *protocol.ClientMessage, body *protocol.Body) *protocol.CodeError {
	if !protocol.ValidRoom(msg.Room) {
		return protocol.Errorf(protocol.CodeBadRequest, "invalid room name")
	}
	if msg.Type != "" && msg.Type != protocol.TypeDanmaku {
		return protocol.Errorf(protocol.CodeForbidden, "viewers may only send type %q", protocol.TypeDanmaku)
	}
	if len(msg.Data) > 0 && string(msg.Data) != "null" {
		return protocol.Errorf(protocol.CodeForbidden, "viewers may not attach data")
	}
	// 1. auth
	if user.Role == protocol.RoleGuest && l.cfg.DenyAnonymousSend {
		return l.refuse(protocol.Errorf(protocol.CodeUnauthorized, "sign in to send messages"))
	}
	// 2. ban and mute
	now := l.cfg.Now()
	settings := moderation.RoomSettings{}
	if l.mod != nil {
		if b, ok := l.mod.Banned(user.ID); ok {
			return l.refuse(&protocol.CodeError{Code: protocol.CodeForbidden, Message: "you are banned" + reasonSuffix(b.Reason), RetryAfter: until(b.Until, now)})
		}
		if m, ok := l.mod.MutedFor(msg.Room, user.ID); ok {
			return l.refuse(&protocol.CodeError{Code: protocol.CodeMuted, Message: "you are muted" + reasonSuffix(m.Reason), RetryAfter: until(m.Until, now)})
		}
		settings = l.mod.Room(msg.Room)
	}
	// 3. closed room
	if settings.Closed {
		return l.refuse(protocol.Errorf(protocol.CodeRoomClosed, "the room is closed to new messages"))
	}
	// 4. length, after normalization: the one normalization of the text,
	// which the duplicate check and the filter reuse
	u := user
	*body = protocol.Body{
		Type: protocol.TypeDanmaku, User: &u, Text: msg.Text, Mode: msg.Mode, Color: msg.Color,
		Size: msg.Size, VideoTimeMs: msg.VideoTimeMs, ReplyTo: msg.ReplyTo,
	}
	words, normalize := l.activeFilter(), filter.NormalizeText
	if words != nil && l.cfg.FilterMask {
		normalize = filter.NormalizeForMask
	}
	text, err := l.validate(body, settings.TextLimit(l.cfg.MaxTextRunes), normalize)
	if err != nil {
		return l.refuse(err)
	}
	// 5–7. rate limit, slow mode, duplicates
	exempt := user.Role == protocol.RoleModerator || user.Role == protocol.RoleAdmin
	switch v, retry := l.senders.check(user.ID, msg.Room, text.Text(), settings.SlowModeSeconds, exempt, now); v {
	case rateLimited:
		return l.refuse(&protocol.CodeError{Code: protocol.CodeRateLimited, Message: "you are sending too fast", RetryAfter: retry})
	case slowMode:
		return l.refuse(&protocol.CodeError{Code: protocol.CodeSlowMode, Message: fmt.Sprintf("slow mode: one message every %d s", settings.SlowModeSeconds), RetryAfter: retry})
	case duplicate:
		return l.refuse(&protocol.CodeError{Code: protocol.CodeDuplicate, Message: "you just sent the same text", RetryAfter: retry})
	}
	// 8. keyword filter
	if err := l.filter(body, words, text); err != nil {
		return l.refuse(err)
	}
	return nil
}

// refuse counts a refusal by code and returns it.
func (l *Logic) refuse(e *protocol.CodeError) *protocol.CodeError {
	l.metrics.Refusals.WithLabelValues(e.Code).Inc()
	return e
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// until is how long until t, or 0 for forever.
func until(t, now time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return max(t.Sub(now), 0)
}

// finish gives a validated body its id and timestamp and encodes it, with
// its type and timestamp beside it for the store's headers, so that
// readers need not decode the body to learn them.
func (l *Logic) finish(b *protocol.Body) bus.Record {
	b.ID = nuid.Next()
	b.TS = l.cfg.Now().UnixMilli()
	b.Normalize()
	out, err := json.Marshal(b)
	if err != nil {
		// Every field is validated: strings, numbers and a json.RawMessage
		// checked to be a JSON object.
		panic("logic: encoding a validated body: " + err.Error())
	}
	return bus.Record{Body: out, Type: b.Type, TS: b.TS}
}

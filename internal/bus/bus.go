package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/danmaku/danmaku/internal/defaults"
)

const (
	// opTimeout bounds an operation whose context has no deadline, so that a
	// reply lost with a broken connection cannot hang a caller forever.
	opTimeout = 10 * time.Second
	// openTimeout bounds Open when its context has no deadline. A clustered
	// JetStream needs a few seconds to elect a meta leader.
	openTimeout = 30 * time.Second
	// drainTimeout bounds how long Close lets the connection flush.
	drainTimeout = 5 * time.Second
)

// Config configures a Bus. Every field's zero value is usable, and means
// what its comment says: where zero is no useful value (a size, a time, a
// replica count, a name), it means the default from DefaultConfig; where
// zero is a meaningful setting (embed a server, memory storage, no
// listener), it means that.
type Config struct {
	// URL of an external NATS server or cluster. "" embeds a server in-process.
	URL string
	// DataDir is the JetStream store directory of the embedded server. ""
	// uses memory storage (tests only; history lost on Close). With an
	// external URL it is ignored and the stream uses file storage.
	DataDir string
	// Listen is the client listen address of the embedded server, e.g.
	// "127.0.0.1:4222" (port 0 picks a free one). "" means no listener
	// (in-process connections only), unless a cluster is configured, in
	// which case "127.0.0.1:0" is used, because NATS cannot route without
	// its listeners.
	Listen string
	// HistorySize is how many messages each room keeps. 0 means the
	// default.
	HistorySize int
	// HistoryTTL is how long a message is kept. 0 means the default.
	HistoryTTL time.Duration
	// Replicas of each history stream, at most 5. 0 means the default.
	Replicas int
	// Stream name. "" means the default. With Partitions > 1 the history
	// streams are named <Stream>-0 … <Stream>-<Partitions-1>.
	Stream string
	// Partitions is how many streams the rooms' history is spread over,
	// each room hashed onto one (doc.go, "Partitions"), at most 1024. 0
	// means the default (1). It
	// cannot change over a deployment's life: Open refuses a history laid
	// out with another count (ErrPartitionsChanged).
	Partitions int
	// SyncAlways makes the embedded server write every stored message to
	// disk before acknowledging it. The zero value syncs on JetStream's
	// interval (2 minutes), so a power loss can take the acknowledged
	// messages of that interval with it; a process kill cannot. An external
	// NATS sets this in its own configuration (jetstream { sync_interval:
	// always }).
	SyncAlways bool
	// Logger; nil discards. The embedded server logs through it too.
	Logger *slog.Logger

	// ServerName names the embedded server. "" lets NATS pick a random one,
	// except in a cluster, where it defaults to "danmaku-<ClusterListen>"
	// because JetStream identifies cluster peers by name across restarts.
	ServerName string
	// ClusterName, when set, makes the embedded server join a NATS cluster
	// of that name, listening for routes on ClusterListen and dialling
	// Routes. "" means a standalone server.
	ClusterName string
	// ClusterListen is the route listen address, e.g. "127.0.0.1:6222".
	// Required with ClusterName.
	ClusterListen string
	// Routes are the route URLs of the cluster's servers, e.g.
	// "nats://10.0.0.2:6222". Listing this server's own address is fine.
	// JetStream needs at least one route per clustered server.
	Routes []string
}

// DefaultConfig returns the recommended settings: what a zero field stands
// for, and the defaults of "danmaku serve" (docs/operations.md lists them).
func DefaultConfig() Config {
	return Config{
		HistorySize: 1000,
		HistoryTTL:  24 * time.Hour,
		Replicas:    1,
		Partitions:  1,
		Stream:      "DANMAKU",
	}
}

// withDefaults returns cfg with its zero fields filled from DefaultConfig,
// or an error naming every field it cannot honour.
func (cfg Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	errs := []error{
		defaults.Positive("HistorySize", &cfg.HistorySize, d.HistorySize),
		defaults.Positive("HistoryTTL", &cfg.HistoryTTL, d.HistoryTTL),
		defaults.PositiveUpTo("Replicas", &cfg.Replicas, d.Replicas, 5),
		defaults.PositiveUpTo("Partitions", &cfg.Partitions, d.Partitions, maxPartitions),
	}
	if cfg.ClusterName != "" && cfg.ClusterListen == "" {
		errs = append(errs, errors.New("ClusterName needs ClusterListen"))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	defaults.Or(&cfg.Stream, d.Stream)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// Bus is the NATS bus and the JetStream history store. It is safe for
// concurrent use.
type Bus struct {
	cfg Config
	log *slog.Logger

	server  *server.Server // the embedded server; nil with an external URL
	tempDir string         // store dir made for a memory-only embedded server; removed on Close

	conn    *nats.Conn
	js      jetstream.JetStream
	replies *replyMux
	rooms   *roomCache
	parts   partitions
	live    *liveRooms // the room subscriptions' dispatchers
	ready   readiness  // Ready's last answer

	done       chan struct{} // closed when Close begins; waiting calls give up with ErrClosed
	connClosed chan struct{} // closed by the NATS client once the connection is closed for good

	closeOnce sync.Once
	closeErr  error
}

// Open starts an embedded NATS server unless cfg.URL is set, connects to it,
// creates the history streams or updates their configuration, and loads
// their epochs. On error everything it started is stopped again.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	parts := newPartitions(cfg.Stream, cfg.Partitions)
	b := &Bus{
		cfg:        cfg,
		log:        cfg.Logger,
		rooms:      newRoomCache(cfg.HistoryTTL, parts),
		parts:      parts,
		live:       newLiveRooms(),
		done:       make(chan struct{}),
		connClosed: make(chan struct{}),
	}
	if err := b.open(ctx); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) open(ctx context.Context) error {
	if b.cfg.URL == "" {
		if err := b.startServer(); err != nil {
			return err
		}
	}
	if err := b.connect(); err != nil {
		return err
	}
	js, err := jetstream.New(b.conn)
	if err != nil {
		return fmt.Errorf("bus: jetstream: %w", err)
	}
	b.js = js
	if b.replies, err = newReplyMux(b.conn); err != nil {
		return err
	}
	return b.ensureStreams(ctx)
}

func (b *Bus) connect() error {
	opts := []nats.Option{
		nats.Name("danmaku"),
		nats.MaxReconnects(-1),
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(b.connClosed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			b.log.Info("nats reconnected", "url", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			b.log.Warn("nats async error", "subject", subject, "err", err)
		}),
	}
	if b.server != nil {
		opts = append(opts, nats.InProcessServer(b.server))
	}
	conn, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("bus: connect: %w", err)
	}
	b.conn = conn
	return nil
}

// Close drains and closes the connection, then shuts the embedded server
// down and waits for it. Calls still waiting for a reply return ErrClosed.
// It is idempotent; later calls return the first call's result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.shutdown() })
	return b.closeErr
}

func (b *Bus) shutdown() error {
	close(b.done)
	var err error
	if b.conn != nil {
		// Drain flushes what was published and lets subscription callbacks
		// finish what they hold before the connection closes.
		if derr := b.conn.Drain(); derr != nil {
			b.conn.Close()
		}
		select {
		case <-b.connClosed:
		case <-time.After(drainTimeout + time.Second):
			b.conn.Close()
			<-b.connClosed
		}
	}
	if b.live != nil {
		b.live.close() // the closed connection writes to its channels no more
	}
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
	if b.tempDir != "" {
		if rerr := os.RemoveAll(b.tempDir); rerr != nil {
			err = fmt.Errorf("bus: remove store dir: %w", rerr)
		}
	}
	return err
}

// Conn is the Bus's NATS connection, for callers that need core NATS beyond
// this API (for example logic's request/reply queue group). Do not close it.
func (b *Bus) Conn() *nats.Conn { return b.conn }

// Epoch identifies the lifetime of the stream holding room's history, its
// partition's. It is a random id stored in the stream's metadata when the
// stream is created, so it survives restarts with the same DataDir and
// changes whenever the stream (and with it the history of every room of
// the partition) is created anew. It is read once, by Open. A room's
// offsets are comparable only within one epoch of its partition.
func (b *Bus) Epoch(room string) string { return b.parts[partitionOf(room, len(b.parts))].epoch }

// Epochs are the epochs of all partitions, in partition order.
func (b *Bus) Epochs() []string {
	epochs := make([]string, len(b.parts))
	for i := range b.parts {
		epochs[i] = b.parts[i].epoch
	}
	return epochs
}

// ClientURL is the client URL of the embedded server, for other processes
// to connect to; "" when there is no embedded server or it has no listener.
func (b *Bus) ClientURL() string {
	if b.server == nil || (b.cfg.Listen == "" && b.cfg.ClusterName == "") {
		return ""
	}
	return b.server.ClientURL()
}

// bound gives ctx the default deadline if it has none.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// usable reports ErrClosed once Close has begun.
func (b *Bus) usable() error {
	select {
	case <-b.done:
		return ErrClosed
	default:
		return nil
	}
}

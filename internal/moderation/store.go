package moderation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/danmaku/danmaku/internal/defaults"
)

const (
	// opTimeout bounds an operation whose context has no deadline.
	opTimeout = 10 * time.Second
	// openTimeout bounds Open when its context has no deadline.
	openTimeout = 30 * time.Second
	// attemptTimeout bounds one attempt to bind or create the bucket, and
	// retryDelay separates attempts: a clustered JetStream that is still
	// forming answers late or not at all.
	attemptTimeout = 5 * time.Second
	retryDelay     = 250 * time.Millisecond
)

// Config configures a Store. A zero field means what its comment says:
// where zero is no useful value (a name, a replica count), it means the
// default from DefaultConfig.
type Config struct {
	// Conn is the NATS connection, normally bus.Bus.Conn(). Required. The
	// Store does not close it; close the Store first.
	Conn *nats.Conn
	// Bucket is the KV bucket's name, of [A-Za-z0-9_-]. "" means the
	// default.
	Bucket string
	// Replicas of the bucket when Open creates it, at most 5. 0 means the
	// default. An existing bucket keeps its own.
	Replicas int
	// Logger; nil discards.
	Logger *slog.Logger
	// Now tells the time for expiry. nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns what a zero field stands for.
func DefaultConfig() Config {
	return Config{Bucket: "danmaku_moderation", Replicas: 1}
}

// withDefaults returns cfg with its zero fields filled from DefaultConfig,
// or an error naming every field it cannot honour.
func (cfg Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	defaults.Or(&cfg.Bucket, d.Bucket)
	errs := []error{defaults.PositiveUpTo("Replicas", &cfg.Replicas, d.Replicas, 5)}
	if cfg.Conn == nil {
		errs = append(errs, errors.New("Config.Conn is nil"))
	}
	if !validBucket(cfg.Bucket) {
		errs = append(errs, fmt.Errorf("Config.Bucket %q is not of [A-Za-z0-9_-]", cfg.Bucket))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// validBucket reports whether name is a valid KV bucket name.
func validBucket(name string) bool {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return name != ""
}

// Store holds mutes, bans and room settings in a JetStream KV bucket and
// keeps an in-memory view of them current. Reads come from the view and
// never touch the network. It is safe for concurrent use.
type Store struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	js            jetstream.JetStream
	kv            jetstream.KeyValue
	stream        jetstream.Stream // the bucket's stream, for purges
	subjectPrefix string           // "$KV.<bucket>.", the subject of key k is subjectPrefix+k

	ctx     context.Context    // lives until Close; the watcher's and the sweeper's
	cancel  context.CancelFunc // ends ctx
	watcher jetstream.KeyWatcher
	wg      sync.WaitGroup // the watch and sweep goroutines
	done    chan struct{}  // closed when Close begins
	loaded  chan struct{}  // closed once the watcher has delivered the bucket's contents
	stopped chan struct{}  // closed when the watch goroutine ends
	kick    chan struct{}  // asks the sweeper for a sweep now; capacity 1

	mu         sync.RWMutex // guards the fields below; see doc.go for the lock order
	mutes      map[muteID]stored[Mute]
	bans       map[string]stored[Ban]
	rooms      map[string]stored[RoomSettings]
	tombstones map[string]tombstone // key → its delete marker
	applied    uint64               // the newest revision the view holds
	progress   chan struct{}        // closed and replaced whenever applied grows

	callbacksMu  sync.Mutex // guards the fields below; never held with mu
	callbacks    map[uint64]func(Ban)
	nextCallback uint64

	closeOnce sync.Once
}

// muteID identifies a mute: Room "" is a mute everywhere.
type muteID struct{ room, user string }

// stored is a value of the view with the key and revision it came from.
type stored[T any] struct {
	value T
	key   string
	rev   uint64
}

// tombstone is a delete marker in the bucket: its revision and when it was
// written.
type tombstone struct {
	rev uint64
	at  time.Time
}

// Open binds the KV bucket, creating it if it does not exist, loads it, and
// starts the watcher that keeps the view current and the sweeper that
// removes what has expired. It returns once the view holds everything the
// bucket held when the watcher started. Close stops both goroutines.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("moderation: jetstream: %w", err)
	}
	kv, err := bindBucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	stream, err := js.Stream(ctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("moderation: bucket %s: stream: %w", cfg.Bucket, err)
	}
	s := &Store{
		cfg:           cfg,
		log:           cfg.Logger,
		now:           cfg.Now,
		js:            js,
		kv:            kv,
		stream:        stream,
		subjectPrefix: "$KV." + cfg.Bucket + ".",
		done:          make(chan struct{}),
		loaded:        make(chan struct{}),
		stopped:       make(chan struct{}),
		kick:          make(chan struct{}, 1),
		mutes:         make(map[muteID]stored[Mute]),
		bans:          make(map[string]stored[Ban]),
		rooms:         make(map[string]stored[RoomSettings]),
		tombstones:    make(map[string]tombstone),
		progress:      make(chan struct{}),
		callbacks:     make(map[uint64]func(Ban)),
	}
	// The watcher lives until Close, so its context cannot be Open's; but
	// creating it must still give up when Open's context ends.
	s.ctx, s.cancel = context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, s.cancel)
	watcher, err := kv.WatchAll(s.ctx)
	if !stop() && err == nil {
		// Open's context ended as the watcher was made, and so did s.ctx,
		// which makes the NATS client unsubscribe it.
		err = ctx.Err()
	}
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("moderation: bucket %s: watch: %w", cfg.Bucket, err)
	}
	s.watcher = watcher
	s.wg.Add(2)
	go s.watch()
	go s.sweepLoop()
	select {
	case <-s.loaded:
		return s, nil
	case <-s.stopped:
		err = ErrWatcherStopped
	case <-ctx.Done():
		err = fmt.Errorf("moderation: bucket %s: load: %w", cfg.Bucket, ctx.Err())
	}
	_ = s.Close() // Close always returns nil
	return nil, err
}

// bindBucket binds the bucket, or creates it if it does not exist.
func bindBucket(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	for {
		kv, err := tryBindBucket(ctx, js, cfg)
		if err == nil {
			return kv, nil
		}
		if !retryable(err) {
			return nil, fmt.Errorf("moderation: bucket %s: %w", cfg.Bucket, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("moderation: bucket %s: %w (giving up: %w)", cfg.Bucket, err, ctx.Err())
		case <-time.After(retryDelay):
		}
	}
}

func tryBindBucket(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return kv, err
	}
	// History 1: a key's newest value (or delete marker) replaces the
	// previous one. No bucket TTL: entries end by their own Until.
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "danmaku mutes, bans and room settings",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Another node created it first; bind it on the next attempt.
		return nil, err
	}
	return kv, err
}

// retryable reports errors that mean "JetStream is not ready yet" or "lost
// a race to create the bucket".
func retryable(err error) bool {
	if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503
}

// Close stops the watcher and the sweeper and waits for them. The view
// stays readable, frozen as it was; writes return ErrClosed. Close does not
// close Config.Conn. It is idempotent and returns nil. Do not call it from
// an OnBan callback.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		// Ending ctx makes the NATS client unsubscribe the watcher, which
		// closes its updates channel and so ends the watch goroutine. Stop
		// does the same at once; whichever comes second finds nothing to do,
		// so its error means nothing.
		s.cancel()
		_ = s.watcher.Stop()
		s.wg.Wait()
	})
	return nil
}

// usable reports ErrClosed once Close has begun.
func (s *Store) usable() error {
	select {
	case <-s.done:
		return ErrClosed
	default:
		return nil
	}
}

// bound gives ctx the default deadline if it has none.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

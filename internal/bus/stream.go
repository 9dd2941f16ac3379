package bus

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// epochKey is the stream metadata key holding the epoch.
const epochKey = "danmaku.epoch"

// streamConfig is the configuration of p's stream, without metadata.
func (b *Bus) streamConfig(p *partition) jetstream.StreamConfig {
	storage := jetstream.FileStorage
	if b.cfg.URL == "" && b.cfg.DataDir == "" {
		storage = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name:        p.stream,
		Description: "danmaku room history",
		Subjects:    []string{p.streamSubjects()},
		Storage:     storage,
		Replicas:    b.cfg.Replicas,
		// Per-room history: each subject (room) keeps its newest
		// HistorySize messages for at most HistoryTTL. Both limits only
		// ever remove a room's oldest messages; doc.go explains why the
		// history reads depend on that.
		MaxMsgsPerSubject: int64(b.cfg.HistorySize),
		MaxAge:            b.cfg.HistoryTTL,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		Discard:           jetstream.DiscardOld,
		// Reads use direct gets, which need no consumer.
		AllowDirect: true,
		// Gateways follow rooms live on core NATS; the republished copy
		// carries the stream sequence (offset) and the subject's previous
		// sequence (prev) in its headers.
		RePublish: p.rePublish(),
	}
}

// ensureStreams refuses a history laid out with another partition count,
// then creates each partition's stream or updates its configuration, and
// loads its epoch.
func (b *Bus) ensureStreams(ctx context.Context) error {
	for _, name := range b.layoutNames() {
		if err := b.retry(ctx, name, func(ctx context.Context) error { return b.checkLayout(ctx, name) }); err != nil {
			return err
		}
	}
	for i := range b.parts {
		p := &b.parts[i]
		err := b.retry(ctx, p.stream, func(ctx context.Context) (err error) {
			p.epoch, err = b.tryEnsureStream(ctx, p)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// retry runs one attempt of a stream operation after another until one
// succeeds, fails for good, or ctx ends. A clustered JetStream may not
// answer until it has elected a leader, so unavailability is retried.
func (b *Bus) retry(ctx context.Context, stream string, attempt func(context.Context) error) error {
	backoff := 50 * time.Millisecond
	for {
		err := b.try(ctx, attempt)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrPartitionsChanged):
			return err // says everything already
		case !retryable(err):
			return fmt.Errorf("bus: stream %s: %w", stream, err)
		}
		b.log.Debug("stream not ready, retrying", "stream", stream, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: stream %s: %w (last error: %v)", stream, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// try runs one attempt within attemptTimeout.
func (b *Bus) try(ctx context.Context, attempt func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	if b.server != nil && b.server.JetStreamIsClustered() && !b.server.JetStreamIsCurrent() {
		return errMetaNotReady
	}
	return attempt(ctx)
}

// attemptTimeout bounds one attempt to look up, create or update the
// stream. A JetStream cluster without a meta leader drops API requests
// instead of answering them, so a short timeout and a retry find the
// leader sooner than one long wait.
const attemptTimeout = time.Second

// errMetaNotReady reports that the embedded server's JetStream cluster has
// no meta leader yet; requests sent now would go unanswered.
var errMetaNotReady = errors.New("JetStream cluster has no meta leader yet")

// errRaced reports that another node created the stream between our lookup
// and our create; the next attempt updates it instead.
var errRaced = errors.New("stream created concurrently")

func (b *Bus) tryEnsureStream(ctx context.Context, p *partition) (string, error) {
	cfg := b.streamConfig(p)
	count := strconv.Itoa(len(b.parts))
	stream, err := b.js.Stream(ctx, cfg.Name)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", fmt.Errorf("look up: %w", err)
	}
	if err != nil {
		// A new stream starts a new history, so it gets a new epoch.
		cfg.Metadata = map[string]string{epochKey: newEpoch(), partitionsKey: count}
		stream, err = b.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return "", errRaced
		}
		if err != nil {
			return "", fmt.Errorf("create: %w", err)
		}
		return epochOf(stream)
	}
	// JetStream cannot change a stream's storage type; keep the one it has
	// (a node joining a stream that another node created in memory, say).
	existingCfg := stream.CachedInfo().Config
	if existingCfg.Storage != cfg.Storage {
		b.log.Warn("keeping the stream's storage type", "stream", cfg.Name,
			"storage", existingCfg.Storage.String(), "configured", cfg.Storage.String())
		cfg.Storage = existingCfg.Storage
	}
	// Keep whatever metadata the stream has, above all its epoch: the
	// history survives the update, so resuming clients may rely on it.
	cfg.Metadata = maps.Clone(existingCfg.Metadata)
	if cfg.Metadata == nil {
		cfg.Metadata = make(map[string]string, 2)
	}
	switch have := cfg.Metadata[partitionsKey]; have {
	case count:
	case "":
		// Streams made before partitioning existed record no count; only
		// the one-partition layout is that old, and checkLayout let it
		// through as this deployment's.
		cfg.Metadata[partitionsKey] = count
	default:
		// checkLayout found no other layout a moment ago, but a node
		// opening with another count may have created this stream since.
		n, _ := strconv.Atoi(have)
		return "", b.layoutChanged(cfg.Name, n)
	}
	if cfg.Metadata[epochKey] == "" {
		cfg.Metadata[epochKey] = newEpoch()
	} else if cfg.Metadata[partitionsKey] == existingCfg.Metadata[partitionsKey] && sameConfig(existingCfg, cfg) {
		// Nothing to change. Skipping the update matters when several
		// nodes start together: a clustered stream that was just created
		// may not answer updates until its replicas have elected a leader.
		return epochOf(stream)
	}
	stream, err = b.js.UpdateStream(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("update: %w", err)
	}
	return epochOf(stream)
}

// sameConfig reports whether the stream's configuration already has every
// setting this package manages.
func sameConfig(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) &&
		have.Description == want.Description &&
		have.Storage == want.Storage &&
		have.Replicas == want.Replicas &&
		have.MaxMsgsPerSubject == want.MaxMsgsPerSubject &&
		have.MaxAge == want.MaxAge &&
		have.MaxMsgs == want.MaxMsgs &&
		have.MaxBytes == want.MaxBytes &&
		have.Discard == want.Discard &&
		have.AllowDirect == want.AllowDirect &&
		have.RePublish != nil && *have.RePublish == *want.RePublish
}

func epochOf(stream jetstream.Stream) (string, error) {
	epoch := stream.CachedInfo().Config.Metadata[epochKey]
	if epoch == "" {
		return "", fmt.Errorf("%w: stream has no %s metadata", ErrBadReply, epochKey)
	}
	return epoch, nil
}

// retryable reports errors that mean "JetStream is not ready yet".
func retryable(err error) bool {
	if errors.Is(err, errRaced) || errors.Is(err, errMetaNotReady) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return true
	}
	// 10005, "no suitable peers for placement": a cluster that is still
	// forming has not seen enough of its servers yet. (If Replicas exceeds
	// the cluster's size it is permanent, and Open fails when ctx ends,
	// with this error.)
	const noSuitablePeers = 10005
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.Code == 503 || apiErr.ErrorCode == noSuitablePeers)
}

// newEpoch returns a random id: 96 bits, unpadded base64url.
func newEpoch() string {
	var raw [12]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

package bus

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// epochKey is the stream metadata key holding the epoch.
const epochKey = "danmaku.epoch"

// streamConfig is the history stream's configuration, without metadata.
func (b *Bus) streamConfig() jetstream.StreamConfig {
	storage := jetstream.FileStorage
	if b.cfg.URL == "" && b.cfg.DataDir == "" {
		storage = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name:        b.cfg.Stream,
		Description: "danmaku room history",
		Subjects:    []string{streamSubjects},
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
		RePublish: &jetstream.RePublish{Source: republishSource, Destination: republishDest},
	}
}

// ensureStream creates the stream or updates its configuration, and loads
// the epoch. A clustered JetStream may not answer until it has elected a
// leader, so unavailability is retried until ctx ends.
func (b *Bus) ensureStream(ctx context.Context) error {
	backoff := 50 * time.Millisecond
	for {
		epoch, err := b.tryEnsureStream(ctx)
		if err == nil {
			b.epoch = epoch
			return nil
		}
		if !retryable(err) {
			return fmt.Errorf("bus: stream %s: %w", b.cfg.Stream, err)
		}
		b.log.Debug("stream not ready, retrying", "stream", b.cfg.Stream, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("bus: stream %s: %w (last error: %v)", b.cfg.Stream, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
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

func (b *Bus) tryEnsureStream(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	cfg := b.streamConfig()
	if b.server != nil && b.server.JetStreamIsClustered() && !b.server.JetStreamIsCurrent() {
		return "", errMetaNotReady
	}
	stream, err := b.js.Stream(ctx, cfg.Name)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", fmt.Errorf("look up: %w", err)
	}
	if err != nil {
		// A new stream starts a new history, so it gets a new epoch.
		cfg.Metadata = map[string]string{epochKey: newEpoch()}
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
		cfg.Metadata = make(map[string]string, 1)
	}
	if cfg.Metadata[epochKey] == "" {
		cfg.Metadata[epochKey] = newEpoch()
	} else if sameConfig(existingCfg, cfg) {
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

package moderation

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	// sweepInterval is how often the sweeper looks for expired entries and
	// old delete markers. Reads that meet an expired entry ask for a sweep
	// sooner; until then they treat it as absent.
	sweepInterval = time.Minute
	// tombstoneAge is how long a delete marker stays in the bucket. Every
	// node's watcher must have seen it by then: a watcher that reconnects
	// resumes after the last revision it saw, and would miss a removal
	// whose marker was purged in between.
	tombstoneAge = 30 * time.Minute
)

// sweepLoop runs sweeps until Close.
func (s *Store) sweepLoop() {
	defer s.wg.Done()
	ticker := time.NewTicker(sweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ticker.C:
		case <-s.kick:
		}
		s.sweep(s.ctx)
	}
}

// requestSweep asks the sweeper for a sweep soon, without waiting.
func (s *Store) requestSweep() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// purgeable is a revision of a key to remove from the bucket, with every
// older one.
type purgeable struct {
	key string
	rev uint64
}

// sweep drops expired mutes and bans from the view and purges them from the
// bucket, together with delete markers older than tombstoneAge. Expired
// entries are purged without a delete marker: every node already treats
// them as absent. A purge covers only revisions up to the one swept, so a
// value written since (by any node) survives it. Every node sweeps; a
// purge another node did first removes nothing.
func (s *Store) sweep(ctx context.Context) {
	now := s.now()
	var victims []purgeable
	s.mu.Lock()
	for id, m := range s.mutes {
		if !active(m.value.Until, now) {
			delete(s.mutes, id)
			victims = append(victims, purgeable{m.key, m.rev})
		}
	}
	for user, b := range s.bans {
		if !active(b.value.Until, now) {
			delete(s.bans, user)
			victims = append(victims, purgeable{b.key, b.rev})
		}
	}
	for key, t := range s.tombstones {
		if now.Sub(t.at) >= tombstoneAge {
			delete(s.tombstones, key)
			victims = append(victims, purgeable{key, t.rev})
		}
	}
	s.mu.Unlock()

	for _, v := range victims {
		if err := s.purge(ctx, v); err != nil {
			if ctx.Err() != nil {
				return // closing
			}
			// The entry stays in the bucket, harmless (it is expired or a
			// marker), until a node loads it again and sweeps it.
			s.log.Warn("moderation: purge failed", "key", v.key, "revision", v.rev, "err", err)
		}
	}
}

func (s *Store) purge(ctx context.Context, v purgeable) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return s.stream.Purge(ctx,
		jetstream.WithPurgeSubject(s.subjectPrefix+v.key),
		jetstream.WithPurgeSequence(v.rev+1))
}

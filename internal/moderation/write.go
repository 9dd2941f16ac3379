package moderation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// viewWait bounds how long a write waits for this node's view to show it.
// The write is durable before the wait starts, so a wait that gives up is
// logged, not returned.
const viewWait = 5 * time.Second

// The KV delete marker, as written by jetstream.KeyValue.Delete (ADR-8).
// Writing it by hand gives its revision, which Delete does not return.
const (
	kvOperationHeader = "KV-Operation"
	kvOperationDelete = "DEL"
)

// Mute mutes m.User in m.Room, or everywhere if m.Room is "", replacing any
// mute the user has there. m.Until must be zero (forever) or in the future;
// a zero m.At is set to now. When Mute returns, MutedFor on this node
// reports it; other nodes see it a few milliseconds later.
func (s *Store) Mute(ctx context.Context, m Mute) error {
	key, err := muteKey(m.Room, m.User)
	if err != nil {
		return fmt.Errorf("moderation: mute: %w", err)
	}
	rec, err := newRecord(m.Until, m.Reason, m.By, m.At, s.now())
	if err != nil {
		return fmt.Errorf("moderation: mute %q in %q: %w", m.User, m.Room, err)
	}
	if err := s.put(ctx, key, rec); err != nil {
		return fmt.Errorf("moderation: mute %q in %q: %w", m.User, m.Room, err)
	}
	return nil
}

// Unmute lifts user's mute in room, or the mute everywhere if room is "".
// It does not lift the other: a user muted everywhere stays muted in room.
// Unmuting a user who is not muted is not an error.
func (s *Store) Unmute(ctx context.Context, room, user string) error {
	key, err := muteKey(room, user)
	if err != nil {
		return fmt.Errorf("moderation: unmute: %w", err)
	}
	if err := s.remove(ctx, key); err != nil {
		return fmt.Errorf("moderation: unmute %q in %q: %w", user, room, err)
	}
	return nil
}

// Ban bans b.User, replacing any ban the user has. b.Until must be zero
// (forever) or in the future; a zero b.At is set to now. Every node's OnBan
// callbacks are called with it; when Ban returns, this node's have run.
func (s *Store) Ban(ctx context.Context, b Ban) error {
	key, err := banKey(b.User)
	if err != nil {
		return fmt.Errorf("moderation: ban: %w", err)
	}
	rec, err := newRecord(b.Until, b.Reason, b.By, b.At, s.now())
	if err != nil {
		return fmt.Errorf("moderation: ban %q: %w", b.User, err)
	}
	if err := s.put(ctx, key, rec); err != nil {
		return fmt.Errorf("moderation: ban %q: %w", b.User, err)
	}
	return nil
}

// Unban lifts user's ban. Unbanning a user who is not banned is not an
// error.
func (s *Store) Unban(ctx context.Context, user string) error {
	key, err := banKey(user)
	if err != nil {
		return fmt.Errorf("moderation: unban: %w", err)
	}
	if err := s.remove(ctx, key); err != nil {
		return fmt.Errorf("moderation: unban %q: %w", user, err)
	}
	return nil
}

// SetRoom replaces room's settings. SlowModeSeconds must be 0–3600 and
// MaxTextRunes 0–1000. The zero RoomSettings removes the room's entry.
func (s *Store) SetRoom(ctx context.Context, room string, rs RoomSettings) error {
	key, err := roomKey(room)
	if err != nil {
		return fmt.Errorf("moderation: room settings: %w", err)
	}
	if err := rs.validate(); err != nil {
		return fmt.Errorf("moderation: room %q: %w", room, err)
	}
	if rs == (RoomSettings{}) {
		err = s.remove(ctx, key)
	} else {
		err = s.put(ctx, key, rs)
	}
	if err != nil {
		return fmt.Errorf("moderation: room %q: %w", room, err)
	}
	return nil
}

// put stores value under key and waits for the view to show it.
func (s *Store) put(ctx context.Context, key string, value any) error {
	if err := s.usable(); err != nil {
		return err
	}
	data, err := json.Marshal(value)
	if err != nil {
		return err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	rev, err := s.kv.Put(ctx, key, data)
	if err != nil {
		return err
	}
	s.awaitView(ctx, key, rev)
	return nil
}

// remove writes a delete marker for key and waits for the view to show it.
func (s *Store) remove(ctx context.Context, key string) error {
	if err := s.usable(); err != nil {
		return err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	msg := nats.NewMsg(s.subjectPrefix + key)
	msg.Header.Set(kvOperationHeader, kvOperationDelete)
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		return err
	}
	s.awaitView(ctx, key, ack.Sequence)
	return nil
}

// awaitView waits until the view holds revision rev, so that a node reads
// its own writes. It gives up after viewWait, when ctx ends, or at Close.
func (s *Store) awaitView(ctx context.Context, key string, rev uint64) {
	timer := time.NewTimer(viewWait)
	defer timer.Stop()
	for {
		s.mu.RLock()
		applied, progress := s.applied, s.progress
		s.mu.RUnlock()
		if applied >= rev {
			return
		}
		select {
		case <-progress:
		case <-s.done:
			return
		case <-ctx.Done():
			s.log.Warn("moderation: stored, but not yet seen by this node", "key", key, "revision", rev, "err", ctx.Err())
			return
		case <-timer.C:
			s.log.Warn("moderation: stored, but not yet seen by this node", "key", key, "revision", rev, "waited", viewWait)
			return
		}
	}
}

package moderation

import (
	"encoding/json"

	"github.com/nats-io/nats.go/jetstream"
)

// watch applies the watcher's entries to the view until the watcher's
// updates channel closes: at Close, or when the connection closes. The
// watcher first delivers every key's newest revision, then a nil entry,
// then each change as it is stored, in revision order.
func (s *Store) watch() {
	defer s.wg.Done()
	defer close(s.stopped)
	loading := true
	for entry := range s.watcher.Updates() {
		if entry == nil {
			if loading {
				loading = false
				close(s.loaded)
			}
			continue
		}
		ban, isBan := s.apply(entry)
		// Callbacks run before applied moves past the entry, so that a
		// write on this node returns after its OnBan callbacks have run.
		if isBan && !loading {
			s.notifyBan(ban)
		}
		s.advance(entry.Revision())
	}
	select {
	case <-s.done:
	default:
		s.log.Error("moderation: watcher ended; mutes, bans and room settings are no longer updated (was the bus closed before the store?)")
	}
}

// apply puts entry into the view. It reports a ban that entry sets and that
// is in force, for the OnBan callbacks.
func (s *Store) apply(entry jetstream.KeyValueEntry) (Ban, bool) {
	key := entry.Key()
	k, err := parseKey(key)
	if err != nil {
		s.log.Warn("moderation: ignoring a key", "bucket", s.cfg.Bucket, "err", err)
		return Ban{}, false
	}
	put := entry.Operation() == jetstream.KeyValuePut
	var rec record
	var settings RoomSettings
	if put {
		if k.kind == kindRoom {
			err = json.Unmarshal(entry.Value(), &settings)
			if err == nil {
				err = settings.validate()
			}
		} else {
			err = json.Unmarshal(entry.Value(), &rec)
		}
		if err != nil {
			// An entry that cannot be read cannot be enforced: it counts as
			// absent, but is not a delete marker for the sweeper.
			s.log.Warn("moderation: ignoring a value", "bucket", s.cfg.Bucket, "key", key, "revision", entry.Revision(), "err", err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !put {
		s.tombstones[key] = tombstone{rev: entry.Revision(), at: entry.Created()}
	} else {
		delete(s.tombstones, key)
	}
	if !put || err != nil {
		s.removeLocked(k)
		return Ban{}, false
	}
	rev := entry.Revision()
	switch k.kind {
	case kindMute:
		s.mutes[muteID{k.room, k.user}] = stored[Mute]{key: key, rev: rev, value: Mute{
			Room: k.room, User: k.user, Until: rec.Until, Reason: rec.Reason, By: rec.By, At: rec.At,
		}}
	case kindBan:
		ban := Ban{User: k.user, Until: rec.Until, Reason: rec.Reason, By: rec.By, At: rec.At}
		s.bans[k.user] = stored[Ban]{key: key, rev: rev, value: ban}
		return ban, active(ban.Until, s.now())
	case kindRoom:
		s.rooms[k.room] = stored[RoomSettings]{key: key, rev: rev, value: settings}
	}
	return Ban{}, false
}

// removeLocked drops k from the view.
func (s *Store) removeLocked(k parsedKey) {
	switch k.kind {
	case kindMute:
		delete(s.mutes, muteID{k.room, k.user})
	case kindBan:
		delete(s.bans, k.user)
	case kindRoom:
		delete(s.rooms, k.room)
	}
}

// advance records that the view holds revision rev and wakes writers
// waiting for it.
func (s *Store) advance(rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.applied {
		return
	}
	s.applied = rev
	close(s.progress)
	s.progress = make(chan struct{})
}

// OnBan calls fn with every ban set from now on, on any node, while it is
// in force when it arrives (a ban set again, to change its reason or end,
// counts). fn runs on the watcher goroutine: it must return quickly, and
// must not call Close or a write of this Store. Calls are not concurrent.
// cancel stops the calls; a call already under way may still finish after
// cancel returns.
//
// Bans that were set before the Store opened are not passed to fn; use
// Banned or Bans for those.
func (s *Store) OnBan(fn func(Ban)) (cancel func()) {
	s.callbacksMu.Lock()
	defer s.callbacksMu.Unlock()
	id := s.nextCallback
	s.nextCallback++
	s.callbacks[id] = fn
	return func() {
		s.callbacksMu.Lock()
		defer s.callbacksMu.Unlock()
		delete(s.callbacks, id)
	}
}

func (s *Store) notifyBan(ban Ban) {
	s.callbacksMu.Lock()
	fns := make([]func(Ban), 0, len(s.callbacks))
	for _, fn := range s.callbacks {
		fns = append(fns, fn)
	}
	s.callbacksMu.Unlock()
	for _, fn := range fns {
		fn(ban)
	}
}

package moderation

import (
	"cmp"
	"slices"
	"time"
)

// MutedFor reports the mute that silences user in room: the user's mute in
// that room or everywhere, whichever ends later. Expired mutes count as
// absent. It reads only memory.
func (s *Store) MutedFor(room, user string) (Mute, bool) {
	now := s.now()
	s.mu.RLock()
	everywhere, okEverywhere := s.mutes[muteID{"", user}]
	inRoom, okRoom := s.mutes[muteID{room, user}]
	s.mu.RUnlock()

	var found Mute
	ok := false
	consider := func(m stored[Mute], present bool) {
		switch {
		case !present:
		case !active(m.value.Until, now):
			s.requestSweep()
		case !ok || endsLater(m.value.Until, found.Until):
			found, ok = m.value, true
		}
	}
	consider(everywhere, okEverywhere)
	if room != "" {
		consider(inRoom, okRoom)
	}
	return found, ok
}

// Banned reports user's ban, if one is in force. It reads only memory.
func (s *Store) Banned(user string) (Ban, bool) {
	s.mu.RLock()
	b, ok := s.bans[user]
	s.mu.RUnlock()
	if !ok {
		return Ban{}, false
	}
	if !active(b.value.Until, s.now()) {
		s.requestSweep()
		return Ban{}, false
	}
	return b.value, true
}

// Mutes lists the mutes in force in room, sorted by user; room "" lists
// all mutes, those everywhere (Room "") first, then by room and user.
func (s *Store) Mutes(room string) []Mute {
	now := s.now()
	var out []Mute
	expired := false
	s.mu.RLock()
	for id, m := range s.mutes {
		switch {
		case room != "" && id.room != room:
		case !active(m.value.Until, now):
			expired = true
		default:
			out = append(out, m.value)
		}
	}
	s.mu.RUnlock()
	if expired {
		s.requestSweep()
	}
	slices.SortFunc(out, func(a, b Mute) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room), cmp.Compare(a.User, b.User))
	})
	return out
}

// Bans lists the bans in force, sorted by user.
func (s *Store) Bans() []Ban {
	now := s.now()
	var out []Ban
	expired := false
	s.mu.RLock()
	for _, b := range s.bans {
		if active(b.value.Until, now) {
			out = append(out, b.value)
		} else {
			expired = true
		}
	}
	s.mu.RUnlock()
	if expired {
		s.requestSweep()
	}
	slices.SortFunc(out, func(a, b Ban) int { return cmp.Compare(a.User, b.User) })
	return out
}

// Room returns room's settings; the zero RoomSettings if it has none.
func (s *Store) Room(room string) RoomSettings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rooms[room].value
}

// endsLater reports whether a restriction ending at a lasts longer than one
// ending at b; zero means never.
func endsLater(a, b time.Time) bool {
	switch {
	case a.IsZero():
		return !b.IsZero()
	case b.IsZero():
		return false
	default:
		return a.After(b)
	}
}

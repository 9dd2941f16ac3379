package logic

import (
	"hash/maphash"
	"sync"
	"time"
)

// senders keeps the per-user state of the send pipeline on this node: the
// user's rate limit, when they last sent to each room (slow mode), and the
// texts they sent lately (duplicate suppression). The logic tier stays
// stateless in the sense that matters: losing this state on a restart only
// forgets recent history, and with several logic nodes each enforces the
// limits for the sends it handles.
type senders struct {
	rate      int           // sends allowed per window
	window    time.Duration // rate window
	dupWindow time.Duration // same text refused within this

	seed maphash.Seed

	mu    sync.Mutex // guards users and lastPrune
	users map[string]*senderState
	// lastPrune bounds how often idle users are forgotten.
	lastPrune time.Time
}

type senderState struct {
	sends    []time.Time          // this window's sends, oldest first
	lastRoom map[string]time.Time // last accepted send per room
	texts    []sentText           // recent texts, oldest first
	seen     time.Time
}

type sentText struct {
	hash uint64
	at   time.Time
}

func newSenders(rate int, window, dupWindow time.Duration) *senders {
	return &senders{rate: rate, window: window, dupWindow: dupWindow, seed: maphash.MakeSeed(), users: make(map[string]*senderState)}
}

// verdict is what check decides.
type verdict int

const (
	allowed verdict = iota
	rateLimited
	slowMode
	duplicate
)

// check applies, in order, the user's rate limit, the room's slow mode and
// duplicate suppression to a send of normalized text at now. It records the
// send only when every check passes. retry says when the refused send could
// succeed.
func (s *senders) check(user, room, text string, slowModeSeconds int, exempt bool, now time.Time) (verdict, time.Duration) {
	h := maphash.String(s.seed, text)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	st := s.users[user]
	if st == nil {
		st = &senderState{lastRoom: make(map[string]time.Time, 1)}
		s.users[user] = st
	}
	st.seen = now
	// Forget sends and texts that left their windows.
	cut := 0
	for cut < len(st.sends) && now.Sub(st.sends[cut]) >= s.window {
		cut++
	}
	st.sends = st.sends[cut:]
	cut = 0
	for cut < len(st.texts) && now.Sub(st.texts[cut].at) >= s.dupWindow {
		cut++
	}
	st.texts = st.texts[cut:]

	if !exempt {
		if s.rate > 0 && len(st.sends) >= s.rate {
			return rateLimited, st.sends[0].Add(s.window).Sub(now)
		}
		if slowModeSeconds > 0 {
			if last, ok := st.lastRoom[room]; ok {
				if wait := last.Add(time.Duration(slowModeSeconds) * time.Second).Sub(now); wait > 0 {
					return slowMode, wait
				}
			}
		}
		for _, t := range st.texts {
			if t.hash == h {
				return duplicate, t.at.Add(s.dupWindow).Sub(now)
			}
		}
	}
	if s.rate > 0 { // without a rate limit the sends need no record
		st.sends = append(st.sends, now)
	}
	st.lastRoom[room] = now
	st.texts = append(st.texts, sentText{h, now})
	return allowed, 0
}

// pruneLocked forgets users idle for longer than every window, at most once
// per window, so memory follows the number of recently active senders.
func (s *senders) pruneLocked(now time.Time) {
	idle := max(s.window, s.dupWindow, time.Hour)
	if now.Sub(s.lastPrune) < s.window {
		return
	}
	s.lastPrune = now
	for u, st := range s.users {
		if now.Sub(st.seen) > idle {
			delete(s.users, u)
		}
	}
}

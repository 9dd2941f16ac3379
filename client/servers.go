package client

import (
	"time"
)

// servers chooses the URL of each connect attempt among the ones DialAny
// was given. It is pure, like backoff: the caller passes the time, and it
// starts no goroutine. Only the supervisor uses it once Dial has returned.
type servers struct {
	urls []string
	// holds[i] is when urls[i] may be tried again: a server that refused
	// with Retry-After, or closed with 4013 retry=, asked for that much.
	holds []time.Time
	// next is where the search for the next URL starts: one past the last
	// URL tried, so that a failure moves the client on.
	next int
}

// newServers starts at a random URL, so a fleet of viewers configured with
// the same list spreads over it instead of all landing on its first node.
// random returns a number in [0, 1).
func newServers(urls []string, random func() float64) servers {
	return servers{
		urls:  urls,
		holds: make([]time.Time, len(urls)),
		next:  min(int(random()*float64(len(urls))), len(urls)-1),
	}
}

// pick returns the index of the URL to try next and the earliest time it may
// be tried: the first URL from next on that no hint holds back at now, or,
// when every one is held, the one free soonest. With several URLs, avoid (or
// -1) is never picked: it is a URL that just drained.
func (s *servers) pick(now time.Time, avoid int) (int, time.Time) {
	n := len(s.urls)
	best := -1
	for k := range n {
		i := (s.next + k) % n
		if i == avoid && n > 1 {
			continue
		}
		if !s.holds[i].After(now) {
			return i, now
		}
		if best < 0 || s.holds[i].Before(s.holds[best]) {
			best = i
		}
	}
	return best, s.holds[best]
}

// tried records that an attempt on urls[i] failed or that its connection
// ended, with the server's retry hint, if any, measured from now.
func (s *servers) tried(i int, hint time.Duration, now time.Time) {
	s.next = (i + 1) % len(s.urls)
	if hint > 0 {
		s.holds[i] = now.Add(hint)
	}
}

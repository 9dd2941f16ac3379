package client

import (
	"math/rand/v2"
	"time"
)

// backoff computes reconnect delays with full jitter: attempt n waits a
// uniformly random time in [0, min(max, min·2ʳ)), where r is the number of
// rounds of attempts that failed. Spreading the whole range, rather than
// adding a little noise to a fixed delay, keeps a herd of clients dropped by
// one server restart from coming back in waves.
//
// A round is one attempt per server URL: with several URLs, one dead node
// must not slow the move to the next, so the ceiling grows only once every
// URL has had its chance. With one URL a round is one attempt.
//
// It is pure: no clock and no goroutines, and the random source is a field
// so tests can fix it.
type backoff struct {
	min, max time.Duration
	// random returns a number in [0, 1). Nil means math/rand/v2.Float64.
	random func() float64
	// perRound is the number of attempts in a round: the number of URLs.
	// Zero means 1.
	perRound int
	attempt  int
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	ceiling := b.ceiling()
	b.attempt++
	r := rand.Float64
	if b.random != nil {
		r = b.random
	}
	return time.Duration(r() * float64(ceiling))
}

// ceiling is the upper bound of the current attempt's delay.
func (b *backoff) ceiling() time.Duration {
	c := b.min
	for i := 0; i < b.rounds() && c < b.max; i++ {
		c *= 2 // doubling step by step cannot overflow: it stops at max
	}
	return min(c, b.max)
}

// rounds is the number of whole rounds of attempts counted since the last
// reset.
func (b *backoff) rounds() int { return b.attempt / max(b.perRound, 1) }

// reset starts over from the first attempt, after a connection proved stable.
func (b *backoff) reset() { b.attempt = 0 }

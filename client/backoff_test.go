package client

import (
	"testing"
	"time"
)

// fixedRandom returns the given values in turn, then repeats the last.
func fixedRandom(values ...float64) func() float64 {
	return func() float64 {
		v := values[0]
		if len(values) > 1 {
			values = values[1:]
		}
		return v
	}
}

func TestBackoffCeilingDoublesUpToMax(t *testing.T) {
	b := backoff{min: 500 * time.Millisecond, max: 20 * time.Second, random: fixedRandom(0.999999999)}
	want := []time.Duration{
		500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 20 * time.Second, 20 * time.Second,
	}
	for i, ceiling := range want {
		got := b.next()
		if got >= ceiling || got < ceiling-time.Millisecond {
			t.Fatalf("attempt %d: delay %v, want just under %v", i+1, got, ceiling)
		}
	}
}

func TestBackoffFullJitterSpansZeroToCeiling(t *testing.T) {
	b := backoff{min: time.Second, max: time.Minute, random: fixedRandom(0, 0.5, 0.25)}
	if d := b.next(); d != 0 {
		t.Fatalf("random 0: delay %v, want 0", d)
	}
	if d := b.next(); d != time.Second { // ceiling 2s × 0.5
		t.Fatalf("random 0.5 at attempt 2: delay %v, want 1s", d)
	}
	if d := b.next(); d != time.Second { // ceiling 4s × 0.25
		t.Fatalf("random 0.25 at attempt 3: delay %v, want 1s", d)
	}
}

func TestBackoffResetStartsOver(t *testing.T) {
	b := backoff{min: time.Second, max: time.Minute, random: fixedRandom(0.5)}
	for range 5 {
		b.next()
	}
	b.reset()
	if d := b.next(); d != 500*time.Millisecond {
		t.Fatalf("after reset: delay %v, want 500ms", d)
	}
}

func TestBackoffManyAttemptsStayBounded(t *testing.T) {
	b := backoff{min: time.Nanosecond, max: 20 * time.Second}
	for i := range 10000 {
		if d := b.next(); d < 0 || d >= 20*time.Second {
			t.Fatalf("attempt %d: delay %v out of [0, 20s)", i+1, d)
		}
	}
}

func TestBackoffRealRandomIsWithinCeiling(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	for range 1000 {
		c := b.ceiling()
		if d := b.next(); d < 0 || d >= c {
			t.Fatalf("delay %v outside [0, %v)", d, c)
		}
	}
}

func TestBackoffCeilingGrowsOncePerRound(t *testing.T) {
	b := backoff{min: time.Second, max: 4 * time.Second, random: fixedRandom(0.5), perRound: 3}
	want := []time.Duration{ // half of 1s, 1s, 1s, 2s, 2s, 2s, 4s…
		500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond,
		time.Second, time.Second, time.Second,
		2 * time.Second, 2 * time.Second, 2 * time.Second,
		2 * time.Second,
	}
	for i, w := range want {
		if d := b.next(); d != w {
			t.Fatalf("attempt %d: delay %v, want %v", i+1, d, w)
		}
	}
}

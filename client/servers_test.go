package client

import (
	"testing"
	"time"
)

func TestServersStartAtTheRandomIndex(t *testing.T) {
	urls := []string{"a", "b", "c"}
	for _, tc := range []struct {
		r    float64
		want int
	}{{0, 0}, {0.34, 1}, {0.999999, 2}} {
		s := newServers(urls, fixedRandom(tc.r))
		if i, _ := s.pick(time.Time{}, -1); i != tc.want {
			t.Errorf("random %v: first URL %d, want %d", tc.r, i, tc.want)
		}
	}
}

func TestServersRotateSkipHeldAndAvoid(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newServers([]string{"a", "b", "c"}, fixedRandom(0))
	pick := func(avoid int) (int, time.Duration) {
		i, free := s.pick(now, avoid)
		return i, free.Sub(now)
	}

	s.tried(0, 0, now)
	if i, wait := pick(-1); i != 1 || wait != 0 {
		t.Fatalf("after a fails: %d after %v, want b at once", i, wait)
	}
	s.tried(1, 5*time.Second, now) // b asks for 5s
	s.tried(2, 0, now)
	if i, _ := pick(-1); i != 0 {
		t.Fatalf("after c fails: %d, want a", i)
	}
	s.tried(0, 0, now)
	if i, wait := pick(-1); i != 2 || wait != 0 {
		t.Fatalf("b held: %d after %v, want c at once", i, wait)
	}
	if i, wait := pick(2); i != 0 || wait != 0 {
		t.Fatalf("b held, c avoided: %d after %v, want a at once", i, wait)
	}

	s.tried(0, 9*time.Second, now)
	s.tried(2, 7*time.Second, now)
	if i, wait := pick(-1); i != 1 || wait != 5*time.Second {
		t.Fatalf("all held: %d after %v, want b, the first free, after 5s", i, wait)
	}
	if i, wait := pick(1); i != 2 || wait != 7*time.Second {
		t.Fatalf("all held, b avoided: %d after %v, want c after 7s", i, wait)
	}
	now = now.Add(5 * time.Second)
	if i, wait := pick(-1); i != 1 || wait != 0 {
		t.Fatalf("b's hold over: %d after %v, want b at once", i, wait)
	}
}

func TestServersOneURLIsNeverAvoided(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newServers([]string{"lb"}, fixedRandom(0.7))
	s.tried(0, 2*time.Second, now)
	if i, free := s.pick(now, 0); i != 0 || free.Sub(now) != 2*time.Second {
		t.Fatalf("pick = %d after %v, want the only URL after its 2s hint", i, free.Sub(now))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{"120", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999999", 0},
		{"Fri, 02 Jan 2026 03:04:15 GMT", 10 * time.Second},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0}, // passed
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

package gateway

import (
	"testing"
	"time"
)

// Drain closes the first connection at once and the others evenly over the
// spread, however few or many there are.
func TestDrainSpreadsCloses(t *testing.T) {
	const spread = time.Second
	for _, c := range []struct {
		n       int
		elapsed time.Duration
		want    int
	}{
		{3, 0, 1}, {3, 499 * time.Millisecond, 1}, {3, 500 * time.Millisecond, 2}, {3, 999 * time.Millisecond, 2}, {3, spread, 3},
		{1001, 0, 1}, {1001, 10 * time.Millisecond, 11}, {1001, 500 * time.Millisecond, 501}, {1001, 2 * spread, 1001},
		{0, 0, 0}, {5, time.Hour, 5},
	} {
		if got := drainDue(c.n, spread, c.elapsed); got != c.want {
			t.Errorf("%d connections, %s into a %s drain: %d closed, want %d", c.n, c.elapsed, spread, got, c.want)
		}
	}
	if got := drainDue(7, 0, 0); got != 7 {
		t.Errorf("no spread: %d closed at once, want all 7", got)
	}
}

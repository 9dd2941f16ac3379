package gateway

import (
	"context"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// drainTick is how often Drain closes the connections whose turn came.
const drainTick = 10 * time.Millisecond

// Drain refuses new connections and closes existing ones with 4000, spread
// evenly over spread so that viewers do not all come back at once: the
// i-th of n connections is closed about i×spread/n after the start. It
// returns when every connection is closed or ctx ends.
func (g *Gateway) Drain(ctx context.Context, spread time.Duration) error {
	g.draining.Store(true)
	all := g.fanout.snapshot()
	t := time.NewTicker(drainTick)
	defer t.Stop()
	start := time.Now()
	for closed := 0; closed < len(all); {
		for due := drainDue(len(all), spread, time.Since(start)); closed < due; closed++ {
			all[closed].close(protocol.CloseDraining, "server draining; reconnect")
		}
		if closed == len(all) {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for g.conns.Load() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// drainDue is how many of n connections should be closed after elapsed of
// a drain spread over spread: the first at once, the rest evenly.
func drainDue(n int, spread, elapsed time.Duration) int {
	if spread <= 0 || elapsed >= spread {
		return n
	}
	return min(n, 1+int(int64(n-1)*int64(elapsed)/int64(spread)))
}

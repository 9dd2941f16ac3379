package gateway

import (
	"context"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// Drain refuses new connections and closes existing ones with 4000, spread
// evenly over spread so that viewers do not all come back at once. It returns
// when every connection is closed or ctx ends.
func (g *Gateway) Drain(ctx context.Context, spread time.Duration) error {
	g.draining.Store(true)
	all := g.fanout.snapshot()
	const tick = 10 * time.Millisecond
	perTick := len(all)
	if steps := int(spread / tick); steps > 1 {
		perTick = (len(all) + steps - 1) / steps
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for len(all) > 0 {
		n := min(perTick, len(all))
		for _, c := range all[:n] {
			c.close(protocol.CloseDraining, "server draining; reconnect")
		}
		all = all[n:]
		if len(all) == 0 {
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

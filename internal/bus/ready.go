package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNotReady wraps the reason Ready gives.
var ErrNotReady = errors.New("bus: not ready")

// readyFor is how long a Ready answer is reused: a load balancer's health
// checks every second or so cost at most one stream lookup each.
var readyFor = time.Second

// readiness caches the last Ready answer.
type readiness struct {
	mu  sync.Mutex // guards at and err
	at  time.Time
	err error
}

// Ready reports whether the node can store and read history now: connected
// to NATS, and every history stream answering for itself. A clustered
// JetStream that is electing a stream's leader (after a node died, say)
// answers no stream lookups meanwhile, and the node is not ready until it
// does. The answer is reused for readyFor.
func (b *Bus) Ready(ctx context.Context) error {
	if err := b.usable(); err != nil {
		return err
	}
	if !b.conn.IsConnected() {
		return fmt.Errorf("%w: not connected to NATS", ErrNotReady)
	}
	b.ready.mu.Lock()
	defer b.ready.mu.Unlock()
	if !b.ready.at.IsZero() && time.Since(b.ready.at) < readyFor {
		return b.ready.err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	b.ready.err = nil
	for i := range b.parts {
		if _, err := b.js.Stream(ctx, b.parts[i].stream); err != nil {
			b.ready.err = fmt.Errorf("%w: history stream %s: %w", ErrNotReady, b.parts[i].stream, err)
			break
		}
	}
	b.ready.at = time.Now()
	return b.ready.err
}

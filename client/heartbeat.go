package client

import (
	"context"
	"time"
)

// heartbeat sends ping every interval and returns ErrHeartbeatTimeout once
// nothing has arrived on activity for interval+timeout. It returns nil when
// ctx ends. The read loop signals activity for every frame it reads and every
// event it delivers, so a consumer that is merely slow does not look like a
// dead server.
//
// Browsers cannot send WebSocket pings, so the protocol uses an application
// ping; it doubles as the traffic that keeps the server's idle timer quiet.
// It uses only the time package, so testing/synctest's fake clock drives it.
func heartbeat(ctx context.Context, interval, timeout time.Duration, activity <-chan struct{}, ping func()) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	silence := time.NewTimer(interval + timeout)
	defer silence.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-activity:
			silence.Reset(interval + timeout)
		case <-tick.C:
			ping()
		case <-silence.C:
			return ErrHeartbeatTimeout
		}
	}
}

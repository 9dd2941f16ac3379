// Package ticker runs the periodic loops of the nodes' cluster-wide reports
// (presence, relay heartbeats, node stats): one function, called every
// interval until a stop channel closes.
package ticker

import "time"

// Every calls fn with the tick's time every d until stop is closed; it
// returns then, after the call in progress if any. The caller runs it on
// the goroutine it owns.
func Every(stop <-chan struct{}, d time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

//go:build race

package gateway

import "sync/atomic"

// nbio hands a connection from its accept goroutine to a poller through
// epoll, a happens-before edge the race detector cannot see, so it reports
// nbio's own setup writes as racing with the first read. In race builds the
// gateway adds a visible edge: a release when nbio registers the connection
// and an acquire before each read is handled. Normal builds compile these to
// nothing.
var raceEdge atomic.Uint64

func raceRelease() { raceEdge.Add(1) }
func raceAcquire() { raceEdge.Load() }

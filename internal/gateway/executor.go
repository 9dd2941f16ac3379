package gateway

import (
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// executor runs nbio's callbacks (HTTP requests, upgrades, WebSocket
// messages, closes) for the engine. nbio's own pool starts a goroutine per
// callback whenever none is queued and lets it end as soon as the queue is
// empty, so under a steady flow of requests nearly every callback ran on a
// new goroutine and grew a fresh stack: 6% of the server's CPU at 8,500 API
// requests a second, 10% in a connect storm. Here a goroutine waits
// executorIdle for its next callback before it ends, so a busy engine keeps
// a set of goroutines with grown stacks, and an idle one keeps none.
//
// Callbacks may block (an API request waits for the store), so the pool
// grows on demand up to max goroutines; past that, Go waits for one to take
// the callback, as nbio's pool does once its queue is full.
type executor struct {
	tasks chan func() // unbuffered: a send succeeds only into a waiting goroutine
	stop  chan struct{}
	n     atomic.Int64 // goroutines running or waiting
	max   int64
	log   *slog.Logger
	wg    sync.WaitGroup
}

// executorIdle is how long an executor goroutine waits for its next
// callback before it ends.
const executorIdle = 2 * time.Second

func newExecutor(max int, log *slog.Logger) *executor {
	return &executor{tasks: make(chan func()), stop: make(chan struct{}), max: int64(max), log: log}
}

// Go runs f on a waiting goroutine, a new one, or, with max running, the
// first to finish.
func (e *executor) Go(f func()) {
	select {
	case e.tasks <- f:
		return
	default:
	}
	if e.n.Add(1) <= e.max {
		e.wg.Go(func() { e.run(f) })
		return
	}
	e.n.Add(-1)
	select {
	case e.tasks <- f:
	case <-e.stop:
	}
}

func (e *executor) run(f func()) {
	defer e.n.Add(-1)
	idle := time.NewTimer(executorIdle)
	defer idle.Stop()
	for {
		e.call(f)
		idle.Reset(executorIdle)
		select {
		case f = <-e.tasks:
		case <-idle.C:
			return
		case <-e.stop:
			return
		}
	}
}

// call runs f, logging a panic instead of ending the process, as nbio's
// pool does.
func (e *executor) call(f func()) {
	defer func() {
		if err := recover(); err != nil {
			e.log.Error("callback panicked", "err", err, "stack", string(debug.Stack()))
		}
	}()
	f()
}

// close ends the waiting goroutines and waits for the running ones to
// finish their callback. Call it once the engine is stopped.
func (e *executor) close() {
	close(e.stop)
	e.wg.Wait()
}

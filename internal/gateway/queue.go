package gateway

import "sync"

// taskQueue is a bucket's FIFO of tasks. push never blocks: a room queues
// its frames while holding its lock, and a bucket finishing a room's frame
// takes that lock to flush the room's next batch, so a queue that could
// block would deadlock the two.
//
// It is bounded by what feeds it rather than by a capacity: a room has one
// flush in flight at a time (its next batch waits until every bucket has
// written the previous one, see doc.go), online frames come at most once per
// OnlineInterval per room, joins and leaves are bounded by the connections'
// message rate, and broadcasts and user pushes by the API's callers. A
// bucket that falls behind therefore makes its rooms' batches bigger, not
// its queue longer.
type taskQueue struct {
	mu    sync.Mutex // guards tasks; a leaf: nothing is taken while holding it
	tasks []task

	// ready holds a token while tasks may be non-empty.
	ready chan struct{}
}

func newTaskQueue() taskQueue { return taskQueue{ready: make(chan struct{}, 1)} }

func (q *taskQueue) push(t task) {
	q.mu.Lock()
	q.tasks = append(q.tasks, t)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // a token is already there
	}
}

// takeAll returns every queued task, handing spare (emptied) back to the
// queue as its next buffer, so that a busy bucket allocates no new slices.
func (q *taskQueue) takeAll(spare []task) []task {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.tasks
	q.tasks = spare[:0]
	return out
}

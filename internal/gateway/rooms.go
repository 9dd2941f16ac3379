package gateway

import (
	"context"
	"sync"
	"time"
)

// roomTable holds the rooms that have viewers on this gateway. A room is
// created and loaded for its first viewer and closed after its last.
type roomTable struct {
	env *roomEnv

	mu    sync.Mutex // guards rooms and the rooms' viewer counts; never held with room.mu
	rooms map[string]*room
}

func newRoomTable(env *roomEnv) *roomTable {
	return &roomTable{env: env, rooms: make(map[string]*room)}
}

// loadTimeout bounds reading a new room's recent history.
const loadTimeout = 10 * time.Second

// acquire returns the room for a new viewer in bucket b, creating and
// loading it for its first viewer. The viewer counts by bucket change here,
// before the join is queued, so that every flush after the join reaches b.
func (t *roomTable) acquire(name string, b *bucket) *room {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.rooms[name]
	if r == nil || r.failed() {
		// A room whose load failed stays with the viewers that hold it
		// until they leave; a new viewer gets a room that loads anew.
		if r != nil {
			r.replaced = true
		}
		r = newRoom(name, t.env)
		t.rooms[name] = r
		t.env.metrics.Rooms.Inc()
		t.env.workers.Go(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, loadTimeout)
			defer cancel()
			r.load(ctx)
		})
	}
	r.viewers.Add(1)
	r.viewersIn[b.index].Add(1)
	return r
}

// release drops a viewer in bucket b and closes the room after its last.
func (t *roomTable) release(r *room, b *bucket) {
	t.mu.Lock()
	r.viewersIn[b.index].Add(-1)
	// A room that failed to load may have been replaced in the table
	// already; it is closed all the same. (After closeAll, rooms are in
	// neither state: they are closed already.)
	last := r.viewers.Add(-1) == 0 && (t.rooms[r.name] == r || r.replaced)
	if last {
		if t.rooms[r.name] == r {
			delete(t.rooms, r.name)
		}
		t.env.metrics.Rooms.Dec()
	}
	t.mu.Unlock()
	if last {
		r.close()
	}
}

// online is the number of viewers of the named room on this gateway.
func (t *roomTable) online(name string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.rooms[name]; r != nil {
		return r.viewers.Load()
	}
	return 0
}

// counts returns every room's viewers.
func (t *roomTable) counts() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.rooms))
	for name, r := range t.rooms {
		out[name] = r.viewers.Load()
	}
	return out
}

// each calls fn for every room, outside the table's lock.
func (t *roomTable) each(fn func(*room)) {
	t.mu.Lock()
	rooms := make([]*room, 0, len(t.rooms))
	for _, r := range t.rooms {
		rooms = append(rooms, r)
	}
	t.mu.Unlock()
	for _, r := range rooms {
		fn(r)
	}
}

// closeAll closes every room; used when the gateway stops.
func (t *roomTable) closeAll() {
	t.mu.Lock()
	rooms := t.rooms
	t.rooms = map[string]*room{}
	t.mu.Unlock()
	for _, r := range rooms {
		r.close()
	}
}

package gateway

import "sync"

// connIndex is a bucket's connection index: every connection, and the
// connections of each user for push-to-user.
type connIndex struct {
	mu    sync.Mutex // guards the maps below
	conns map[*conn]struct{}
	users map[string]map[*conn]struct{}
}

func newConnIndex() connIndex {
	return connIndex{conns: make(map[*conn]struct{}), users: make(map[string]map[*conn]struct{})}
}

func (x *connIndex) add(c *conn) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.conns[c] = struct{}{}
	set := x.users[c.userKey]
	if set == nil {
		set = make(map[*conn]struct{})
		x.users[c.userKey] = set
	}
	set[c] = struct{}{}
}

func (x *connIndex) remove(c *conn) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.conns, c)
	if set := x.users[c.userKey]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(x.users, c.userKey)
		}
	}
}

// rekey moves c to another user key (after auth).
func (x *connIndex) rekey(c *conn, key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if set := x.users[c.userKey]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(x.users, c.userKey)
		}
	}
	c.userKey = key
	set := x.users[key]
	if set == nil {
		set = make(map[*conn]struct{})
		x.users[key] = set
	}
	set[c] = struct{}{}
}

// snapshot copies the connection list so that writes happen without the lock.
func (x *connIndex) snapshot() []*conn {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]*conn, 0, len(x.conns))
	for c := range x.conns {
		out = append(out, c)
	}
	return out
}

func (x *connIndex) user(key string) []*conn {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]*conn, 0, len(x.users[key]))
	for c := range x.users[key] {
		out = append(out, c)
	}
	return out
}

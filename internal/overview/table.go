package overview

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/ticker"
)

// maxNodes bounds a table: far more nodes than a cluster runs, so that
// forged node ids cannot grow it without end.
const maxNodes = 4096

// Table samples this node's figures, publishes them, and (with Collect)
// keeps every node's latest snapshot.
type Table struct {
	cfg        Config
	sub        *nats.Subscription
	startedAt  time.Time
	messagesIn string // the family MessagesInPerSec comes from

	// Owned by the loop (and by Start before the loop runs).
	last  reading
	rooms roomSampler

	mu    sync.Mutex // guards the fields below; a leaf
	addr  string
	nodes map[string]*entry // by node id, this node's included

	stop chan struct{}
	done chan struct{} // closed when the loop returned
	once sync.Once
}

// entry is the latest snapshot of one node.
type entry struct {
	node  Node
	rooms []RoomRate
}

// Start takes the node's first sample, publishes it, subscribes to the
// others' snapshots if Collect is set, and starts the loop.
func Start(cfg Config) (*Table, error) {
	t, err := newTable(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Collect {
		if t.sub, err = cfg.Conn.Subscribe(subjectAll, t.onMsg); err != nil {
			return nil, fmt.Errorf("overview: subscribe: %w", err)
		}
	}
	t.run()
	return t, nil
}

func newTable(cfg Config) (*Table, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Table{
		cfg:        cfg,
		startedAt:  time.Now().UTC(),
		messagesIn: metrics.NameMessagesIn,
		rooms:      roomSampler{each: cfg.Rooms, maxRooms: cfg.MaxRooms},
		addr:       cfg.Addr,
		nodes:      make(map[string]*entry),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if cfg.Role == RoleGateway {
		t.messagesIn = metrics.NameMessagesOut
	}
	return t, nil
}

// run publishes the first sample and starts the loop. (The tests of the
// loop run it in a synctest bubble without the subscription, whose NATS
// goroutines live outside.)
func (t *Table) run() {
	t.last = t.gather(t.startedAt)
	t.publish(t.snapshot(figures(t.last, t.last), t.rooms.sample(0)), t.startedAt)
	go func() { defer close(t.done); t.loop() }()
}

// Node is this node's id.
func (t *Table) Node() string { return t.cfg.Node }

// SetAddr sets the listen address the node's snapshots show, from the
// next one on (and in this node's table at once).
func (t *Table) SetAddr(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addr = addr
	if e := t.nodes[t.cfg.Node]; e != nil {
		e.node.Addr = addr
	}
}

func (t *Table) loop() { ticker.Every(t.stop, t.cfg.Interval, t.tick) }

// tick samples, publishes and expires.
func (t *Table) tick(now time.Time) {
	cur := t.gather(now)
	rooms := t.rooms.sample(now.Sub(t.last.at).Seconds())
	s := t.snapshot(figures(t.last, cur), rooms)
	t.last = cur
	t.publish(s, now)
	t.expire(now)
}

func (t *Table) gather(now time.Time) reading {
	families, err := t.cfg.Registry.Gather()
	if err != nil {
		// Gather returns what it could collect beside the error.
		t.cfg.Logger.Warn("stats: gathering metrics", "err", err)
	}
	return read(families, t.messagesIn, now)
}

func (t *Table) snapshot(f Figures, rooms []RoomRate) snapshot {
	t.mu.Lock()
	addr := t.addr
	t.mu.Unlock()
	return snapshot{
		Node: Node{
			ID: t.cfg.Node, Role: t.cfg.Role, Addr: addr, Version: t.cfg.Version,
			StartedAt: t.startedAt, Figures: f, NATSConnected: t.cfg.Conn.IsConnected(),
		},
		RoomRates: rooms,
	}
}

// publish sends s and, with Collect, puts it in the table as seen at now.
func (t *Table) publish(s snapshot, now time.Time) {
	if t.cfg.Collect {
		t.put(s, now)
	}
	data, err := json.Marshal(s)
	if err == nil {
		err = t.cfg.Conn.Publish(subjectPrefix+t.cfg.Node, data)
	}
	if err != nil {
		t.cfg.Logger.Warn("stats snapshot not sent", "err", err)
	}
}

func (t *Table) onMsg(m *nats.Msg) { t.receive(m.Subject, m.Data) }

// receive applies one snapshot from the bus.
func (t *Table) receive(subject string, data []byte) {
	s, err := parseSnapshot(subject, data)
	if err != nil {
		t.cfg.Logger.Warn("stats snapshot ignored", "subject", subject, "err", err)
		return
	}
	if s.ID == t.cfg.Node {
		return // our own, already in the table
	}
	if s.Bye {
		t.mu.Lock()
		delete(t.nodes, s.ID)
		t.mu.Unlock()
		return
	}
	t.put(s, time.Now())
}

func (t *Table) put(s snapshot, now time.Time) {
	s.SeenAt = now.UTC()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nodes[s.ID] == nil && len(t.nodes) >= maxNodes {
		t.cfg.Logger.Warn("stats snapshot ignored: too many nodes", "node", s.ID, "nodes", len(t.nodes))
		return
	}
	t.nodes[s.ID] = &entry{node: s.Node, rooms: s.RoomRates}
}

func (t *Table) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, e := range t.nodes {
		if now.Sub(e.node.SeenAt) > t.cfg.Expiry {
			t.cfg.Logger.Info("node stopped sending stats; it leaves the overview", "node", id)
			delete(t.nodes, id)
		}
	}
}

// Close stops the loop, stops listening, and says goodbye so that the
// other nodes drop this one at once.
func (t *Table) Close() {
	t.once.Do(func() {
		close(t.stop)
		<-t.done
		if t.sub != nil {
			_ = t.sub.Unsubscribe()
		}
		data, _ := json.Marshal(snapshot{Node: Node{ID: t.cfg.Node}, Bye: true})
		if err := t.cfg.Conn.Publish(subjectPrefix+t.cfg.Node, data); err != nil {
			t.cfg.Logger.Warn("stats goodbye not sent", "err", err)
		}
	})
}

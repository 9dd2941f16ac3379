package presence

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/danmaku/danmaku/internal/defaults"
	"github.com/danmaku/danmaku/internal/ticker"
)

// Config configures a Table. Zero values mean the defaults named.
type Config struct {
	// Conn is the node's NATS connection. Required.
	Conn *nats.Conn
	// Node names this node's reports; "" picks a random id. A restarted
	// gateway should report under a new id: the old one expires.
	Node string
	// Local returns this node's viewer count of every room it holds. nil
	// means the node holds no viewers (a logic node): it only listens.
	Local func() map[string]int64
	// ReportInterval is how often a gateway reports its changes. 0 means
	// 500ms.
	ReportInterval time.Duration
	// Expiry drops a gateway not heard from for this long. 0 means 10s.
	Expiry time.Duration
	// SnapshotTimeout bounds fetching a gateway's snapshot. 0 means 2s.
	SnapshotTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Defaults of Config's zero fields.
const (
	DefaultReportInterval  = 500 * time.Millisecond
	DefaultExpiry          = 10 * time.Second
	DefaultSnapshotTimeout = 2 * time.Second
)

// Table holds the viewer counts that the other gateways report, and
// reports this node's own.
type Table struct {
	cfg  Config
	subs []*nats.Subscription

	mu       sync.Mutex // guards the fields below
	nodes    map[string]*remote
	totals   map[string]int64 // per room, the sum over nodes
	reported map[string]int64 // this node's counts as last reported
	seq      uint64           // this node's last report

	stop    chan struct{}
	workers sync.WaitGroup // the report loop and snapshot fetches
	once    sync.Once
}

// remote is what one other gateway reported.
type remote struct {
	seq     uint64
	seen    time.Time
	rooms   map[string]int64
	syncing bool     // a snapshot is on its way
	waiting []report // reports that came while syncing
}

// Start subscribes to the reports and, if Local is set, starts reporting.
func Start(cfg Config) (*Table, error) {
	if cfg.Conn == nil {
		return nil, errors.New("presence: Config.Conn is required")
	}
	err := errors.Join(
		defaults.Positive("ReportInterval", &cfg.ReportInterval, DefaultReportInterval),
		defaults.Positive("Expiry", &cfg.Expiry, DefaultExpiry),
		defaults.Positive("SnapshotTimeout", &cfg.SnapshotTimeout, DefaultSnapshotTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	defaults.Or(&cfg.Node, nuid.Next())
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Table{
		cfg:      cfg,
		nodes:    make(map[string]*remote),
		totals:   make(map[string]int64),
		reported: make(map[string]int64),
		stop:     make(chan struct{}),
	}
	sub, err := cfg.Conn.Subscribe(reportSubject, t.onReport)
	if err != nil {
		return nil, fmt.Errorf("presence: subscribe: %w", err)
	}
	t.subs = append(t.subs, sub)
	if cfg.Local != nil {
		sub, err := cfg.Conn.Subscribe(snapshotSubject+cfg.Node, t.onSnapshotRequest)
		if err != nil {
			t.unsubscribe()
			return nil, fmt.Errorf("presence: subscribe: %w", err)
		}
		t.subs = append(t.subs, sub)
	}
	t.workers.Add(1)
	go func() { defer t.workers.Done(); t.loop() }()
	return t, nil
}

// Node is this node's id in the reports.
func (t *Table) Node() string { return t.cfg.Node }

// Remote is the room's viewers on the other gateways, as last reported.
func (t *Table) Remote(room string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.totals[room]
}

// Nodes is the number of other gateways currently counted.
func (t *Table) Nodes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.nodes)
}

func (t *Table) loop() {
	ticker.Every(t.stop, t.cfg.ReportInterval, func(now time.Time) {
		if t.cfg.Local != nil {
			t.report(t.cfg.Local())
		}
		t.expire(now)
	})
}

// report publishes what changed since the previous report.
func (t *Table) report(current map[string]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := make(map[string]int64)
	for room, n := range current {
		if n > 0 && t.reported[room] != n {
			changed[room] = n
		}
	}
	for room := range t.reported {
		if current[room] <= 0 {
			changed[room] = 0
			delete(t.reported, room)
		}
	}
	for room, n := range changed {
		if n > 0 {
			t.reported[room] = n
		}
	}
	t.seq++
	// Published under the lock, so that a snapshot never runs ahead of the
	// reports: the connection buffers it, this does not wait.
	t.publish(report{Node: t.cfg.Node, Seq: t.seq, Rooms: changed})
}

func (t *Table) publish(r report) {
	data, err := json.Marshal(r)
	if err == nil {
		err = t.cfg.Conn.Publish(reportSubject, data)
	}
	if err != nil {
		t.cfg.Logger.Warn("online report not sent", "err", err)
	}
}

func (t *Table) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, n := range t.nodes {
		if now.Sub(n.seen) > t.cfg.Expiry {
			t.cfg.Logger.Info("gateway stopped reporting; its viewers leave the counts", "node", id)
			t.setRoomsLocked(n, nil)
			delete(t.nodes, id)
		}
	}
}

func (t *Table) onReport(m *nats.Msg) {
	r, ok := parseReport(m.Data)
	if !ok || r.Node == t.cfg.Node {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.nodes[r.Node]
	if n == nil {
		n = &remote{rooms: make(map[string]int64)}
		t.nodes[r.Node] = n
	}
	n.seen = time.Now()
	switch {
	case n.syncing:
		n.waiting = append(n.waiting, r)
	case r.Seq <= n.seq:
		// old news
	case r.Seq == n.seq+1 && n.seq != 0:
		t.applyLocked(n, r)
	default:
		// First sight of the node, or a report was missed.
		n.syncing = true
		n.waiting = append(n.waiting[:0], r)
		node := r.Node
		t.workers.Add(1)
		go func() { defer t.workers.Done(); t.sync(node) }()
	}
}

// applyLocked applies one report's changes.
func (t *Table) applyLocked(n *remote, r report) {
	for room, c := range r.Rooms {
		t.totals[room] += c - n.rooms[room]
		if t.totals[room] <= 0 {
			delete(t.totals, room)
		}
		if c > 0 {
			n.rooms[room] = c
		} else {
			delete(n.rooms, room)
		}
	}
	n.seq = r.Seq
}

// setRoomsLocked replaces everything a node reported.
func (t *Table) setRoomsLocked(n *remote, rooms map[string]int64) {
	for room, c := range n.rooms {
		if t.totals[room] -= c; t.totals[room] <= 0 {
			delete(t.totals, room)
		}
	}
	n.rooms = make(map[string]int64, len(rooms))
	for room, c := range rooms {
		if c > 0 {
			n.rooms[room] = c
			t.totals[room] += c
		}
	}
}

// sync fetches a node's snapshot, then applies the reports that came
// meanwhile.
func (t *Table) sync(node string) {
	rooms, seq, err := t.fetchSnapshot(node)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.nodes[node]
	if n == nil {
		return // expired meanwhile
	}
	n.syncing = false
	waiting := n.waiting
	n.waiting = nil
	if err != nil {
		t.cfg.Logger.Warn("online snapshot not received; retrying with the next report", "node", node, "err", err)
		n.seq = 0
		return
	}
	t.setRoomsLocked(n, rooms)
	n.seq = seq
	for _, r := range waiting {
		if r.Seq == n.seq+1 {
			t.applyLocked(n, r)
		}
	}
}

func (t *Table) fetchSnapshot(node string) (map[string]int64, uint64, error) {
	inbox := t.cfg.Conn.NewRespInbox()
	sub, err := t.cfg.Conn.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := t.cfg.Conn.PublishRequest(snapshotSubject+node, inbox, nil); err != nil {
		return nil, 0, err
	}
	deadline := time.Now().Add(t.cfg.SnapshotTimeout)
	rooms := make(map[string]int64)
	got, seq := 0, uint64(0)
	for parts := 1; got < parts; {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return nil, 0, fmt.Errorf("snapshot of %s: %w", node, err)
		}
		r, ok := parseReport(m.Data)
		if !ok {
			return nil, 0, fmt.Errorf("snapshot of %s: malformed chunk", node)
		}
		if got > 0 && r.Seq != seq {
			return nil, 0, fmt.Errorf("snapshot of %s: chunks of reports %d and %d", node, seq, r.Seq)
		}
		seq, parts = r.Seq, max(r.Parts, 1)
		for room, c := range r.Rooms {
			rooms[room] = c
		}
		got++
	}
	return rooms, seq, nil
}

// onSnapshotRequest sends this node's reported counts to the asker, in
// chunks.
func (t *Table) onSnapshotRequest(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	t.mu.Lock()
	seq := t.seq
	var chunks []map[string]int64
	cur := make(map[string]int64)
	for room, c := range t.reported {
		if len(cur) == snapshotChunk {
			chunks = append(chunks, cur)
			cur = make(map[string]int64)
		}
		cur[room] = c
	}
	chunks = append(chunks, cur)
	t.mu.Unlock()
	for i, rooms := range chunks {
		data, err := json.Marshal(report{Node: t.cfg.Node, Seq: seq, Rooms: rooms, Part: i, Parts: len(chunks)})
		if err == nil {
			err = t.cfg.Conn.Publish(m.Reply, data)
		}
		if err != nil {
			t.cfg.Logger.Warn("online snapshot not sent", "err", err)
			return
		}
	}
}

func (t *Table) unsubscribe() {
	for _, s := range t.subs {
		_ = s.Unsubscribe()
	}
}

// Close stops reporting, tells the others that this node's viewers are
// gone, and waits for its goroutines.
func (t *Table) Close() {
	t.once.Do(func() {
		close(t.stop)
		t.unsubscribe()
		if t.cfg.Local != nil {
			t.report(nil) // every room to 0
		}
		t.workers.Wait()
	})
}

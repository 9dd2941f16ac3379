package overview

import (
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/natstest"
)

// openBus starts an embedded NATS server (outside any synctest bubble:
// its goroutines block on the network) and returns a connection factory.
func openBus(t *testing.T) func() *nats.Conn {
	t.Helper()
	b := natstest.Bus(t)
	return func() *nats.Conn { return natstest.Connect(t, b) }
}

// logBuffer collects a table's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// startInBubble is Start without the subscription, for a synctest bubble:
// the test hands the table its snapshots with receive.
func startInBubble(cfg Config) (*Table, error) {
	t, err := newTable(cfg)
	if err == nil {
		t.run()
	}
	return t, err
}

func own(t *testing.T, tb *Table) Node {
	t.Helper()
	for _, n := range tb.Nodes().Nodes {
		if n.ID == tb.Node() {
			return n
		}
	}
	t.Fatalf("the table lacks its own node %s", tb.Node())
	return Node{}
}

// Every Interval the node samples and its own entry shows the rates over
// that interval exactly, by the (fake) clock.
func TestEveryIntervalTheRatesOfThatInterval(t *testing.T) {
	connect := openBus(t)
	nc := connect()
	synctest.Test(t, func(t *testing.T) {
		m := metrics.New()
		rooms := map[string]uint64{"lobby": 0}
		var mu sync.Mutex
		tb, err := startInBubble(Config{Conn: nc, Registry: m.Registry, Role: RoleServe, Collect: true, Addr: "127.0.0.1:1",
			Rooms: func(fn func(string, int64, uint64)) {
				mu.Lock()
				defer mu.Unlock()
				for r, n := range rooms {
					fn(r, 3, n)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		first := own(t, tb) // published at Start, before any interval
		if first.DeliveriesPerSec != 0 || first.PublishToWriteP50Ms != nil || first.Addr != "127.0.0.1:1" || first.Role != RoleServe {
			t.Fatalf("first snapshot %+v", first)
		}
		m.Deliveries.Add(35)
		m.PublishToWrite.Observe(0.0015)
		mu.Lock()
		rooms["lobby"] = 8
		mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		n := own(t, tb)
		if n.DeliveriesPerSec != 35 || n.PublishToWriteP50Ms == nil {
			t.Fatalf("after one interval: %v deliveries/s, p50 %v", n.DeliveriesPerSec, deref(n.PublishToWriteP50Ms))
		}
		if r := tb.Rooms("", OrderOnline, 10); len(r.Rooms) != 1 || r.Rooms[0] != (RoomRate{"lobby", 3, 8}) {
			t.Fatalf("rooms %+v", r)
		}
		m.Deliveries.Add(10)
		time.Sleep(time.Second)
		synctest.Wait()
		if n := own(t, tb); n.DeliveriesPerSec != 10 || n.PublishToWriteP50Ms != nil {
			t.Fatalf("second interval: %v deliveries/s (want 10), p50 %v (want null)", n.DeliveriesPerSec, deref(n.PublishToWriteP50Ms))
		}
	})
}

func foreign(t *testing.T, id string) []byte {
	t.Helper()
	data, err := json.Marshal(snapshot{Node: Node{ID: id, Role: RoleGateway, Figures: Figures{Connections: 4}},
		RoomRates: []RoomRate{{"lobby", 4, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func has(tb *Table, id string) bool {
	for _, n := range tb.Nodes().Nodes {
		if n.ID == id {
			return true
		}
	}
	return false
}

// A node not heard from for Expiry leaves the table at the first tick
// after; one that says goodbye leaves at once.
func TestSilentNodesExpireAndGoodbyesLeaveAtOnce(t *testing.T) {
	connect := openBus(t)
	nc := connect()
	synctest.Test(t, func(t *testing.T) {
		tb, err := startInBubble(Config{Conn: nc, Registry: metrics.New().Registry, Role: RoleLogic, Collect: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		tb.receive("danmaku.stats.quiet", foreign(t, "quiet"))
		tb.receive("danmaku.stats.leaving", foreign(t, "leaving"))
		if !has(tb, "quiet") || !has(tb, "leaving") {
			t.Fatal("snapshots not kept")
		}
		tb.receive("danmaku.stats.leaving", []byte(`{"id":"leaving","bye":true}`))
		if has(tb, "leaving") {
			t.Fatal("a node that said goodbye is still listed")
		}
		time.Sleep(10 * time.Second) // exactly Expiry: still there
		synctest.Wait()
		if !has(tb, "quiet") {
			t.Fatal("dropped before Expiry")
		}
		if got := tb.Rooms("", OrderOnline, 10).Total; got != 1 {
			t.Fatalf("%d rooms, want the quiet node's lobby", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if has(tb, "quiet") {
			t.Fatal("still listed a second past Expiry")
		}
		if got := tb.Rooms("", OrderOnline, 10).Total; got != 0 {
			t.Fatalf("the expired node's rooms are still listed: %d", got)
		}
	})
}

// Nodes meet over NATS: a logic node's table lists a gateway with its
// rooms, ignores a forged snapshot with a warning, and drops the gateway
// at once when it closes.
func TestNodesMeetOverNATS(t *testing.T) {
	connect := openBus(t)
	var logs logBuffer
	reader, err := Start(Config{Conn: connect(), Registry: metrics.New().Registry, Role: RoleLogic, Collect: true,
		Interval: 20 * time.Millisecond, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	gm := metrics.New()
	gm.Connections.Add(2)
	gw, err := Start(Config{Conn: connect(), Registry: gm.Registry, Role: RoleGateway, Addr: "127.0.0.1:9", Version: "v1",
		Interval: 20 * time.Millisecond,
		Rooms:    func(fn func(string, int64, uint64)) { fn("lobby", 2, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.WaitFor(t, "the gateway in the logic node's table", 10*time.Second, func() bool { return has(reader, gw.Node()) })
	var g Node
	for _, n := range reader.Nodes().Nodes {
		if n.ID == gw.Node() {
			g = n
		}
	}
	if g.Role != RoleGateway || g.Addr != "127.0.0.1:9" || g.Version != "v1" || g.Connections != 2 || !g.NATSConnected || g.SeenAt.IsZero() {
		t.Fatalf("gateway as listed: %+v", g)
	}
	if r := reader.Rooms("lob", OrderOnline, 5); r.Total != 1 || r.Rooms[0].Online != 2 {
		t.Fatalf("rooms %+v", r)
	}
	forger := connect()
	if err := forger.Publish("danmaku.stats.evil", []byte(`{"id":"evil","role":"gateway","connections":-5}`)); err != nil {
		t.Fatal(err)
	}
	_ = forger.Flush()
	clustertest.WaitFor(t, "a warning about the forged snapshot", 10*time.Second, func() bool { return strings.Contains(logs.String(), "stats snapshot ignored") })
	if has(reader, "evil") {
		t.Fatal("a forged snapshot was kept")
	}
	gw.Close()
	began := time.Now()
	clustertest.WaitFor(t, "the closed gateway to leave", 10*time.Second, func() bool { return !has(reader, gw.Node()) })
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("the closed gateway left after %s; its goodbye should drop it at once", d)
	}
}

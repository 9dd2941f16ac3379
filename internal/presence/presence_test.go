package presence_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/internal/leaktest"
	"github.com/danmaku/danmaku/internal/natstest"
	"github.com/danmaku/danmaku/internal/presence"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// gateway is a fake room table: the counts a gateway would report.
type gateway struct {
	mu     sync.Mutex
	counts map[string]int64
}

func (g *gateway) set(room string, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n == 0 {
		delete(g.counts, room)
	} else {
		g.counts[room] = n
	}
}

func (g *gateway) local() map[string]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.counts)
}

const interval = 20 * time.Millisecond

func start(t *testing.T, conn *nats.Conn, g *gateway) *presence.Table {
	t.Helper()
	cfg := presence.Config{Conn: conn, ReportInterval: interval, Expiry: 300 * time.Millisecond}
	if g != nil {
		cfg.Local = g.local
	}
	tb, err := presence.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	return tb
}

// eventually polls until the table's remote count of room is want.
func eventually(t *testing.T, tb *presence.Table, room string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tb.Remote(room) != want {
		if time.Now().After(deadline) {
			t.Fatalf("remote count of %s = %d, want %d", room, tb.Remote(room), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCountsAddUpAcrossGateways(t *testing.T) {
	b := natstest.Bus(t)
	ga := &gateway{counts: map[string]int64{"lobby": 3, "a": 1}}
	gb := &gateway{counts: map[string]int64{"lobby": 2}}
	start(t, natstest.Connect(t, b), ga)
	tb := start(t, natstest.Connect(t, b), gb)
	reader := start(t, natstest.Connect(t, b), nil) // a logic node
	eventually(t, reader, "lobby", 5)
	eventually(t, reader, "a", 1)
	eventually(t, tb, "lobby", 3) // a gateway counts the others, not itself
	ga.set("lobby", 10)
	ga.set("a", 0)
	eventually(t, reader, "lobby", 12)
	eventually(t, reader, "a", 0)
}

// A node that starts late learns the counts from snapshots, including
// those that no longer change.
func TestLateNodeGetsSnapshots(t *testing.T) {
	b := natstest.Bus(t)
	g := &gateway{counts: map[string]int64{}}
	for i := range 40000 { // more rooms than one snapshot chunk holds
		g.counts[fmt.Sprintf("r%d", i)] = int64(i%7 + 1)
	}
	start(t, natstest.Connect(t, b), g)
	time.Sleep(5 * interval) // the counts were reported long before the reader starts
	reader := start(t, natstest.Connect(t, b), nil)
	eventually(t, reader, "r39999", 39999%7+1)
	eventually(t, reader, "r0", 1)
	eventually(t, reader, "r20000", 20000%7+1)
}

// A gateway that dies without a goodbye leaves the counts after Expiry; one
// that closes leaves them at once.
func TestGoneGatewaysLeaveTheCount(t *testing.T) {
	b := natstest.Bus(t)
	dyingConn := natstest.Connect(t, b)
	start(t, dyingConn, &gateway{counts: map[string]int64{"lobby": 4}})
	closing := start(t, natstest.Connect(t, b), &gateway{counts: map[string]int64{"lobby": 1}})
	reader := start(t, natstest.Connect(t, b), nil)
	eventually(t, reader, "lobby", 5)
	closing.Close()
	eventually(t, reader, "lobby", 4)
	dyingConn.Close()
	began := time.Now()
	eventually(t, reader, "lobby", 0)
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("the dead gateway left the count after %s; expiry is 300ms", d)
	}
}

// A report that skips a sequence number makes the reader resync from a
// snapshot instead of trusting a partial picture.
func TestMissedReportResyncs(t *testing.T) {
	b := natstest.Bus(t)
	g := &gateway{counts: map[string]int64{"lobby": 2}}
	tg := start(t, natstest.Connect(t, b), g)
	reader := start(t, natstest.Connect(t, b), nil)
	eventually(t, reader, "lobby", 2)
	// A forged report from the same node, far ahead: as if many were lost,
	// with a count that the gateway never had.
	forged, _ := json.Marshal(map[string]any{"node": tg.Node(), "seq": 1 << 40, "rooms": map[string]int64{"lobby": 99}})
	nc := natstest.Connect(t, b)
	if err := nc.Publish("danmaku.online", forged); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	time.Sleep(10 * interval)
	eventually(t, reader, "lobby", 2)
}

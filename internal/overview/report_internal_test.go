package overview

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// bareTable is a table to put snapshots in by hand, as receive does.
func bareTable() *Table {
	return &Table{cfg: Config{Node: "self", Expiry: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)}, nodes: map[string]*entry{}}
}

func p(v float64) *float64 { return &v }

// Totals sum the counts, rates and reasons, and take the highest of the
// quantiles.
func TestTotals(t *testing.T) {
	tb := bareTable()
	now := time.Now()
	tb.put(snapshot{Node: Node{ID: "a", Role: RoleGateway, Figures: Figures{
		Connections: 10, Rooms: 2, MessagesInPerSec: 3.5, DeliveriesPerSec: 35, BytesOutPerSec: 5000,
		PublishToWriteP50Ms: p(2.1), PublishToWriteP99Ms: p(9.8),
		Drops: map[string]uint64{"slow_consumer": 1}, Closes: map[string]uint64{"client": 3},
	}}}, now)
	tb.put(snapshot{Node: Node{ID: "b", Role: RoleGateway, Figures: Figures{
		Connections: 5, Rooms: 1, MessagesInPerSec: 1, DeliveriesPerSec: 5, BytesOutPerSec: 100,
		PublishToWriteP50Ms: p(4), PublishToWriteP99Ms: p(5),
		Drops: map[string]uint64{"slow_consumer": 2}, Closes: map[string]uint64{"client": 1, "drain": 7},
	}}}, now)
	tb.put(snapshot{Node: Node{ID: "c", Role: RoleLogic, Figures: Figures{MessagesInPerSec: 2}}}, now)
	r := tb.Nodes()
	got := r.Totals
	if got.Nodes != 3 || got.Connections != 15 || got.Rooms != 3 || got.MessagesInPerSec != 6.5 || got.DeliveriesPerSec != 40 || got.BytesOutPerSec != 5100 {
		t.Errorf("totals %+v", got)
	}
	if *got.PublishToWriteP50Ms != 4 || *got.PublishToWriteP99Ms != 9.8 {
		t.Errorf("quantiles %v, %v; want the highest, 4 and 9.8", *got.PublishToWriteP50Ms, *got.PublishToWriteP99Ms)
	}
	if fmt.Sprint(got.Drops) != "map[slow_consumer:3]" || fmt.Sprint(got.Closes) != "map[client:4 drain:7]" {
		t.Errorf("drops %v, closes %v", got.Drops, got.Closes)
	}
	if ids := []string{r.Nodes[0].ID, r.Nodes[1].ID, r.Nodes[2].ID}; fmt.Sprint(ids) != "[a b c]" {
		t.Errorf("nodes in order %v, want by id", ids)
	}
	// With no node reporting a latency, the totals' quantiles are null.
	empty := bareTable()
	empty.put(snapshot{Node: Node{ID: "c", Role: RoleLogic}}, now)
	data, _ := json.Marshal(empty.Nodes())
	if !strings.Contains(string(data), `"publishToWriteP50Ms":null,"publishToWriteP99Ms":null,"drops":{},"closes":{}}`) {
		t.Errorf("totals without latency: %s", data)
	}
}

// Rooms sums online over the gateways and takes the highest rate; q
// filters by substring regardless of case; total counts the matches
// before the limit.
func TestRoomsAcrossGateways(t *testing.T) {
	tb := bareTable()
	now := time.Now()
	tb.put(snapshot{Node: Node{ID: "g1", Role: RoleGateway}, RoomRates: []RoomRate{
		{"lobby", 100, 4.2}, {"Live:1", 7, 9}, {"quiet", 1, 0},
	}}, now)
	tb.put(snapshot{Node: Node{ID: "g2", Role: RoleGateway}, RoomRates: []RoomRate{
		{"lobby", 23, 4.0}, {"live:2", 50, 1},
	}}, now)
	check := func(q string, order Order, limit int, want string, total int) {
		t.Helper()
		got := tb.Rooms(q, order, limit)
		if s := fmt.Sprint(got.Rooms); s != want || got.Total != total {
			t.Errorf("Rooms(%q, %s, %d) = %s total %d; want %s total %d", q, order, limit, s, got.Total, want, total)
		}
	}
	check("", OrderOnline, 50, "[{lobby 123 4.2} {live:2 50 1} {Live:1 7 9} {quiet 1 0}]", 4)
	check("", OrderRate, 2, "[{Live:1 7 9} {lobby 123 4.2}]", 4)
	check("LIVE", OrderOnline, 50, "[{live:2 50 1} {Live:1 7 9}]", 2)
	check("nothing", OrderOnline, 50, "[]", 0)
	data, _ := json.Marshal(tb.Rooms("nothing", OrderOnline, 5))
	if string(data) != `{"rooms":[],"total":0}` {
		t.Errorf("no match: %s, want an empty list, not null", data)
	}
}

// A snapshot from the bus is refused whole, with a reason, when any part of
// it is out of range.
func TestParseSnapshotRefuses(t *testing.T) {
	good := `"id":"n1","role":"gateway","connections":1,"rooms":1,"messagesInPerSec":1,"deliveriesPerSec":1,"bytesOutPerSec":1`
	if _, err := parseSnapshot("danmaku.stats.n1", []byte("{"+good+`,"roomRates":[{"room":"lobby","online":1,"messagesPerSec":1}]}`)); err != nil {
		t.Fatalf("a good snapshot: %v", err)
	}
	for _, c := range []struct{ subject, data, says string }{
		{"danmaku.stats.n1", `not json`, "invalid character"},
		{"danmaku.stats.n1", `{"id":"","role":"gateway"}`, "node id"},
		{"danmaku.stats.a.b", `{"id":"a.b","role":"gateway"}`, "node id"},
		{"danmaku.stats.n2", "{" + good + "}", "published on danmaku.stats.n2"},
		{"danmaku.stats.n1", `{"id":"n1","role":"king"}`, "role"},
		{"danmaku.stats.n1", "{" + good + `,"connections":-1}`, "connections -1"},
		{"danmaku.stats.n1", "{" + good + `,"deliveriesPerSec":-0.5}`, "deliveriesPerSec"},
		{"danmaku.stats.n1", "{" + good + `,"bytesOutPerSec":1e300}`, "bytesOutPerSec"},
		{"danmaku.stats.n1", "{" + good + `,"publishToWriteP99Ms":-1}`, "publishToWriteP99Ms"},
		{"danmaku.stats.n1", "{" + good + `,"drops":{"Slow Consumer":1}}`, "drops: reason"},
		{"danmaku.stats.n1", "{" + good + `,"closes":{"client":9007199254740993}}`, "closes: reason"},
		{"danmaku.stats.n1", "{" + good + `,"roomRates":[{"room":"bad room","online":1}]}`, "not a room name"},
		{"danmaku.stats.n1", "{" + good + `,"roomRates":[{"room":"a","online":1},{"room":"a","online":2}]}`, "listed twice"},
		{"danmaku.stats.n1", "{" + good + `,"roomRates":[{"room":"a","online":-2}]}`, "out of range"},
		{"danmaku.stats.n1", "{" + good + `,"addr":"` + strings.Repeat("x", 300) + `"}`, "too long"},
		{"danmaku.stats.n1", "{" + good + `,"roomRates":[` + strings.Repeat(`{"room":"a"},`, maxRoomRates) + `{"room":"b"}]}`, "rooms; at most"},
	} {
		_, err := parseSnapshot(c.subject, []byte(c.data))
		if !errors.Is(err, errSnapshot) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%.80s: error %v, want one saying %q", c.data, err, c.says)
		}
	}
	// A goodbye needs only its node.
	if s, err := parseSnapshot("danmaku.stats.n1", []byte(`{"id":"n1","bye":true}`)); err != nil || !s.Bye {
		t.Errorf("goodbye: %+v, %v", s, err)
	}
}

// A table holds at most maxNodes nodes; a snapshot of one more is dropped
// with a warning, and known nodes still update.
func TestTableBound(t *testing.T) {
	var logs strings.Builder
	tb := bareTable()
	tb.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	now := time.Now()
	for i := range maxNodes {
		tb.put(snapshot{Node: Node{ID: fmt.Sprintf("n%d", i), Role: RoleGateway}}, now)
	}
	tb.put(snapshot{Node: Node{ID: "one-more", Role: RoleGateway}}, now)
	tb.put(snapshot{Node: Node{ID: "n0", Role: RoleGateway, Figures: Figures{Connections: 9}}}, now)
	r := tb.Nodes()
	if r.Totals.Nodes != maxNodes || r.Totals.Connections != 9 {
		t.Fatalf("%d nodes, %d connections; want %d and the update of n0", r.Totals.Nodes, r.Totals.Connections, maxNodes)
	}
	if !strings.Contains(logs.String(), "too many nodes") {
		t.Fatalf("no warning: %s", logs.String())
	}
}

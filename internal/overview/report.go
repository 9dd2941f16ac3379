package overview

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the answer of GET /v1/nodes: every node the table holds, by
// id, and their totals.
type Report struct {
	At     time.Time `json:"at"`
	Totals Totals    `json:"totals"`
	Nodes  []Node    `json:"nodes"`
}

// Totals add up the nodes' figures: Nodes counts them; connections, rooms,
// rates, drops and closes are summed; the latency quantiles are the
// highest of the nodes' (the worst node's, not a quantile of the
// cluster), nil if every node's is nil. A room with viewers on two
// gateways counts in both gateways' rooms, so Rooms sums them twice.
type Totals struct {
	Nodes int `json:"nodes"`
	Figures
}

// Nodes reports the latest snapshot of every node, at now.
func (t *Table) Nodes() Report {
	t.mu.Lock()
	nodes := make([]Node, 0, len(t.nodes))
	for _, e := range t.nodes {
		nodes = append(nodes, e.node)
	}
	t.mu.Unlock()
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return Report{At: time.Now().UTC(), Totals: totals(nodes), Nodes: nodes}
}

func totals(nodes []Node) Totals {
	t := Totals{Nodes: len(nodes), Figures: Figures{Drops: map[string]uint64{}, Closes: map[string]uint64{}}}
	for _, n := range nodes {
		t.Connections += n.Connections
		t.Rooms += n.Rooms
		t.MessagesInPerSec += n.MessagesInPerSec
		t.DeliveriesPerSec += n.DeliveriesPerSec
		t.BytesOutPerSec += n.BytesOutPerSec
		t.PublishToWriteP50Ms = maxOf(t.PublishToWriteP50Ms, n.PublishToWriteP50Ms)
		t.PublishToWriteP99Ms = maxOf(t.PublishToWriteP99Ms, n.PublishToWriteP99Ms)
		addReasons(t.Drops, n.Drops)
		addReasons(t.Closes, n.Closes)
	}
	t.MessagesInPerSec, t.DeliveriesPerSec, t.BytesOutPerSec = round(t.MessagesInPerSec), round(t.DeliveriesPerSec), round(t.BytesOutPerSec)
	return t
}

func maxOf(a, b *float64) *float64 {
	if a == nil || (b != nil && *b > *a) {
		return b
	}
	return a
}

func addReasons(into, from map[string]uint64) {
	for reason, n := range from {
		into[reason] += n
	}
}

// Order is how Rooms sorts: by viewers or by messages per second, the
// most first.
type Order string

const (
	OrderOnline Order = "online"
	OrderRate   Order = "rate"
)

// RoomList is the answer of GET /v1/rooms.
type RoomList struct {
	Rooms []RoomRate `json:"rooms"`
	// Total counts the rooms that matched, before the limit.
	Total int `json:"total"`
}

// Rooms lists the rooms of every node's latest snapshot whose name holds q
// (ignoring case; "" matches every room), sorted by order, at most limit
// of them. A room's online is the sum over the gateways, its
// messagesPerSec the highest of theirs: every gateway with viewers of a
// room receives every message of it.
func (t *Table) Rooms(q string, order Order, limit int) RoomList {
	q = strings.ToLower(q)
	merged := map[string]RoomRate{}
	t.mu.Lock()
	for _, e := range t.nodes {
		for _, r := range e.rooms {
			if !strings.Contains(strings.ToLower(r.Room), q) {
				continue
			}
			m := merged[r.Room]
			m.Room = r.Room
			m.Online += r.Online
			m.MessagesPerSec = max(m.MessagesPerSec, r.MessagesPerSec)
			merged[r.Room] = m
		}
	}
	t.mu.Unlock()
	rooms := slices.Collect(maps.Values(merged))
	sortRooms(rooms, order)
	out := RoomList{Rooms: rooms, Total: len(rooms)}
	if len(rooms) > limit {
		out.Rooms = rooms[:limit]
	}
	if out.Rooms == nil {
		out.Rooms = []RoomRate{}
	}
	return out
}

// sortRooms sorts by order, the most first, then by the other figure,
// then by name.
func sortRooms(rooms []RoomRate, order Order) {
	slices.SortFunc(rooms, func(a, b RoomRate) int {
		online, rate := cmp.Compare(b.Online, a.Online), cmp.Compare(b.MessagesPerSec, a.MessagesPerSec)
		if order == OrderRate {
			online, rate = rate, online
		}
		return cmp.Or(online, rate, strings.Compare(a.Room, b.Room))
	})
}

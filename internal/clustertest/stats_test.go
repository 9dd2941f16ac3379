package clustertest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/internal/overview"
)

// statsCluster is one nats-server, two gateways and two logic nodes.
func statsCluster(t *testing.T) (gateways, logics []*clustertest.Node) {
	t.Helper()
	nats := clustertest.StartNATS(t, 1)
	common := []string{"--nats-url", nats.URL(), "--user-id-key", clustertest.UserIDKey}
	gw := slices.Concat(common, []string{"--drain-timeout", "200ms"})
	lg := slices.Concat(common, []string{"--api-key", clustertest.APIKey})
	nodes := clustertest.StartNodes(t,
		clustertest.NodeSpec{Name: "gateway-0", Role: "gateway", Args: gw},
		clustertest.NodeSpec{Name: "gateway-1", Role: "gateway", Args: gw},
		clustertest.NodeSpec{Name: "logic-0", Role: "logic", Args: lg},
		clustertest.NodeSpec{Name: "logic-1", Role: "logic", Args: lg},
	)
	return nodes[:2], nodes[2:]
}

func getStats(t *testing.T, n *clustertest.Node, path string, into any) {
	t.Helper()
	status, body := n.Do(t, http.MethodGet, path, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s on %s: HTTP %d: %s", path, n.Name, status, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s on %s: %v", path, n.Name, err)
	}
}

// Every logic node lists every node of the cluster with its role and
// address; a room with viewers on two gateways is listed once with their
// sum, its rate the gateways' highest; a gateway that stops leaves the
// list at once.
func TestStatsAcrossTheCluster(t *testing.T) {
	gateways, logics := statsCluster(t)
	for i, room := range []string{"lobby", "lobby", "lobby", "side"} {
		if _, err := clustertest.MustDial(t, gateways[i%2].WSURL()).Join(room, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	roles := func(rep overview.Report) map[string]string {
		out := map[string]string{}
		for _, n := range rep.Nodes {
			out["http://"+n.Addr] = n.Role
		}
		return out
	}
	for _, l := range logics {
		var rep overview.Report
		// A node's first snapshot may leave before its listener's address
		// is known (it shows "" for up to one interval): wait for all four.
		clustertest.WaitFor(t, "four nodes with addresses and four viewers on "+l.Name, 30*time.Second, func() bool {
			getStats(t, l, "/v1/nodes", &rep)
			return rep.Totals.Nodes == 4 && rep.Totals.Connections == 4 && !slices.ContainsFunc(rep.Nodes, func(n overview.Node) bool { return n.Addr == "" })
		})
		got := roles(rep)
		for _, n := range append(append([]*clustertest.Node{}, gateways...), logics...) {
			if got[n.URL] != n.Role {
				t.Fatalf("%s lists %s as %q; nodes %v", l.Name, n.URL, got[n.URL], got)
			}
		}
	}
	for i := range 10 {
		if _, err := logics[i%2].Publish(t, "lobby", "hello"); err != nil {
			t.Fatal(err)
		}
	}
	var rooms overview.RoomList
	clustertest.WaitFor(t, "the lobby on both gateways, with messages", 30*time.Second, func() bool {
		getStats(t, logics[0], "/v1/rooms", &rooms)
		return rooms.Total == 2 && rooms.Rooms[0].Room == "lobby" && rooms.Rooms[0].Online == 3 && rooms.Rooms[0].MessagesPerSec > 0
	})
	if rooms.Rooms[1] != (overview.RoomRate{Room: "side", Online: 1}) {
		t.Fatalf("rooms %+v", rooms.Rooms)
	}
	if err := gateways[1].Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var rep overview.Report
	clustertest.WaitFor(t, "the stopped gateway to leave", 30*time.Second, func() bool {
		getStats(t, logics[1], "/v1/nodes", &rep)
		return rep.Totals.Nodes == 3
	})
	if d := time.Since(stopped); d > 5*time.Second {
		t.Fatalf("the stopped gateway left after %s; its goodbye should drop it at once, not after the 10 s expiry", d)
	}
	if rep.Totals.Connections != 2 {
		t.Fatalf("%d connections left, want gateway-0's 2", rep.Totals.Connections)
	}
}

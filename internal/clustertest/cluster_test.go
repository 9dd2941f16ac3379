package clustertest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/protocol"
)

// externalCluster starts three clustered nats-servers, three gateways and
// three logic nodes on them, with history replicated three times.
func externalCluster(t *testing.T) (gateways, logics []*clustertest.Node) {
	t.Helper()
	nats := clustertest.StartNATS(t, 3)
	common := []string{"--nats-url", nats.URL(), "--history-replicas", "3", "--user-id-key", clustertest.UserIDKey}
	for i := range 3 {
		logics = append(logics, clustertest.StartNode(t, fmt.Sprintf("logic-%d", i), "logic",
			append(common, "--api-key", clustertest.APIKey)...))
		gateways = append(gateways, clustertest.StartNode(t, fmt.Sprintf("gateway-%d", i), "gateway", common...))
	}
	return gateways, logics
}

// Viewers on three gateways get every message of their room exactly once
// and in one order, whether it was published through any logic node's API
// or sent by a viewer on any gateway; and they see the room's count summed
// over the gateways.
func TestThreeNodesDeliverEverywhereInOneOrder(t *testing.T) {
	gateways, logics := externalCluster(t)
	const room = "lobby"
	var viewers []*clustertest.Viewer
	for i := range 9 {
		v := clustertest.MustDial(t, gateways[i%3].WSURL())
		if _, err := v.Join(room, nil, ""); err != nil {
			t.Fatal(err)
		}
		viewers = append(viewers, v)
	}
	joinedAll := time.Now()
	const published, perViewer = 60, 2
	for i := range published {
		if _, err := logics[i%3].Publish(t, room, fmt.Sprintf("api %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range viewers[:3] {
		for j := range perViewer {
			if _, err := v.Send(room, fmt.Sprintf("c%d-%d", i, j), fmt.Sprintf("from viewer %d #%d", i, j)); err != nil {
				t.Fatalf("send through gateway %d: %v", i, err)
			}
		}
	}
	total := published + 3*perViewer
	first, err := viewers[0].WaitMessages(room, total, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range viewers {
		got, err := v.WaitMessages(room, total, 30*time.Second)
		if err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
		if err := clustertest.CheckChain(got); err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
		if len(got) != total {
			t.Fatalf("viewer %d got %d messages, want %d", i, len(got), total)
		}
		for j := range got {
			if got[j].Offset != first[j].Offset {
				t.Fatalf("viewer %d message %d is offset %d, viewer 0 has %d: not one order", i, j, got[j].Offset, first[j].Offset)
			}
		}
	}
	// Nine viewers over three gateways: every viewer and every logic node
	// sees nine within 3 s of the last join.
	deadline := joinedAll.Add(3 * time.Second)
	for {
		ok := logics[0].Online(t, room) == 9 && logics[2].Online(t, room) == 9
		for _, v := range viewers {
			ok = ok && v.Online(room) == 9
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("online counts did not reach 9 within 3 s of the last join: logic %d, viewer 0 %d, viewer 8 %d",
				logics[0].Online(t, room), viewers[0].Online(room), viewers[8].Online(room))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("online counts converged %s after the last join", time.Since(joinedAll).Round(10*time.Millisecond))

	// A broadcast and a push to one user, published through one logic
	// node, reach viewers on every gateway; a ban through it closes the
	// user's connection on another gateway with 4503.
	if status, body := logics[0].Do(t, "POST", "/v1/broadcast", protocol.PublishRequest{Messages: []protocol.PublishMessage{{Text: "to everyone"}}}); status != 200 {
		t.Fatalf("broadcast: %d %s", status, body)
	}
	for i, v := range viewers {
		if _, err := v.Wait(protocol.OpBroadcast, 10*time.Second); err != nil {
			t.Fatalf("viewer %d on %s: broadcast: %v", i, gateways[i%3].Name, err)
		}
	}
	var target string // the guest id of viewer 2, on gateway 2, from its own messages
	for _, m := range first {
		if m.Text == "from viewer 2 #0" && m.User != nil {
			target = m.User.ID
		}
	}
	if target == "" {
		t.Fatal("viewer 2's message carries no user id")
	}
	if status, body := logics[1].Do(t, "POST", "/v1/users/"+target+"/messages", protocol.PublishRequest{Messages: []protocol.PublishMessage{{Text: "just you"}}}); status != 200 {
		t.Fatalf("user push: %d %s", status, body)
	}
	if m, err := viewers[2].Wait(protocol.OpUser, 10*time.Second); err != nil || len(m.Msgs) != 1 || m.Msgs[0].Text != "just you" {
		t.Fatalf("user push to %s on gateway 2: %+v, %v", target, m, err)
	}
	if status, body := logics[0].Do(t, "POST", "/v1/bans", map[string]any{"publicId": target, "seconds": 60}); status != 200 {
		t.Fatalf("ban: %d %s", status, body)
	}
	select {
	case <-viewers[2].Closed():
		if code := viewers[2].CloseCode(); code != protocol.CloseBanned {
			t.Fatalf("banned viewer closed with %d, want 4503", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the banned viewer on gateway 2 was not closed")
	}
}

// A gateway with no logic node behind it refuses sends with unavailable,
// at once rather than after a timeout.
func TestNoLogicNodeNacksUnavailable(t *testing.T) {
	nats := clustertest.StartNATS(t, 1)
	g := clustertest.StartNode(t, "gateway", "gateway", "--nats-url", nats.URL(), "--user-id-key", clustertest.UserIDKey)
	v := clustertest.MustDial(t, g.WSURL())
	if _, err := v.Join("lobby", nil, ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := v.Send("lobby", "1", "hello?")
	var ce *protocol.CodeError
	if !errors.As(err, &ce) || ce.Code != protocol.CodeUnavailable {
		t.Fatalf("send with no logic node: %v, want nack unavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the nack took %s", d)
	}
}

// NATS sends a gateway only the rooms it has viewers in: a gateway without
// viewers of a busy room receives (almost) nothing while it is busy.
func TestGatewayReceivesOnlyItsRooms(t *testing.T) {
	gateways, logics := externalCluster(t)
	watching, idle := gateways[0], gateways[1]
	v := clustertest.MustDial(t, watching.WSURL())
	if _, err := v.Join("busy", nil, ""); err != nil {
		t.Fatal(err)
	}
	before := idle.Metric(t, "danmaku_bus_in_bytes_total")
	watchingBefore := watching.Metric(t, "danmaku_bus_in_bytes_total")
	text := strings.Repeat("x", 80)
	const n = 400
	for i := 0; i < n; i += 20 {
		batch := make([]string, 20)
		for j := range batch {
			batch[j] = text
		}
		if _, err := logics[0].Publish(t, "busy", batch...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.WaitMessages("busy", n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	received := watching.Metric(t, "danmaku_bus_in_bytes_total") - watchingBefore
	stray := idle.Metric(t, "danmaku_bus_in_bytes_total") - before
	if received < n*80 {
		t.Fatalf("the watching gateway received %.0f bytes for %d messages of 80 characters", received, n)
	}
	// The idle gateway still hears heartbeats and online reports, a few
	// hundred bytes a second; the room's messages would be over 32 KB.
	if stray > received/10 {
		t.Fatalf("a gateway without viewers of the room received %.0f bytes while the room's took %.0f", stray, received)
	}
	t.Logf("room bytes at the watching gateway: %.0f; at the idle one: %.0f", received, stray)
}

// The viewers of a gateway that dies leave every count within 15 s.
func TestDeadGatewayLeavesTheCount(t *testing.T) {
	gateways, logics := externalCluster(t)
	for i := range 4 {
		v := clustertest.MustDial(t, gateways[i%2].WSURL())
		if _, err := v.Join("lobby", nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	waitOnline(t, logics[1], "lobby", 4, 5*time.Second)
	gateways[1].Kill()
	killed := time.Now()
	waitOnline(t, logics[1], "lobby", 2, 15*time.Second)
	t.Logf("the dead gateway's viewers left the count after %s", time.Since(killed).Round(100*time.Millisecond))
}

func waitOnline(t *testing.T, n *clustertest.Node, room string, want int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := n.Online(t, room)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s reports %d online in %s, want %d within %s", n.Name, got, room, want, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package relay_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/leaktest"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/natstest"
	"github.com/danmaku/danmaku/internal/relay"
	"github.com/danmaku/danmaku/protocol"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// logicNode runs a real logic tier on b's store, served on conn.
func logicNode(t *testing.T, b *bus.Bus, conn *nats.Conn, sendRate int) *relay.Server {
	t.Helper()
	l, err := logic.New(logic.Config{Store: b, SendRate: sendRate, SendWindow: time.Minute, DuplicateWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := relay.Serve(relay.ServerConfig{Conn: conn, Logic: l, Workers: 4, HeartbeatInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func gatewayClient(t *testing.T, conn *nats.Conn, timeout time.Duration) *relay.Client {
	t.Helper()
	c, err := relay.NewClient(relay.ClientConfig{Conn: conn, Timeout: timeout, HeartbeatInterval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var viewer = protocol.User{ID: "u_1", Name: "alice", Role: protocol.RoleViewer}

func sendMsg(text string) *protocol.ClientMessage {
	return &protocol.ClientMessage{Op: protocol.OpSend, Room: "lobby", Text: text}
}

func codeOf(err error) string {
	var ce *protocol.CodeError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

func TestSendStoredThroughTheRelay(t *testing.T) {
	b := natstest.Bus(t)
	logicNode(t, b, natstest.Connect(t, b), 100)
	c := gatewayClient(t, natstest.Connect(t, b), 5*time.Second)
	ctx := context.Background()
	offset, id, err := c.Send(ctx, viewer, sendMsg("hello"))
	if err != nil || offset == 0 || id == "" {
		t.Fatalf("send: offset %d id %q err %v", offset, id, err)
	}
	stored, _, err := b.After(ctx, "lobby", 0, 10)
	if err != nil || len(stored) != 1 || stored[0].Offset != offset {
		t.Fatalf("stored %+v, %v; want the message at %d", stored, err, offset)
	}
	// A refusal keeps its code across the relay.
	if _, _, err := c.Send(ctx, viewer, &protocol.ClientMessage{Op: protocol.OpSend, Room: "lobby", Text: ""}); codeOf(err) != protocol.CodeBadRequest {
		t.Fatalf("empty text: %v, want bad_request", err)
	}
	// Moderation needs a moderator, and says so through the relay.
	if err := c.Moderate(ctx, viewer, &protocol.ClientMessage{Op: protocol.OpModerate, Action: "mute", Room: "lobby", User: "u_2"}); codeOf(err) != protocol.CodeForbidden {
		t.Fatalf("moderate as viewer: %v, want forbidden", err)
	}
}

// With no logic node at all a send is refused with unavailable at once,
// not after the timeout.
func TestNoLogicNodeIsUnavailableAtOnce(t *testing.T) {
	b := natstest.Bus(t)
	c := gatewayClient(t, natstest.Connect(t, b), time.Minute)
	start := time.Now()
	_, _, err := c.Send(context.Background(), viewer, sendMsg("hello"))
	if codeOf(err) != protocol.CodeUnavailable || !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("send with no logic node: %v, want unavailable (no responders)", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s: waited for the timeout", d)
	}
}

// A logic node that takes a request and never answers (it died with it)
// costs the viewer the timeout, then unavailable: never a hang.
func TestSilentLogicNodeTimesOut(t *testing.T) {
	b := natstest.Bus(t)
	silent := natstest.Connect(t, b)
	if _, err := silent.QueueSubscribe("danmaku.logic.send", "logic", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := silent.Flush(); err != nil {
		t.Fatal(err)
	}
	c := gatewayClient(t, natstest.Connect(t, b), 200*time.Millisecond)
	_, _, err := c.Send(context.Background(), viewer, sendMsg("hello"))
	if codeOf(err) != protocol.CodeUnavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send to a silent node: %v, want unavailable after the timeout", err)
	}
}

// waitNodes waits until the client routes to n distinct owners among many
// users, i.e. it has heard every node's heartbeat.
func waitOwners(t *testing.T, c *relay.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if relay.LiveNodes(c) == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("client sees %d logic nodes, want %d", relay.LiveNodes(c), n)
}

// A user sending through several gateways to several logic nodes gets one
// budget, not one per node: every send of the user goes to its owner.
func TestOneBudgetAcrossLogicNodes(t *testing.T) {
	b := natstest.Bus(t)
	for range 3 {
		logicNode(t, b, natstest.Connect(t, b), 3)
	}
	var gateways []*relay.Client
	for range 3 {
		c := gatewayClient(t, natstest.Connect(t, b), 5*time.Second)
		waitOwners(t, c, 3)
		gateways = append(gateways, c)
	}
	accepted, limited := 0, 0
	for i := range 12 {
		_, _, err := gateways[i%3].Send(context.Background(), viewer, sendMsg(fmt.Sprintf("m%d", i)))
		switch code := codeOf(err); {
		case err == nil:
			accepted++
		case code == protocol.CodeRateLimited:
			limited++
		default:
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if accepted != 3 || limited != 9 {
		t.Fatalf("accepted %d, rate limited %d; want the budget of 3 once, not per node", accepted, limited)
	}
}

// Owners spread: different users land on different nodes.
func TestOwnersSpreadOverNodes(t *testing.T) {
	b := natstest.Bus(t)
	var nodes []string
	for range 3 {
		nodes = append(nodes, logicNode(t, b, natstest.Connect(t, b), 100).Node())
	}
	c := gatewayClient(t, natstest.Connect(t, b), 5*time.Second)
	waitOwners(t, c, 3)
	seen := map[string]int{}
	for i := range 300 {
		seen[relay.Owner(c, fmt.Sprintf("u_%d", i))]++
	}
	for _, n := range nodes {
		if seen[n] < 50 {
			t.Fatalf("owners %v: node %s owns %d of 300 users", seen, n, seen[n])
		}
	}
}

// A node that stops says goodbye and its users move at once; a node that
// dies without one is skipped at the first send that finds it gone.
func TestOwnerGoneSendsStillSucceed(t *testing.T) {
	b := natstest.Bus(t)
	keep := logicNode(t, b, natstest.Connect(t, b), 100)
	leaving := logicNode(t, b, natstest.Connect(t, b), 100)
	dyingConn := natstest.Connect(t, b)
	dying := logicNode(t, b, dyingConn, 100)
	c := gatewayClient(t, natstest.Connect(t, b), 5*time.Second)
	waitOwners(t, c, 3)

	userOf := func(node string) protocol.User {
		for i := 0; ; i++ {
			u := protocol.User{ID: fmt.Sprintf("u_%d", i), Role: protocol.RoleViewer}
			if relay.Owner(c, u.ID) == node {
				return u
			}
		}
	}
	leaver, victim := userOf(leaving.Node()), userOf(dying.Node())

	leaving.Close()
	waitOwners(t, c, 2)
	if o := relay.Owner(c, leaver.ID); o != keep.Node() && o != dying.Node() {
		t.Fatalf("after goodbye the user is owned by %q", o)
	}
	if _, _, err := c.Send(context.Background(), leaver, sendMsg("after goodbye")); err != nil {
		t.Fatalf("send after the owner left: %v", err)
	}

	dyingConn.Close() // no goodbye: its heartbeats stop, its subjects vanish
	// Wait until the server has dropped the dead connection's interest, as
	// it does when a killed process's socket closes.
	probe := natstest.Connect(t, b)
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := probe.Request("danmaku.logic.send."+dying.Node(), []byte("{}"), time.Second)
		if errors.Is(err, nats.ErrNoResponders) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead node's subscription stayed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if relay.Owner(c, victim.ID) != dying.Node() {
		t.Fatal("the test needs the client to still route to the dead node")
	}
	if _, _, err := c.Send(context.Background(), victim, sendMsg("after death")); err != nil {
		t.Fatalf("send after the owner died: %v", err)
	}
}

package clustertest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/protocol"
)

// The nginx site of docs/nginx/danmaku.conf, in front of three nodes:
// viewers spread over them through one URL, messages published through it
// reach every viewer, and when one node drains (SIGTERM) its viewers come
// back through the same URL to the others and resume without a gap.
func TestNginxFrontsThreeNodes(t *testing.T) {
	nodes := clustertest.EmbeddedCluster(t, 3)
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, strings.TrimPrefix(n.URL, "http://"))
	}
	base := clustertest.StartNginx(t, "../../docs/nginx/danmaku.conf", map[string][]string{
		"danmaku_gateways": addrs, "danmaku_logic": addrs,
	})
	lb := &clustertest.Node{Proc: nodes[0].Proc, Role: "nginx", URL: base}
	const room = "lobby"
	var viewers []*clustertest.Viewer
	for range 9 {
		v := clustertest.MustDial(t, lb.WSURL())
		if _, err := v.Join(room, nil, ""); err != nil {
			t.Fatal(err)
		}
		viewers = append(viewers, v)
	}
	per := map[string]float64{}
	for _, n := range nodes {
		per[n.Name] = n.Metric(t, "danmaku_connections")
		if per[n.Name] < 1 {
			t.Fatalf("nginx left %s without viewers: %v", n.Name, per)
		}
	}
	t.Logf("viewers per node through nginx: %v", per)
	for i := range 10 {
		if _, err := lb.Publish(t, room, fmt.Sprintf("through nginx %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range viewers {
		if _, err := v.WaitMessages(room, 10, 20*time.Second); err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
	}

	// Drain node 0: its viewers get 4000 and come back through nginx.
	drained := nodes[0]
	if err := drained.Stop(30 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	moved := 0
	for i, v := range viewers {
		select {
		case <-v.Closed():
		case <-time.After(100 * time.Millisecond):
			continue // on another node
		}
		if code := v.CloseCode(); code != protocol.CloseDraining {
			t.Fatalf("viewer %d closed with %d, want 4000", i, code)
		}
		since, err := v.Last(room)
		if err != nil {
			t.Fatal(err)
		}
		before := v.Messages(room)
		epoch := v.Epoch(room)
		nv := clustertest.MustDial(t, lb.WSURL())
		j, err := nv.Join(room, &since, epoch)
		if err != nil || !j.Recovered {
			t.Fatalf("viewer %d back through nginx: %+v, %v; want recovered", i, j, err)
		}
		viewers[i] = nv
		// The drained node's NATS server led some of the history's RAFT
		// groups; until the others elect new leaders (a few seconds) the
		// API answers 503 "retry", as a client is told to.
		if err := retry(10*time.Second, func() error {
			_, err := lb.Publish(t, room, fmt.Sprintf("after the drain %d", i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		after, err := nv.WaitMessages(room, 1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := clustertest.CheckChain(append(before, after...)); err != nil {
			t.Fatalf("viewer %d across the drain: %v", i, err)
		}
		moved++
	}
	if moved == 0 {
		t.Fatal("no viewer was on the drained node")
	}
	t.Logf("%d viewers moved from %s to the other nodes through nginx", moved, drained.Name)
}

// retry calls fn until it succeeds or within passes.
func retry(within time.Duration, fn func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package bus

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestEmbeddedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	const nodes = 3
	var routes []string
	listen := make([]string, nodes)
	for i := range listen {
		listen[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		routes = append(routes, "nats://"+listen[i])
	}
	// A clustered JetStream needs a quorum before it creates the stream,
	// so the nodes must start together.
	buses := make([]*Bus, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			buses[i], errs[i] = Open(ctx, Config{
				ClusterName: "danmaku-test", ClusterListen: listen[i], Routes: routes,
				Replicas: 3,
			})
		})
	}
	wg.Wait()
	for i := range nodes {
		if buses[i] != nil {
			t.Cleanup(func() {
				if err := buses[i].Close(); err != nil {
					t.Errorf("node %d Close: %v", i, err)
				}
			})
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	for i := 1; i < nodes; i++ {
		if buses[i].Epoch() != buses[0].Epoch() {
			t.Fatalf("node %d epoch %s, node 0 %s", i, buses[i].Epoch(), buses[0].Epoch())
		}
	}

	var live collector[protocol.Stored]
	unsubscribe, err := buses[2].SubscribeRoom("r", live.add)
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	// Subscription interest reaches the other servers asynchronously; the
	// stream leader, wherever it is, must know of it before it republishes.
	waitFor(t, "interest on every server", func() bool {
		for _, b := range buses {
			if !b.server.GlobalAccount().SubscriptionInterest("live.room.r") {
				return false
			}
		}
		return true
	})

	offs := appendN(t, buses[0], "r", 3)
	offs = append(offs, appendN(t, buses[1], "r", 2)...)
	waitFor(t, "live delivery across nodes", func() bool { return live.len() == len(offs) })
	checkChain(t, live.snapshot(), offs, 0)

	// Any replica may answer a read; wait for the slowest to catch up.
	waitFor(t, "replicated history", func() bool {
		msgs, complete, err := buses[2].After(ctxT(t), "r", 0, 0)
		return err == nil && complete && len(msgs) == len(offs)
	})
	msgs, _, _ := buses[2].After(ctxT(t), "r", 0, 0)
	checkChain(t, msgs, offs, 0)
}

package bus

import (
	"context"
	"fmt"
	"net"
	"slices"
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
	for _, partitions := range []int{1, 3} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) { testEmbeddedCluster(t, partitions) })
	}
}

func testEmbeddedCluster(t *testing.T, partitions int) {
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
				Replicas: 3, Partitions: partitions,
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
		if !slices.Equal(buses[i].Epochs(), buses[0].Epochs()) {
			t.Fatalf("node %d epochs %v, node 0 %v", i, buses[i].Epochs(), buses[0].Epochs())
		}
	}
	// Every partition's stream is replicated.
	for _, p := range buses[0].parts {
		if info := streamInfo(t, buses[0], p.stream); info.Config.Replicas != 3 || info.Cluster == nil ||
			len(info.Cluster.Replicas) != 2 {
			t.Fatalf("stream %s: replicas %d, cluster %+v", p.stream, info.Config.Replicas, info.Cluster)
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

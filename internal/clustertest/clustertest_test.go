package clustertest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, clustertest.Cleanup) }

// Three nats-servers form a JetStream cluster that takes an R3 stream.
func TestNATSClusterTakesAReplicatedStream(t *testing.T) {
	c := clustertest.StartNATS(t, 3)
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatalf("create R3 stream: %v", err)
	}
	if _, err := js.Publish(ctx, "t.x", []byte("hello")); err != nil {
		t.Fatal(err)
	}
}

// The operators' nginx site file runs as it is, spreading requests over
// the upstreams it is given.
func TestNginxSiteSpreadsRequests(t *testing.T) {
	hits := make(chan string, 100)
	var addrs []string
	for i := range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits <- fmt.Sprintf("%d %s", i, r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	base := clustertest.StartNginx(t, "../../docs/nginx/danmaku.conf", map[string][]string{
		"danmaku_gateways": addrs, "danmaku_logic": addrs,
	})
	seen := map[string]bool{}
	for range 10 {
		resp, err := http.Get(base + "/v1/rooms/lobby")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		seen[<-hits] = true
	}
	if !seen["0 /v1/rooms/lobby"] || !seen["1 /v1/rooms/lobby"] {
		t.Fatalf("requests reached %v, want both upstreams", seen)
	}
}

package clustertest

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATS is a cluster of real nats-server processes with JetStream, joined
// over routes on loopback.
type NATS struct {
	Servers []*Proc
	URLs    []string // client URLs, one per server
}

// URL is every server's client URL, comma-separated, as --nats-url takes it.
func (n *NATS) URL() string { return strings.Join(n.URLs, ",") }

var natsReady = regexp.MustCompile(`Server is ready`)

// StartNATS starts n clustered nats-servers with JetStream, each with its
// own store directory, and waits until each is ready. With n == 1 the
// server is standalone.
func StartNATS(t testing.TB, n int) *NATS {
	t.Helper()
	_, bin := Binaries(t)
	client := make([]int, n)
	route := make([]int, n)
	for i := range n {
		client[i], route[i] = FreePort(t), FreePort(t)
	}
	var routes []string
	for _, p := range route {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	c := &NATS{}
	dir := t.TempDir()
	for i := range n {
		args := []string{
			"-n", fmt.Sprintf("nats-%d", i), "-a", "127.0.0.1", "-p", fmt.Sprint(client[i]),
			"-js", "-sd", filepath.Join(dir, fmt.Sprint(i)),
		}
		if n > 1 {
			args = append(args, "--cluster_name", "danmaku-test",
				"--cluster", routes[i], "--routes", strings.Join(routes, ","))
		}
		c.Servers = append(c.Servers, Start(t, fmt.Sprintf("nats-%d", i), bin, args...))
		c.URLs = append(c.URLs, fmt.Sprintf("nats://127.0.0.1:%d", client[i]))
	}
	for _, s := range c.Servers {
		s.WaitLine(t, natsReady, 30*time.Second)
	}
	for _, u := range c.URLs {
		waitJetStream(t, u)
	}
	return c
}

// waitJetStream waits until the server at url answers JetStream requests,
// which in a cluster needs a meta leader: a request sent before would wait
// out its whole timeout.
func waitJetStream(t testing.TB, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("clustertest: connect %s: %v", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: JetStream at %s not ready: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

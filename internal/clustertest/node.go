package clustertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// APIKey is the key every node started here accepts.
const APIKey = "cluster-test-key"

// UserIDKey is the key for public user ids shared by every node, as a
// cluster needs.
const UserIDKey = "cluster-test-user-id-key-0123456789abcdef"

// Node is one danmaku process.
type Node struct {
	*Proc
	Role string
	URL  string // http://127.0.0.1:PORT
}

// WSURL is the node's WebSocket URL (gateway and serve roles).
func (n *Node) WSURL() string { return "ws" + strings.TrimPrefix(n.URL, "http") + "/ws" }

var listening = regexp.MustCompile(`(?:WebSocket|HTTP API): +(?:ws|http)://([0-9.:]+)/`)

// StartNode runs `danmaku <role> --addr 127.0.0.1:0 args...` and waits
// until it prints where it listens.
func StartNode(t testing.TB, name, role string, args ...string) *Node {
	t.Helper()
	return StartNodes(t, NodeSpec{name, role, args})[0]
}

// NodeSpec describes one node for StartNodes.
type NodeSpec struct {
	Name, Role string
	Args       []string
}

// StartNodes starts every node, then waits for each to listen: nodes that
// embed a clustered NATS wait for each other's JetStream before serving.
func StartNodes(t testing.TB, specs ...NodeSpec) []*Node {
	t.Helper()
	bin, _ := Binaries(t)
	var nodes []*Node
	for _, sp := range specs {
		all := append([]string{sp.Role, "--addr", "127.0.0.1:0", "--log-level", "warn"}, sp.Args...)
		nodes = append(nodes, &Node{Proc: Start(t, sp.Name, bin, all...), Role: sp.Role})
	}
	for _, n := range nodes {
		m := n.WaitLine(t, listening, 90*time.Second)
		n.URL = "http://" + m[1]
	}
	return nodes
}

// EmbeddedCluster starts n "danmaku serve" nodes whose embedded NATS
// servers form one cluster over routes, with history replicated
// min(n, 3) times. extra is added to every node's flags.
func EmbeddedCluster(t testing.TB, n int, extra ...string) []*Node {
	t.Helper()
	routes := make([]string, n)
	listen := make([]string, n)
	for i := range n {
		listen[i] = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		routes[i] = "nats://" + listen[i]
	}
	dir := t.TempDir()
	var specs []NodeSpec
	for i := range n {
		args := []string{
			"--data-dir", fmt.Sprintf("%s/node-%d", dir, i),
			"--cluster-name", "danmaku-test", "--cluster-listen", listen[i], "--routes", strings.Join(routes, ","),
			"--history-replicas", fmt.Sprint(min(n, 3)),
			"--api-key", APIKey, "--user-id-key", UserIDKey, "--drain-timeout", "1s",
		}
		specs = append(specs, NodeSpec{fmt.Sprintf("node-%d", i), "serve", append(args, extra...)})
	}
	return StartNodes(t, specs...)
}

// Do sends an API request with APIKey; body is encoded as JSON unless nil.
func (n *Node) Do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, n.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// Publish stores texts in room through the node's API and returns their
// offsets, or an error for anything but 200.
func (n *Node) Publish(t testing.TB, room string, texts ...string) ([]uint64, error) {
	t.Helper()
	req := protocol.PublishRequest{}
	for _, text := range texts {
		req.Messages = append(req.Messages, protocol.PublishMessage{Text: text})
	}
	status, body := n.Do(t, http.MethodPost, "/v1/rooms/"+room+"/messages", req)
	if status != http.StatusOK {
		return nil, fmt.Errorf("publish through %s: HTTP %d: %s", n.Name, status, body)
	}
	var resp protocol.PublishResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	return resp.Offsets, nil
}

// Online is the room's count as GET /v1/rooms/{room} reports it.
func (n *Node) Online(t testing.TB, room string) int64 {
	t.Helper()
	status, body := n.Do(t, http.MethodGet, "/v1/rooms/"+room, nil)
	if status != http.StatusOK {
		t.Fatalf("room info through %s: HTTP %d: %s", n.Name, status, body)
	}
	var info protocol.RoomInfo
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	return info.Online
}

// Metric reads one sample from the node's /metrics (the first line that
// starts with name), or -1 if absent.
func (n *Node) Metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := http.Get(n.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			var v float64
			fields := strings.Fields(line)
			fmt.Sscan(fields[len(fields)-1], &v)
			return v
		}
	}
	return -1
}

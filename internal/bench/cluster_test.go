package bench_test

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bench"
	"github.com/danmaku/danmaku/internal/clustertest"
)

// TestCluster runs the cluster scenario, small, against real processes on
// one nats-server: viewers spread over two gateways, publishers over the
// API URLs, the latency broken down by gateway and by node, and viewers
// resuming on the other gateway when theirs is killed.
func TestCluster(t *testing.T) {
	nats := clustertest.StartNATS(t, 1)
	common := []string{"--nats-url", nats.URL(), "--user-id-key", clustertest.UserIDKey}
	withKey := append(common[:len(common):len(common)], "--api-key", clustertest.APIKey)
	nodes := clustertest.StartNodes(t,
		clustertest.NodeSpec{Name: "gateway-0", Role: "gateway", Args: common},
		clustertest.NodeSpec{Name: "gateway-1", Role: "gateway", Args: common},
		clustertest.NodeSpec{Name: "logic", Role: "logic", Args: withKey},
	)
	gw0, gw1, logic := nodes[0], nodes[1], nodes[2]
	// 24 viewers in 3 rooms over 2 gateways: every room has 4 viewers on
	// each gateway (3 and 2 are coprime).
	base := bench.Config{
		Scenario: bench.ScenarioCluster, APIKey: clustertest.APIKey,
		Viewers: 24, Rooms: 3, Rate: 100, Batch: 5, Duration: 2 * time.Second, Warmup: 300 * time.Millisecond,
		Drain: 10 * time.Second,
	}
	checkDelivery := func(t *testing.T, s *bench.Summary) {
		t.Helper()
		d := s.Delivery
		if d.Ratio != 1 || d.ViewersShort != 0 || d.ViewersOver != 0 || d.Gaps != 0 || d.Duplicates != 0 || d.Malformed != 0 {
			t.Errorf("delivery = %+v, want every message once, in order", d)
		}
		if d.AckedChecked == 0 || d.AckedMissing != 0 {
			t.Errorf("%d of %d acknowledged (viewer, offset) pairs missing, want 0 of some", d.AckedMissing, d.AckedChecked)
		}
	}

	t.Run("gateways and a logic node", func(t *testing.T) {
		cfg := base
		cfg.URL = gw0.WSURL() + "," + gw1.WSURL()
		cfg.APIURLs = []string{logic.URL}
		cfg.ServerPIDs = []int{gw0.PID(), gw1.PID(), logic.PID()}
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkDelivery(t, s)
		x := s.CrossNode
		if len(x.Gateways) != 2 {
			t.Fatalf("%d gateways in the breakdown, want 2", len(x.Gateways))
		}
		for i, g := range x.Gateways {
			if g.URL != []string{gw0.WSURL(), gw1.WSURL()}[i] || g.Viewers != 12 || g.Received != 4*s.Publish.Messages {
				t.Errorf("gateway %d = %s: %d viewers received %d messages; want 12 viewers, 4 × %d published",
					i, g.URL, g.Viewers, g.Received, s.Publish.Messages)
			}
			// The API is another process than either gateway.
			if g.SameNode.Count != 0 || g.OtherNode.Count == 0 || g.OtherNode.Count != g.Latency.Count {
				t.Errorf("gateway %d: %d same-node and %d other-node samples of %d", i, g.SameNode.Count, g.OtherNode.Count, g.Latency.Count)
			}
		}
		if x.OtherNode.Count != s.Latency.Count || x.SameNode.Count != 0 {
			t.Errorf("overall: %d other-node samples and %d same-node of %d", x.OtherNode.Count, x.SameNode.Count, s.Latency.Count)
		}
		sv := s.Server
		if len(sv.Processes) != 3 || sv.PID != gw0.PID() {
			t.Fatalf("server = %+v, want three processes, the first gateway-0", sv)
		}
		var cpu float64
		var rss int64
		for _, p := range sv.Processes {
			if p.RSSAfterBytes <= 0 || p.Exited {
				t.Errorf("process %+v: no RSS read", p)
			}
			cpu += p.CPUSeconds
			rss += p.RSSAfterBytes
		}
		if sv.CPUSeconds <= 0 || abs(cpu-sv.CPUSeconds) > 1e-6 || rss != sv.RSSAfterBytes {
			t.Errorf("summed CPU %.3fs, RSS %d; per process %.3fs, %d", sv.CPUSeconds, sv.RSSAfterBytes, cpu, rss)
		}
		if s.Resume != nil {
			t.Errorf("resume = %+v with no connection lost", s.Resume)
		}
	})

	t.Run("serve nodes", func(t *testing.T) {
		serves := clustertest.StartNodes(t,
			clustertest.NodeSpec{Name: "serve-0", Role: "serve", Args: withKey},
			clustertest.NodeSpec{Name: "serve-1", Role: "serve", Args: withKey},
		)
		cfg := base
		cfg.URLs = []string{serves[0].URL, serves[1].URL} // API URLs: the same hosts
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkDelivery(t, s)
		if p := s.Publish; len(p.APIs) != 2 || p.APIs[0].Messages == 0 || p.APIs[1].Messages == 0 {
			t.Errorf("publish = %+v, want messages through both API URLs", p)
		}
		x := s.CrossNode
		for i, g := range x.Gateways {
			if g.SameNode.Count == 0 || g.OtherNode.Count == 0 || g.SameNode.Count+g.OtherNode.Count != g.Latency.Count {
				t.Errorf("gateway %d: %d same-node and %d other-node samples of %d, want some of each", i, g.SameNode.Count, g.OtherNode.Count, g.Latency.Count)
			}
		}
		if x.SameNode.Count+x.OtherNode.Count != s.Latency.Count {
			t.Errorf("%d + %d samples broken down of %d", x.SameNode.Count, x.OtherNode.Count, s.Latency.Count)
		}
	})

	t.Run("a gateway dies", func(t *testing.T) {
		cfg := base
		cfg.URLs = []string{gw0.WSURL(), gw1.WSURL()}
		cfg.APIURL = logic.URL
		cfg.Duration = 4 * time.Second
		publishing := &phaseWriter{phase: " publish ", seen: make(chan struct{})}
		cfg.Progress = publishing
		type result struct {
			s   *bench.Summary
			err error
		}
		done := make(chan result, 1)
		go func() {
			s, err := bench.Run(t.Context(), cfg)
			done <- result{s, err}
		}()
		select {
		case <-publishing.seen:
			gw1.Kill()
		case r := <-done:
			t.Fatalf("the run ended before publishing was seen: %v", r.err)
		}
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		s := r.s
		checkDelivery(t, s)
		res := s.Resume
		if res == nil {
			t.Fatal("no resume section after a gateway was killed")
		}
		if res.Viewers != 12 || res.Resumed != 12 || res.Recovered != 12 || res.NotBack != 0 || res.Closed != 12 {
			t.Errorf("resume = %+v, want gateway-1's 12 viewers back, recovered", res)
		}
		if res.Back.Count != 12 || res.Back.MaxMs <= 0 || res.Back.MaxMs > 10000 {
			t.Errorf("back after %+v", res.Back)
		}
		if g := s.CrossNode.Gateways; g[0].Resumed != 12 || g[1].Resumed != 0 {
			t.Errorf("resumes landed on gateway-0 %d, gateway-1 %d; want all 12 on the survivor", g[0].Resumed, g[1].Resumed)
		}
		met := map[string]bool{}
		for _, g := range s.Goals {
			met[g.Name] = g.Met
		}
		if !met["viewers back after a lost connection"] || !met["acknowledged messages lost"] {
			t.Errorf("goals = %+v", s.Goals)
		}
	})
}

// phaseWriter closes seen at the first progress line of a phase.
type phaseWriter struct {
	phase string
	once  sync.Once
	seen  chan struct{}
}

func (w *phaseWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.phase)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Without a URL the cluster scenario starts its own embedded cluster of
// danmaku serve nodes and spreads viewers and publishers over them.
func TestBenchStartsACluster(t *testing.T) {
	bin, _ := clustertest.Binaries(t)
	s, err := bench.Run(t.Context(), bench.Config{
		Scenario: bench.ScenarioCluster, ServerCommand: []string{bin, "serve"},
		Viewers: 15, Rooms: 5, Rate: 50, Batch: 5, Duration: 1500 * time.Millisecond, Warmup: 300 * time.Millisecond,
		Drain: 10 * time.Second, Stderr: logOnFailure(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Conditions; c.Nodes != 3 || c.Server != "child" || len(c.URLs) != 3 || len(c.APIURLs) != 3 {
		t.Fatalf("conditions = %+v, want 3 started nodes, each a target", c)
	}
	if d := s.Delivery; d.Ratio != 1 || d.Gaps != 0 || d.Duplicates != 0 || d.AckedMissing != 0 || d.AckedChecked == 0 {
		t.Errorf("delivery = %+v", d)
	}
	if x := s.CrossNode; len(x.Gateways) != 3 || x.SameNode.Count == 0 || x.OtherNode.Count == 0 {
		t.Errorf("cross-node = %+v, want 3 gateways and samples of both kinds", x)
	}
	if len(s.Server.Processes) != 3 || s.Server.CPUSeconds <= 0 {
		t.Errorf("server = %+v, want the three nodes sampled", s.Server)
	}
	if s.Connect.Joined != 15 {
		t.Errorf("%d of 15 joined; warnings %q", s.Connect.Joined, s.Warnings)
	}
	for _, w := range s.Warnings {
		if strings.HasPrefix(w, "error replies") {
			t.Errorf("warning: %s", w)
		}
	}
}

// logOnFailure collects what the started servers print and logs it if
// the test fails.
func logOnFailure(t *testing.T) io.Writer {
	w := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			w.mu.Lock()
			defer w.mu.Unlock()
			t.Logf("servers' output:\n%s", w.b.String())
		}
	})
	return w
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// The server the bench starts for ingress has no per-user send budget and
// no per-connection message rate, so a connection that sends 30 a second
// for longer than the default budget (20 per 30 s) is not refused.
func TestIngressServerIsNotRateLimited(t *testing.T) {
	bin, _ := clustertest.Binaries(t)
	s, err := bench.Run(t.Context(), bench.Config{
		Scenario: bench.ScenarioIngress, ServerCommand: []string{bin, "serve"},
		Viewers: 5, Rooms: 5, SendRate: 30, Duration: 1500 * time.Millisecond, Warmup: 200 * time.Millisecond,
		Stderr: logOnFailure(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	in := s.Ingress
	// 5 connections × 30/s × 1.7 s ≈ 255 sends, more than 5 × 20.
	if in.Nacked != 0 || in.Accepted < 150 {
		t.Errorf("ingress = %+v, want over 150 accepted and none refused", in)
	}
	if args := strings.Join(s.Conditions.ServerArgs, " "); !strings.Contains(args, "--send-rate=-1") || !strings.Contains(args, "--msg-rate=-1") {
		t.Errorf("server args %q do not say the limits were off", args)
	}
}

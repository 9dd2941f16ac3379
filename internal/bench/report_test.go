package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleSummary() *Summary {
	var h Histogram
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	s := &Summary{
		Scenario: ScenarioHotRoom,
		Conditions: Conditions{
			GoVersion: "go1.26.8", CPUs: 2, Server: "child", Viewers: 10000, Rooms: 1, Rate: 1000, Batch: 10,
			Duration: "20s", Warmup: "2s", Workers: 2, Sources: 253, Compression: true,
		},
		Connect: ConnectStats{Target: 10000, Handshakes: 10000, Joined: 10000, Seconds: 0.5, HandshakesPerSec: 20000, HandshakeLatency: latencyOf(&h)},
		Publish: &PublishStats{Messages: 22000, Requests: 2200, PerSec: 1000, RequestsPerSec: 100,
			RequestLatency: Latency{Count: 2200, P50Ms: 4, P99Ms: 31}},
		Delivery: &Delivery{Expected: 220_000_000, Received: 220_000_000, Ratio: 1, Frames: 4_400_000, SampleViewers: 100},
		Server:   ServerStats{PID: 42, RSSBeforeBytes: 30 << 20, RSSAfterBytes: 70 << 20, RSSPerConnBytes: 4194.3, CPUSeconds: 30, CPUPercent: 136, CPUSecPerMillionDeliveries: 0.14},
		LoadGen:  LoadGenStats{CPUSeconds: 12, CPUPercent: 55},
	}
	l := latencyOf(&h)
	s.Latency = &l
	s.Goals = goals(scenarioSpec{Name: ScenarioHotRoom}, s)
	return s
}

func TestGoalsJudgeTheSummary(t *testing.T) {
	s := sampleSummary()
	if len(s.Goals) != 3 || !s.Goals[0].Met || !s.Goals[1].Met || !s.Goals[2].Met {
		t.Fatalf("goals = %+v, want all three met (ratio 1, p99 %.1f ms, requests answered at p99 31 ms)", s.Goals, s.Latency.P99Ms)
	}
	s.Delivery.Ratio, s.Delivery.Gaps = 0.999, 1
	s.Latency.P99Ms = 150
	s.Publish.RequestLatency.P99Ms = 51
	for _, g := range goals(scenarioSpec{Name: ScenarioHotRoom}, s) {
		if g.Met {
			t.Errorf("goal %q met with ratio 0.999, a gap, p99 150 ms and requests answered at p99 51 ms", g.Name)
		}
	}
	api := &Summary{Conditions: Conditions{Batch: 1}, Publish: &PublishStats{RequestsPerSec: 9999, PerSec: 9999}, Delivery: &Delivery{Ratio: 1}}
	if g := goals(scenarioSpec{Name: ScenarioAPI}, api); len(g) != 2 || g[0].Met || !g[1].Met {
		t.Errorf("api goals at 9,999 requests/s = %+v, want requests missed, delivery met", g)
	}
	api.Conditions.Batch, api.Publish.RequestsPerSec, api.Publish.PerSec = 100, 500, 50000
	if g := goals(scenarioSpec{Name: ScenarioAPI}, api); !g[0].Met || g[0].Name != "messages stored per second" {
		t.Errorf("api goals at 50,000 msgs/s in requests of 100 = %+v, want messages met", g)
	}
	idle := &Summary{Server: ServerStats{PID: 1, RSSPerConnBytes: 5000}}
	if g := goals(scenarioSpec{Name: ScenarioIdle}, idle); len(g) != 1 || g[0].Met || g[0].Value != "4.88 KiB" {
		t.Errorf("idle goals = %+v, want one missed at 4.88 KiB", g)
	}
}

func TestWriteText(t *testing.T) {
	s := sampleSummary()
	s.Warnings = []string{"something odd"}
	s.Conditions.DeflateShare, s.Conditions.TextSeed = 0.5, 1
	s.Bytes = newBytesStats(
		WireBytes{Viewers: 5000, Messages: 110_000_000, Frames: 2_200_000, BatchBytes: 19_800_000_000, WireBytes: 19_811_000_000},
		WireBytes{Viewers: 5000, Messages: 110_000_000, Frames: 2_200_000, BatchBytes: 3_300_000_000, WireBytes: 3_311_000_000})
	var b bytes.Buffer
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	wantLines(t, b.String(),
		"danmaku bench: hot-room",
		"10000 viewers, 1 rooms, 1000 msgs/s in requests of 10, 20s + 2s warmup",
		"permessage-deflate offered by 50% of viewers",
		"texts        varied corpus (internal/bench/corpus), seed 1",
		"bytes plain   5000 viewers: 180.0 B per delivered message in batch frames, 180.1 B with everything read",
		"bytes deflate 5000 viewers: 30.0 B per delivered message in batch frames, 30.1 B with everything read",
		"deflate saves 83.3% of the batch bytes",
		"10000/10000 handshakes (0 failed) in 0.50s = 20000/s",
		"delivered    220000000 of 220000000 = 100.0000%",
		"latency      publish→receive min 1.00 ms, p50 50.",
		"p99 99.",
		"4194 B/conn (4.10 KiB)",
		"0.14 CPU-s per million deliveries",
		"load gen     CPU 12.0s (55% of a core)",
		"goal MET    delivered: 100.0000%, 0 gaps, 0 duplicates",
		"warning      something odd",
	)
}

// wantLines fails t for each of want that the summary out lacks.
func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	s := sampleSummary()
	s.Bytes = newBytesStats(WireBytes{Viewers: 1, Messages: 10, BatchBytes: 1500}, WireBytes{})
	var b bytes.Buffer
	if err := s.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, b.String())
	}
	for _, k := range []string{"scenario", "goals_met", "goals", "conditions", "connect", "publish", "delivery", "bytes", "latency", "server", "loadgen"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if _, ok := m["ingress"]; ok {
		t.Error("JSON has an ingress section for hot-room")
	}
	if p := m["bytes"].(map[string]any)["plain"].(map[string]any); p["batch_bytes_per_msg"].(float64) != 150 {
		t.Errorf("bytes.plain = %v", p)
	}
	lat := m["latency"].(map[string]any)
	if lat["p99_ms"].(float64) < 98 || lat["p99_ms"].(float64) > 101 {
		t.Errorf("latency.p99_ms = %v", lat["p99_ms"])
	}
}

func TestProgressLine(t *testing.T) {
	line := progressLine(3*time.Second, "publish", 10000, 9999, 1000, 2.5e6, 50000, 0, procSample{RSS: 64 << 20}, 143, 61, 97)
	for _, want := range []string{"3s publish", "conns  10000", "pub 1000/s", "deliv 2.50M/s frames 50.0k/s", "server rss 64.0 MiB cpu 143%", "gen cpu  61%", "host busy  97%"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
}

func TestTargetURLs(t *testing.T) {
	for _, c := range []struct{ in, api, ws, wantAPI string }{
		{"http://127.0.0.1:8080", "", "ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"},
		{"ws://127.0.0.1:8080/ws", "", "ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"},
		{"ws://localhost:9/ws", "http://127.0.0.1:7", "ws://localhost:9/ws", "http://127.0.0.1:7"},
	} {
		ws, api, err := targetURLs(c.in, c.api)
		if err != nil || ws != c.ws || api != c.wantAPI {
			t.Errorf("targetURLs(%q, %q) = %q, %q, %v", c.in, c.api, ws, api, err)
		}
	}
	if _, _, err := targetURLs("wss://127.0.0.1/ws", ""); err == nil {
		t.Error("wss accepted")
	}
	if err := checkLoopback(t.Context(), "ws://10.0.0.1:80/ws"); err == nil {
		t.Error("10.0.0.1 accepted as loopback")
	}
	if err := checkLoopback(t.Context(), "ws://127.0.0.9:80/ws"); err != nil {
		t.Errorf("127.0.0.9 refused: %v", err)
	}
}

func TestProcParsing(t *testing.T) {
	rss, err := parseVmRSS([]byte("Name:\tx\nVmPeak:\t 9 kB\nVmRSS:\t   2048 kB\n"))
	if err != nil || rss != 2048*1024 {
		t.Fatalf("VmRSS = %d, %v", rss, err)
	}
	stat := []byte("123 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 1 0")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 4*time.Second {
		t.Fatalf("cpu = %v, %v; want 4s", cpu, err)
	}
	if s, err := readProc(1); err == nil && s.RSS == 0 && s.CPU == 0 {
		t.Log("pid 1 has no RSS (container); fine")
	}
}

func TestTargetLists(t *testing.T) {
	ws, api, err := targetLists([]string{"http://127.0.0.1:1", "ws://127.0.0.1:2/ws"}, nil)
	if err != nil || len(ws) != 2 || ws[1] != "ws://127.0.0.1:2/ws" || len(api) != 2 || api[0] != "http://127.0.0.1:1" || api[1] != "http://127.0.0.1:2" {
		t.Fatalf("targetLists without API URLs = %q, %q, %v; want one API URL per target", ws, api, err)
	}
	ws, api, err = targetLists([]string{"ws://127.0.0.1:1/ws", "ws://127.0.0.1:2/ws"}, []string{"http://127.0.0.1:3", "http://localhost:1"})
	if err != nil || len(api) != 2 || api[0] != "http://127.0.0.1:3" {
		t.Fatalf("targetLists = %q, %q, %v", ws, api, err)
	}
	gw, apis := nodeIDs(ws, append(api, "http://127.0.0.1:2"))
	// Same host:port is the same node; localhost:1 is not 127.0.0.1:1.
	if gw[0] == gw[1] || apis[0] == gw[0] || apis[0] == gw[1] || apis[1] == gw[0] || apis[2] != gw[1] {
		t.Errorf("node ids: gateways %v, APIs %v", gw, apis)
	}
	if _, _, err := targetLists([]string{"ws://127.0.0.1:1/ws"}, []string{"ws://127.0.0.1:3"}); err == nil {
		t.Error("a ws:// API URL was accepted")
	}
}

func clusterSummary() *Summary {
	s := sampleSummary()
	s.Scenario = ScenarioCluster
	s.Conditions.Nodes = 3
	s.Conditions.URLs = []string{"ws://127.0.0.1:1/ws", "ws://127.0.0.1:2/ws"}
	s.Conditions.APIURLs = []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}
	var h Histogram
	for i := 1; i <= 10; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	l := latencyOf(&h)
	s.CrossNode = &CrossNode{SameNode: l, OtherNode: l, Gateways: []GatewayStats{
		{URL: "ws://127.0.0.1:1/ws", Viewers: 5000, Received: 110_000_000, Latency: l, SameNode: l, OtherNode: l, Resumed: 7},
		{URL: "ws://127.0.0.1:2/ws", Viewers: 5000, Received: 110_000_000, Latency: l, SameNode: l, OtherNode: l},
	}}
	s.Resume = &ResumeStats{Closed: 7, Viewers: 7, Resumed: 7, Recovered: 7, Back: l}
	s.Delivery.AckedChecked, s.Delivery.AckedMissing = 2200, 0
	s.Server.PIDs = []int{42, 43}
	s.Server.Processes = []ProcessStats{
		{PID: 42, RSSAfterBytes: 40 << 20, CPUSeconds: 20, CPUPercent: 90},
		{PID: 43, URL: "http://127.0.0.1:2", CPUSeconds: 10, CPUPercent: 46, Exited: true},
	}
	s.Goals = goals(scenarioSpec{Name: ScenarioCluster}, s)
	return s
}

func TestClusterGoals(t *testing.T) {
	s := clusterSummary()
	if len(s.Goals) != 4 {
		t.Fatalf("goals = %+v, want delivered, acknowledged lost, p99, back", s.Goals)
	}
	for _, g := range s.Goals {
		if !g.Met {
			t.Errorf("goal %q missed: %s", g.Name, g.Value)
		}
	}
	s.Delivery.AckedMissing = 1
	s.Resume.NotBack = 1
	met := map[string]bool{}
	for _, g := range goals(scenarioSpec{Name: ScenarioCluster}, s) {
		met[g.Name] = g.Met
	}
	if met["acknowledged messages lost"] || met["viewers back after a lost connection"] || !met["delivered"] {
		t.Errorf("with one acknowledged offset missing and one viewer not back: %v", met)
	}
	s.Delivery.Ratio = 1.001 // a failed publish that was stored after all
	s.Delivery.ViewersOver = 3
	if g := goals(scenarioSpec{Name: ScenarioCluster}, s); !g[0].Met {
		t.Errorf("delivered missed with viewers over and none short: %+v", g[0])
	}
}

func TestWriteTextCluster(t *testing.T) {
	var b bytes.Buffer
	if err := clusterSummary().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	wantLines(t, b.String(),
		"cluster      3 danmaku serve nodes",
		"targets      viewers over ws://127.0.0.1:1/ws ws://127.0.0.1:2/ws; publishers over http://127.0.0.1:1 http://127.0.0.1:2",
		"cross-node   published through the viewer's node: p50 5.",
		"ws://127.0.0.1:1/ws: 5000 viewers, 110000000 msgs; same node p50 5.",
		"; 7 resumes landed",
		"resume       7 connections closed under 7 viewers; 7 resumed (7 recovered, 0 not)",
		"0 of 2200 acknowledged (viewer, offset) pairs missing",
		"summed over 2 processes",
		"pid 42: RSS 0.0 MiB before, 40.0 MiB after",
		"pid 43 http://127.0.0.1:2: RSS 0.0 MiB before, 0.0 MiB after, 0.0 MiB peak; CPU 10.0s (46% of a core); exited during the run",
		"goal MET    viewers back after a lost connection: 7 viewers lost a connection, 0 not back; the last back after 0.0 s",
	)
}

func TestWriteJSONCluster(t *testing.T) {
	var b bytes.Buffer
	if err := clusterSummary().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	x := m["cross_node"].(map[string]any)
	gws := x["gateways"].([]any)
	if len(gws) != 2 || gws[0].(map[string]any)["url"] != "ws://127.0.0.1:1/ws" || x["same_node"].(map[string]any)["p99_ms"] == nil {
		t.Errorf("cross_node = %v", x)
	}
	if r := m["resume"].(map[string]any); r["recovered"].(float64) != 7 || r["back"] == nil {
		t.Errorf("resume = %v", r)
	}
	srv := m["server"].(map[string]any)
	if srv["pid"].(float64) != 42 || len(srv["pids"].([]any)) != 2 || len(srv["processes"].([]any)) != 2 {
		t.Errorf("server = %v", srv)
	}
	c := m["conditions"].(map[string]any)
	if _, ok := c["url"]; !ok || len(c["urls"].([]any)) != 2 || c["nodes"].(float64) != 3 {
		t.Errorf("conditions = %v", c)
	}
	if d := m["delivery"].(map[string]any); d["acked_checked"].(float64) != 2200 {
		t.Errorf("delivery = %v", d)
	}
}

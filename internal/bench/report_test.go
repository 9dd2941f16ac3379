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
		Connect:  ConnectStats{Target: 10000, Handshakes: 10000, Joined: 10000, Seconds: 0.5, HandshakesPerSec: 20000, HandshakeLatency: latencyOf(&h)},
		Publish:  &PublishStats{Messages: 22000, Requests: 2200, PerSec: 1000},
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
	if len(s.Goals) != 2 || !s.Goals[0].Met || !s.Goals[1].Met {
		t.Fatalf("goals = %+v, want both met (ratio 1, p99 %.1f ms)", s.Goals, s.Latency.P99Ms)
	}
	s.Delivery.Ratio, s.Delivery.Gaps = 0.999, 1
	s.Latency.P99Ms = 150
	for _, g := range goals(scenarioSpec{Name: ScenarioHotRoom}, s) {
		if g.Met {
			t.Errorf("goal %q met with ratio 0.999, a gap and p99 150 ms", g.Name)
		}
	}
	idle := &Summary{Server: ServerStats{PID: 1, RSSPerConnBytes: 5000}}
	if g := goals(scenarioSpec{Name: ScenarioIdle}, idle); len(g) != 1 || g[0].Met || g[0].Value != "4.88 KiB" {
		t.Errorf("idle goals = %+v, want one missed at 4.88 KiB", g)
	}
}

func TestWriteText(t *testing.T) {
	s := sampleSummary()
	s.Warnings = []string{"something odd"}
	var b bytes.Buffer
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"danmaku bench: hot-room",
		"10000 viewers, 1 rooms, 1000 msgs/s in requests of 10, 20s + 2s warmup",
		"permessage-deflate offered",
		"10000/10000 handshakes (0 failed) in 0.50s = 20000/s",
		"delivered    220000000 of 220000000 = 100.0000%",
		"latency      publish→receive min 1.00 ms, p50 50.",
		"p99 99.",
		"4194 B/conn (4.10 KiB)",
		"0.14 CPU-s per million deliveries",
		"load gen     CPU 12.0s (55% of a core)",
		"goal MET    delivered: 100.0000%, 0 gaps, 0 duplicates",
		"warning      something odd",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	s := sampleSummary()
	var b bytes.Buffer
	if err := s.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, b.String())
	}
	for _, k := range []string{"scenario", "goals_met", "goals", "conditions", "connect", "publish", "delivery", "latency", "server", "loadgen"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if _, ok := m["ingress"]; ok {
		t.Error("JSON has an ingress section for hot-room")
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

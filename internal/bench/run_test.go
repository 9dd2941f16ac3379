package bench_test

import (
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bench"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/stacktest"
)

// TestScenariosEndToEnd runs tiny versions of the scenarios against a real
// node started in-process, with in-process workers.
func TestScenariosEndToEnd(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	base := bench.Config{URL: st.WSURL, APIKey: st.APIKey, Drain: 10 * time.Second, Settle: 200 * time.Millisecond}

	t.Run("hot-room", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Viewers, cfg.Rooms, cfg.Rate, cfg.Batch = bench.ScenarioHotRoom, 50, 2, 100, 5
		cfg.Duration, cfg.Warmup = 3*time.Second, 500*time.Millisecond
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		d := s.Delivery
		if d.Ratio != 1 || d.Gaps != 0 || d.Duplicates != 0 || d.ViewersShort != 0 || d.ViewersOver != 0 || d.Malformed != 0 {
			t.Errorf("delivery = %+v, want everything once, in order", d)
		}
		if d.Expected != s.Publish.Messages*25 || s.Publish.Messages < 300 {
			t.Errorf("expected %d deliveries for %d published messages (2 rooms of 25)", d.Expected, s.Publish.Messages)
		}
		if d.SampleViewers != 10 || d.SampleMsgs == 0 {
			t.Errorf("%d sample viewers checked %d messages, want 10 and some", d.SampleViewers, d.SampleMsgs)
		}
		if s.Latency.Count == 0 || s.Latency.P50Ms <= 0 || s.Latency.P50Ms > 1000 {
			t.Errorf("latency = %+v", s.Latency)
		}
		if s.Connect.Handshakes != 50 || s.Connect.Joined != 50 {
			t.Errorf("connect = %+v", s.Connect)
		}
	})
	t.Run("hot-room-plain", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Viewers, cfg.Rooms, cfg.Rate, cfg.Batch, cfg.NoCompression = bench.ScenarioHotRoom, 20, 1, 200, 10, true
		cfg.Duration, cfg.Warmup, cfg.Text = time.Second, -1, "bench"
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if d := s.Delivery; d.Ratio != 1 || d.Gaps != 0 || d.Duplicates != 0 {
			t.Errorf("delivery without compression = %+v", d)
		}
		if by := s.Bytes; by.Plain.Viewers != 20 || by.Plain.Messages != s.Delivery.Received || by.Deflate.Viewers != 0 || by.Deflate.Messages != 0 {
			t.Errorf("bytes without compression = %+v, want 20 plain viewers with every delivery", by)
		}
		if c := s.Conditions; c.Text != "bench" || c.TextSeed != 0 || c.Compression || c.DeflateShare != 0 {
			t.Errorf("conditions = %+v, want the fixed text and no deflate", c)
		}
	})
	// Half the viewers offer deflate: both kinds' bytes come from one run,
	// on the same frames.
	t.Run("hot-room-mixed", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Viewers, cfg.Rooms, cfg.Rate, cfg.Batch, cfg.DeflateShare = bench.ScenarioHotRoom, 40, 2, 200, 10, 0.5
		cfg.Duration, cfg.Warmup = time.Second, -1
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		d, by := s.Delivery, s.Bytes
		if d.Ratio != 1 || d.Gaps != 0 || d.Duplicates != 0 || d.Malformed != 0 {
			t.Errorf("delivery to mixed viewers = %+v", d)
		}
		p, z := by.Plain, by.Deflate
		if p.Viewers < 10 || z.Viewers < 10 || p.Viewers+z.Viewers != s.Connect.Joined || p.Messages+z.Messages != d.Received {
			t.Fatalf("bytes = %+v: want both kinds, adding up to the %d joined viewers and %d deliveries", by, s.Connect.Joined, d.Received)
		}
		for _, w := range []bench.WireBytes{p, z} {
			// A message's JSON alone (offset, prev, id, type, text, ts and
			// the bench's data) is over 100 bytes.
			if w.Frames == 0 || w.WireBytes < w.BatchBytes || w.BatchBytesPerMsg <= 0 || w.WireBytesPerMsg < w.BatchBytesPerMsg {
				t.Errorf("bytes of one kind = %+v", w)
			}
		}
		t.Logf("plain %+v\ndeflate %+v", p, z)
		if p.BatchBytesPerMsg < 100 || z.BatchBytesPerMsg >= p.BatchBytesPerMsg || by.DeflateSaving <= 0 || by.DeflateSaving >= 1 {
			t.Errorf("plain %.1f B/msg, deflate %.1f B/msg, saving %.3f: want deflate smaller", p.BatchBytesPerMsg, z.BatchBytesPerMsg, by.DeflateSaving)
		}
		if c := s.Conditions; c.DeflateShare != 0.5 || !c.Compression || c.TextSeed != 1 || c.Text != "" {
			t.Errorf("conditions = %+v, want half deflate and the corpus of seed 1", c)
		}
	})
	t.Run("ingress", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Viewers, cfg.Rooms = bench.ScenarioIngress, 20, 20
		cfg.Duration, cfg.Warmup = time.Second, 200*time.Millisecond
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		in := s.Ingress
		if in.Accepted == 0 || in.AcceptedPerSec <= 0 || in.Nacked != 0 || in.AckLatency.Count == 0 {
			t.Errorf("ingress = %+v", in)
		}
	})
	// The api scenario's publishers send each request as soon as the last
	// one was answered: as many requests as the server answers, every
	// message delivered, and the goal judged on requests per second.
	t.Run("api", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Publishers = bench.ScenarioAPI, 4
		cfg.Duration, cfg.Warmup = time.Second, 200*time.Millisecond
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, d := s.Publish, s.Delivery
		if p.Failures != 0 || p.Requests < 20 || p.Messages != p.Requests || p.RequestsPerSec <= 0 || p.RequestLatency.Count != p.Requests {
			t.Errorf("publish = %+v, want back-to-back requests of one message, all answered", p)
		}
		if d.Ratio != 1 || d.Gaps != 0 || d.Duplicates != 0 || d.Expected != p.Messages {
			t.Errorf("delivery = %+v, want each of %d messages to its room's one viewer", d, p.Messages)
		}
		if len(s.Goals) != 2 || s.Goals[0].Name != "publish requests per second" {
			t.Errorf("goals = %+v", s.Goals)
		}
		for _, w := range s.Warnings {
			if strings.Contains(w, "schedule") {
				t.Errorf("a run without a schedule warned %q", w)
			}
		}
	})
	t.Run("connect-storm", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.Viewers = bench.ScenarioConnectStorm, 100
		s, err := bench.Run(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if s.Connect.Handshakes != 100 || s.Connect.HandshakesPerSec <= 0 || len(s.Goals) != 1 {
			t.Errorf("connect = %+v, goals %+v", s.Connect, s.Goals)
		}
	})
	t.Run("refuses non-loopback", func(t *testing.T) {
		cfg := base
		cfg.Scenario, cfg.URL = bench.ScenarioIdle, "ws://192.0.2.1:80/ws"
		if _, err := bench.Run(t.Context(), cfg); err == nil {
			t.Error("a non-loopback target was accepted")
		}
	})
}

// Slow viewers, reading far slower than their room, are closed with 4008
// once their unsent bytes pass the server's limit, while the regular
// viewers of the same room get every message and every publish request is
// answered.
func TestSlowViewersAreClosedAndCostNobody(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{Gateway: gateway.Config{MaxPendingBytes: 64 << 10}})
	cfg := bench.Config{URL: st.WSURL, APIKey: st.APIKey, Drain: 10 * time.Second,
		Scenario: bench.ScenarioHotRoom, Viewers: 20, Rooms: 1, Rate: 4000, Batch: 100,
		Duration: 5 * time.Second, Warmup: 200 * time.Millisecond, NoCompression: true,
		Text:        strings.Repeat("慢速观众测试", 16),
		SlowViewers: 2, SlowRead: 1024}
	s, err := bench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sl := s.Slow; sl == nil || sl.Viewers != 2 || sl.Closes["4008 slow consumer"]+sl.Closes["closed by the server, no close frame"] != 2 || sl.BytesRead == 0 {
		t.Errorf("slow viewers = %+v, want both closed by the server after reading some", s.Slow)
	}
	if _, body := st.Do(t, "GET", "/metrics", nil); !strings.Contains(string(body), `danmaku_drops_total{reason="slow_consumer"} 2`) {
		t.Error("the server did not count two slow-consumer drops")
	}
	if d := s.Delivery; d.Ratio != 1 || d.Gaps != 0 || d.Duplicates != 0 || d.ViewersShort != 0 || d.Expected != 20*s.Publish.Messages {
		t.Errorf("delivery to the regular viewers = %+v", d)
	}
	if p := s.Publish; p.Failures != 0 || p.Messages == 0 {
		t.Errorf("publish = %+v, want every request answered", p)
	}
}

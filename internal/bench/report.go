package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Summary is the result of a run; --json prints it as one object. Rates are
// over the measured window (Conditions.Duration plus warmup, for
// publishing; the timed connect, for a storm). Sections that do not apply
// to the scenario are omitted.
type Summary struct {
	Scenario string `json:"scenario"`
	// GoalsMet is true when every goal in Goals was met.
	GoalsMet   bool          `json:"goals_met"`
	Goals      []Goal        `json:"goals"`
	Conditions Conditions    `json:"conditions"`
	Connect    ConnectStats  `json:"connect"`
	Publish    *PublishStats `json:"publish,omitempty"`
	Delivery   *Delivery     `json:"delivery,omitempty"`
	// Latency is publish→receive: the viewer's receive time minus the
	// data.t the publisher stamped just before its HTTP request, over every
	// message every viewer received after the warmup.
	Latency  *Latency      `json:"latency,omitempty"`
	Ingress  *IngressStats `json:"ingress,omitempty"`
	Server   ServerStats   `json:"server"`
	LoadGen  LoadGenStats  `json:"loadgen"`
	Host     HostStats     `json:"host"`
	Warnings []string      `json:"warnings,omitempty"`
}

// Goal is one of a scenario's goals (docs/benchmarks.md) and how the run did
// against it.
type Goal struct {
	Name  string `json:"name"`
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
}

// Conditions say what ran, where, and with which settings.
type Conditions struct {
	Started       time.Time `json:"started"`
	GoVersion     string    `json:"go_version"`
	CPUs          int       `json:"cpus"`
	Server        string    `json:"server"` // "child" (started by the bench) or "external"
	ServerArgs    []string  `json:"server_args,omitempty"`
	URL           string    `json:"url"`
	Viewers       int       `json:"viewers"`
	Rooms         int       `json:"rooms"`
	Rate          float64   `json:"rate,omitempty"`  // messages/s requested
	Batch         int       `json:"batch,omitempty"` // messages per publish request
	Duration      string    `json:"duration"`
	Warmup        string    `json:"warmup"`
	Workers       int       `json:"workers"`
	Sources       int       `json:"source_addresses"`
	SampleViewers int       `json:"sample_viewers"`
	Window        int       `json:"window,omitempty"`    // ingress sends in flight per connection
	SendRate      float64   `json:"send_rate,omitempty"` // ingress sends per second per connection (0: unpaced)
	// Compression: viewers offered permessage-deflate.
	Compression bool `json:"compression"`
}

// ConnectStats covers opening the connections.
type ConnectStats struct {
	Target     int `json:"target"`
	Handshakes int `json:"handshakes"`
	Failed     int `json:"failed"`
	Joined     int `json:"joined"`
	// Seconds from the connect command to the last handshake (slowest
	// worker); JoinSeconds to the last joined reply.
	Seconds          float64        `json:"seconds"`
	JoinSeconds      float64        `json:"join_seconds,omitempty"`
	HandshakesPerSec float64        `json:"handshakes_per_sec"`
	HandshakeLatency Latency        `json:"handshake_latency"` // dial start → 101 received
	Errors           map[string]int `json:"errors,omitempty"`
}

// PublishStats covers the HTTP publisher.
type PublishStats struct {
	Messages   uint64  `json:"messages"` // stored (offsets returned)
	Requests   uint64  `json:"requests"`
	Failures   uint64  `json:"failures"`
	PerSec     float64 `json:"per_sec"`
	MaxLagMs   float64 `json:"max_lag_ms"` // worst delay of a request behind its schedule
	FirstError string  `json:"first_error,omitempty"`
	// RequestLatency is the HTTP round trip of the successful requests
	// (validate, store, answer): the part of publish→receive before the
	// gateway.
	RequestLatency Latency `json:"request_latency"`
}

// Delivery checks what viewers received against what was published.
type Delivery struct {
	// Expected is Σ over rooms of published × viewers in the room.
	Expected uint64  `json:"expected"`
	Received uint64  `json:"received"`
	Ratio    float64 `json:"ratio"`
	// Frames are batch frames received; DeliveriesPerSec counts messages.
	Frames           uint64  `json:"frames"`
	FramesPerSec     float64 `json:"frames_per_sec"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	MsgsPerFrame     float64 `json:"msgs_per_frame"`
	// Sample viewers decode every batch and check offsets and prev.
	SampleViewers int    `json:"sample_viewers"`
	SampleMsgs    uint64 `json:"sample_msgs"`
	Gaps          uint64 `json:"gaps"`
	Duplicates    uint64 `json:"duplicates"`
	// Every viewer's count against its room's published count.
	ViewersShort int               `json:"viewers_short"`
	ViewersOver  int               `json:"viewers_over"`
	Missing      uint64            `json:"missing"`
	Malformed    uint64            `json:"malformed"`
	Closes       map[string]uint64 `json:"closes,omitempty"` // unexpected closes by code
}

// Latency is a distribution in milliseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func latencyOf(h *Histogram) Latency {
	f := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		Count: h.N, MinMs: f(h.Quantile(0)), MeanMs: f(h.Mean()),
		P50Ms: f(h.Quantile(0.5)), P90Ms: f(h.Quantile(0.9)), P99Ms: f(h.Quantile(0.99)),
		P999Ms: f(h.Quantile(0.999)), MaxMs: f(h.Quantile(1)),
	}
}

// IngressStats covers sends over WebSocket.
type IngressStats struct {
	Sent     uint64 `json:"sent"`
	Accepted uint64 `json:"accepted"` // acks
	Nacked   uint64 `json:"nacked"`
	// AcceptedPerSec counts acks of sends made after the warmup, over the
	// measured duration.
	AcceptedPerSec float64 `json:"accepted_per_sec"`
	// OfferedPerSec is what the paced connections try to send (0: unpaced).
	OfferedPerSec float64           `json:"offered_per_sec,omitempty"`
	NackCodes     map[string]uint64 `json:"nack_codes,omitempty"`
	AckLatency    Latency           `json:"ack_latency"` // send → ack
}

// ServerStats are read from /proc/<pid> of the server.
type ServerStats struct {
	PID int `json:"pid,omitempty"`
	// RSS before the viewers connected, after (Settle later, for idle),
	// and the highest seen.
	RSSBeforeBytes  int64   `json:"rss_before_bytes"`
	RSSAfterBytes   int64   `json:"rss_after_bytes"`
	RSSPeakBytes    int64   `json:"rss_peak_bytes"`
	RSSPerConnBytes float64 `json:"rss_per_conn_bytes"` // (after − before) / connections
	// CPU over the measured window; CPUPercent is of one core.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPercent float64 `json:"cpu_percent"`
	// CPUSecPerMillionDeliveries is CPUSeconds per million messages
	// received by viewers (publishing scenarios).
	CPUSecPerMillionDeliveries float64 `json:"cpu_sec_per_million_deliveries,omitempty"`
	// CPUMicrosPerHandshake is CPUSeconds per handshake (connect storm).
	CPUMicrosPerHandshake float64 `json:"cpu_us_per_handshake,omitempty"`
	// CPUMicrosPerAccepted is CPUSeconds per acked send (ingress).
	CPUMicrosPerAccepted float64 `json:"cpu_us_per_accepted,omitempty"`
}

// LoadGenStats is the load generator's own CPU (workers and parent) over
// the same window as the server's: both share the host's cores.
type LoadGenStats struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPercent float64 `json:"cpu_percent"`
	// TotalCPUSeconds is the workers' whole lifetime plus the parent's.
	TotalCPUSeconds float64 `json:"total_cpu_seconds"`
}

// HostStats describe the whole machine over the measured window, from
// /proc/stat: other processes share its cores.
type HostStats struct {
	BusyPercent float64 `json:"busy_percent"` // of all CPUs
	LoadAvg     float64 `json:"loadavg_1m"`   // at the start of the run
}

// WriteJSON writes s as one indented JSON object.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText writes a human summary.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	c := s.Conditions
	fmt.Fprintf(&b, "danmaku bench: %s\n", s.Scenario)
	fmt.Fprintf(&b, "  conditions   %d viewers, %d rooms", c.Viewers, c.Rooms)
	if c.Rate > 0 {
		fmt.Fprintf(&b, ", %g msgs/s in requests of %d", c.Rate, c.Batch)
	}
	deflate := "off"
	if c.Compression {
		deflate = "offered"
	}
	fmt.Fprintf(&b, ", %s + %s warmup; %d workers, %d source addresses; permessage-deflate %s; %d CPUs, %s; server %s\n",
		c.Duration, c.Warmup, c.Workers, c.Sources, deflate, c.CPUs, c.GoVersion, c.Server)
	if len(c.ServerArgs) > 0 {
		fmt.Fprintf(&b, "  server args  %s\n", strings.Join(c.ServerArgs, " "))
	}
	cs := s.Connect
	fmt.Fprintf(&b, "  connect      %d/%d handshakes (%d failed) in %.2fs = %.0f/s; handshake p50 %.1f ms p99 %.1f ms",
		cs.Handshakes, cs.Target, cs.Failed, cs.Seconds, cs.HandshakesPerSec, cs.HandshakeLatency.P50Ms, cs.HandshakeLatency.P99Ms)
	if cs.Joined > 0 {
		fmt.Fprintf(&b, "; %d joined by %.2fs", cs.Joined, cs.JoinSeconds)
	}
	b.WriteString("\n")
	for _, k := range slices.Sorted(maps.Keys(cs.Errors)) {
		fmt.Fprintf(&b, "               dial error %q ×%d\n", k, cs.Errors[k])
	}
	if p := s.Publish; p != nil {
		fmt.Fprintf(&b, "  publish      %d messages in %d requests (%.0f msgs/s), %d failed, max lag %.1f ms; request p50 %.2f ms p99 %.2f ms\n",
			p.Messages, p.Requests, p.PerSec, p.Failures, p.MaxLagMs, p.RequestLatency.P50Ms, p.RequestLatency.P99Ms)
		if p.FirstError != "" {
			fmt.Fprintf(&b, "               first error: %s\n", p.FirstError)
		}
	}
	if d := s.Delivery; d != nil {
		fmt.Fprintf(&b, "  delivered    %d of %d = %.4f%%; %d viewers short (%d msgs missing), %d over\n",
			d.Received, d.Expected, 100*d.Ratio, d.ViewersShort, d.Missing, d.ViewersOver)
		fmt.Fprintf(&b, "  order        %d sample viewers checked %d msgs: %d gaps, %d duplicates, %d malformed frames\n",
			d.SampleViewers, d.SampleMsgs, d.Gaps, d.Duplicates, d.Malformed)
		fmt.Fprintf(&b, "  throughput   %.0f deliveries/s in %.0f frames/s (%.1f msgs/frame)\n",
			d.DeliveriesPerSec, d.FramesPerSec, d.MsgsPerFrame)
		for _, k := range slices.Sorted(maps.Keys(d.Closes)) {
			fmt.Fprintf(&b, "               closed by server or network: code %s ×%d\n", k, d.Closes[k])
		}
	}
	if l := s.Latency; l != nil {
		fmt.Fprintf(&b, "  latency      publish→receive min %.2f ms, p50 %.2f, p90 %.2f, p99 %.2f, p99.9 %.2f, max %.2f (%d samples)\n",
			l.MinMs, l.P50Ms, l.P90Ms, l.P99Ms, l.P999Ms, l.MaxMs, l.Count)
	}
	if in := s.Ingress; in != nil {
		fmt.Fprintf(&b, "  ingress      %.0f accepted msgs/s (offered %.0f/s: %g/s on each connection, %d in flight at most); %d sent, %d acked, %d nacked; ack p50 %.1f ms p99 %.1f ms\n",
			in.AcceptedPerSec, in.OfferedPerSec, s.Conditions.SendRate, s.Conditions.Window, in.Sent, in.Accepted, in.Nacked, in.AckLatency.P50Ms, in.AckLatency.P99Ms)
		for _, k := range slices.Sorted(maps.Keys(in.NackCodes)) {
			fmt.Fprintf(&b, "               refused %q ×%d\n", k, in.NackCodes[k])
		}
	}
	sv := s.Server
	if sv.PID > 0 {
		fmt.Fprintf(&b, "  server       pid %d; RSS %s before, %s after, %s peak; %.0f B/conn (%.2f KiB); CPU %.1fs (%.0f%% of a core)",
			sv.PID, mib(sv.RSSBeforeBytes), mib(sv.RSSAfterBytes), mib(sv.RSSPeakBytes), sv.RSSPerConnBytes, sv.RSSPerConnBytes/1024, sv.CPUSeconds, sv.CPUPercent)
		if sv.CPUMicrosPerAccepted > 0 {
			fmt.Fprintf(&b, "; %.0f CPU-µs per accepted message", sv.CPUMicrosPerAccepted)
		}
		if sv.CPUMicrosPerHandshake > 0 {
			fmt.Fprintf(&b, "; %.0f CPU-µs per handshake", sv.CPUMicrosPerHandshake)
		}
		if sv.CPUSecPerMillionDeliveries > 0 {
			fmt.Fprintf(&b, "; %.2f CPU-s per million deliveries", sv.CPUSecPerMillionDeliveries)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("  server       not sampled (external server without --server-pid)\n")
	}
	fmt.Fprintf(&b, "  load gen     CPU %.1fs (%.0f%% of a core) in the window; %.1fs in all\n",
		s.LoadGen.CPUSeconds, s.LoadGen.CPUPercent, s.LoadGen.TotalCPUSeconds)
	if s.Host.BusyPercent > 0 {
		fmt.Fprintf(&b, "  host         %.0f%% of all CPUs busy in the window (everything: server, load generator, kernel, other processes); load average %.2f at the start\n",
			s.Host.BusyPercent, s.Host.LoadAvg)
	}
	for _, g := range s.Goals {
		mark := "MET   "
		if !g.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(&b, "  goal %s %s: %s (goal %s)\n", mark, g.Name, g.Value, g.Goal)
	}
	for _, wmsg := range s.Warnings {
		fmt.Fprintf(&b, "  warning      %s\n", wmsg)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// progressLine formats one second of progress.
func progressLine(elapsed time.Duration, phase string, conns, joined int64, pub, deliv, frames, acks float64, srv procSample, srvCPU, genCPU, hostBusy float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5.0fs %-8s conns %6d joined %6d", elapsed.Seconds(), phase, conns, joined)
	if pub > 0 {
		fmt.Fprintf(&b, "  pub %s/s", si(pub))
	}
	if deliv > 0 || frames > 0 {
		fmt.Fprintf(&b, "  deliv %s/s frames %s/s", si(deliv), si(frames))
	}
	if acks > 0 {
		fmt.Fprintf(&b, "  acks %s/s", si(acks))
	}
	if srv.RSS > 0 {
		fmt.Fprintf(&b, "  server rss %s cpu %3.0f%%", mib(srv.RSS), srvCPU)
	}
	fmt.Fprintf(&b, "  gen cpu %3.0f%%  host busy %3.0f%%", genCPU, hostBusy)
	return b.String()
}

// si formats a rate with a k or M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
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
	// Bytes is what the viewers read per delivered message, by whether
	// their connection negotiated permessage-deflate (publishing).
	Bytes *BytesStats `json:"bytes,omitempty"`
	// Latency is publish→receive: the viewer's receive time minus the
	// data.t the publisher stamped just before its HTTP request, over every
	// message every viewer received after the warmup.
	Latency *Latency `json:"latency,omitempty"`
	// CrossNode breaks Latency down by gateway and by whether the message
	// was published through the viewer's own node (publishing scenarios).
	CrossNode *CrossNode `json:"cross_node,omitempty"`
	// Resume covers viewers whose connection was closed under them and
	// who came back on another URL (publishing scenarios, when any was).
	Resume   *ResumeStats  `json:"resume,omitempty"`
	Ingress  *IngressStats `json:"ingress,omitempty"`
	Slow     *SlowStats    `json:"slow,omitempty"`
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
	Started    time.Time `json:"started"`
	GoVersion  string    `json:"go_version"`
	CPUs       int       `json:"cpus"`
	Server     string    `json:"server"` // "child" (started by the bench) or "external"
	ServerArgs []string  `json:"server_args,omitempty"`
	URL        string    `json:"url"` // the first gateway
	// URLs and APIURLs are every gateway and API URL, when more than one
	// of either; Nodes the servers the bench started (0: external).
	URLs          []string `json:"urls,omitempty"`
	APIURLs       []string `json:"api_urls,omitempty"`
	Nodes         int      `json:"nodes,omitempty"`
	Viewers       int      `json:"viewers"`
	Rooms         int      `json:"rooms"`
	Rate          float64  `json:"rate,omitempty"`  // messages/s requested
	Batch         int      `json:"batch,omitempty"` // messages per publish request
	Duration      string   `json:"duration"`
	Warmup        string   `json:"warmup"`
	Workers       int      `json:"workers"`
	Sources       int      `json:"source_addresses"`
	SampleViewers int      `json:"sample_viewers"`
	Window        int      `json:"window,omitempty"`    // ingress sends in flight per connection
	SendRate      float64  `json:"send_rate,omitempty"` // ingress sends per second per connection (0: unpaced)
	// Compression: viewers offered permessage-deflate; DeflateShare of
	// them did.
	Compression  bool    `json:"compression"`
	DeflateShare float64 `json:"deflate_share"`
	// Text is the fixed text of every published message; without it,
	// TextSeed seeded the corpus the texts came from (publishing).
	Text     string `json:"text,omitempty"`
	TextSeed uint64 `json:"text_seed,omitempty"`
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
	Messages       uint64  `json:"messages"` // stored (offsets returned)
	Requests       uint64  `json:"requests"`
	Failures       uint64  `json:"failures"`
	PerSec         float64 `json:"per_sec"`          // messages stored per second
	RequestsPerSec float64 `json:"requests_per_sec"` // publish requests answered (successfully) per second
	MaxLagMs       float64 `json:"max_lag_ms"`       // worst delay of a request behind its schedule
	FirstError     string  `json:"first_error,omitempty"`
	// RequestLatency is the HTTP round trip of the successful requests
	// (validate, store, answer): the part of publish→receive before the
	// gateway.
	RequestLatency Latency `json:"request_latency"`
	// APIs is each API URL's share, when there are several.
	APIs []APIStats `json:"apis,omitempty"`
}

// SlowStats are the slow viewers (Config.SlowViewers) and how they ended.
type SlowStats struct {
	Viewers         int   `json:"viewers"`
	ReadBytesPerSec int   `json:"read_bytes_per_sec"` // each
	BytesRead       int64 `json:"bytes_read"`         // all of them
	// Closes counts how they ended: a close code ("4008 slow consumer"),
	// "closed by the server, no close frame" (the frame was queued behind
	// unsent bytes the server dropped with the socket) or "open at the end".
	Closes map[string]int `json:"closes"`
}

// APIStats is one API URL's part of the publishing.
type APIStats struct {
	URL            string  `json:"url"`
	Requests       uint64  `json:"requests"`
	Messages       uint64  `json:"messages"`
	Failures       uint64  `json:"failures"`
	RequestLatency Latency `json:"request_latency"`
}

// CrossNode is publish→receive latency by where the message went in and
// out. A message published through API URL a and received through gateway
// g stayed on one node when a and g have the same host:port (danmaku
// serve nodes); with separate gateway and logic processes every delivery
// is cross-node. Both go through NATS in a cluster: "same node" means the
// same process at both ends, not a shorter path.
type CrossNode struct {
	SameNode  Latency        `json:"same_node"`
	OtherNode Latency        `json:"other_node"`
	Gateways  []GatewayStats `json:"gateways"`
}

// GatewayStats is what the viewers received through one gateway URL.
type GatewayStats struct {
	URL string `json:"url"`
	// Viewers first connected here; Received counts every message through
	// it, resumed viewers included.
	Viewers   int     `json:"viewers"`
	Received  uint64  `json:"received"`
	Latency   Latency `json:"latency"`
	SameNode  Latency `json:"same_node"`
	OtherNode Latency `json:"other_node"`
	// Resumed counts the resumes that landed here.
	Resumed uint64 `json:"resumed,omitempty"`
}

// ResumeStats covers viewers that lost their connection and came back.
type ResumeStats struct {
	Closed  uint64 `json:"closed"`  // connections closed by the server or the network
	Viewers int    `json:"viewers"` // viewers that lost a connection at least once
	Resumed uint64 `json:"resumed"` // joined again on a new connection
	// Recovered resumes got recovered:true (the exact messages after
	// since); the others the recent history.
	Recovered    uint64 `json:"recovered"`
	NotRecovered uint64 `json:"not_recovered"`
	DialFailures uint64 `json:"dial_failures"` // resume dials or handshakes that failed
	NotBack      int    `json:"not_back"`      // viewers still without a joined connection at the end
	// Back is from the close to the joined reply on the new connection.
	Back Latency `json:"back"`
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
	// The sample viewers looked for every acknowledged offset of their
	// room (the publisher keeps the offsets each request was answered
	// with): AckedChecked pairs of viewer and offset, AckedMissing of them
	// never received. Nonzero missing is an acknowledged message lost.
	AckedChecked uint64 `json:"acked_checked"`
	AckedMissing uint64 `json:"acked_missing"`
}

// BytesStats is what the viewers read from their sockets: TCP payload,
// the handshake's headers excluded. Every viewer of a room receives the
// same frames, so the bytes per message of the two kinds compare like for
// like within one run.
type BytesStats struct {
	Plain   WireBytes `json:"plain"`
	Deflate WireBytes `json:"deflate"`
	// DeflateSaving is 1 − deflate's batch bytes per message ÷ plain's,
	// when both kinds received messages.
	DeflateSaving float64 `json:"deflate_saving,omitempty"`
}

// WireBytes is what one kind of viewer (plain or deflate) read.
type WireBytes struct {
	// Viewers that joined, by what their last connection negotiated.
	Viewers int `json:"viewers"`
	// Messages are the room messages they received, in Frames batch frames.
	Messages uint64 `json:"messages"`
	Frames   uint64 `json:"frames"`
	// BatchBytes are the batch frames as read: WebSocket headers and
	// payloads, compressed for deflate viewers. WireBytes is every byte
	// read: batch frames, joined replies, online counts, pongs, closes.
	BatchBytes uint64 `json:"batch_bytes"`
	WireBytes  uint64 `json:"wire_bytes"`
	// Per message received: what a delivered message costs on the wire.
	BatchBytesPerMsg float64 `json:"batch_bytes_per_msg"`
	WireBytesPerMsg  float64 `json:"wire_bytes_per_msg"`
}

func (w *WireBytes) add(r wireReport) {
	w.Viewers += r.Viewers
	w.Messages += r.Msgs
	w.Frames += r.Frames
	w.BatchBytes += r.BatchBytes
	w.WireBytes += r.Bytes
}

func newBytesStats(plain, deflate WireBytes) *BytesStats {
	for _, w := range []*WireBytes{&plain, &deflate} {
		if w.Messages > 0 {
			w.BatchBytesPerMsg = float64(w.BatchBytes) / float64(w.Messages)
			w.WireBytesPerMsg = float64(w.WireBytes) / float64(w.Messages)
		}
	}
	b := &BytesStats{Plain: plain, Deflate: deflate}
	if plain.Messages > 0 && deflate.Messages > 0 {
		b.DeflateSaving = 1 - deflate.BatchBytesPerMsg/plain.BatchBytesPerMsg
	}
	return b
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

// ServerStats are read from /proc/<pid> of the server. With several
// processes (a cluster's nodes and NATS servers) the RSS and CPU fields are
// their sums, PID is the first, and Processes has each.
type ServerStats struct {
	PID       int            `json:"pid,omitempty"`
	PIDs      []int          `json:"pids,omitempty"`
	Processes []ProcessStats `json:"processes,omitempty"`
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

// ProcessStats is one server process over the same samples as
// ServerStats. A process that exited during the run (Exited) counts the
// CPU of its last reading and no RSS after it.
type ProcessStats struct {
	PID            int     `json:"pid"`
	URL            string  `json:"url,omitempty"` // when the bench started it
	RSSBeforeBytes int64   `json:"rss_before_bytes"`
	RSSAfterBytes  int64   `json:"rss_after_bytes"`
	RSSPeakBytes   int64   `json:"rss_peak_bytes"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	CPUPercent     float64 `json:"cpu_percent"`
	Exited         bool    `json:"exited,omitempty"`
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
	if c.Rate < 0 {
		fmt.Fprintf(&b, ", publishing as fast as answers return in requests of %d", c.Batch)
	}
	if c.Rate > 0 {
		fmt.Fprintf(&b, ", %g msgs/s in requests of %d", c.Rate, c.Batch)
	}
	deflate := "off"
	switch {
	case c.Compression && c.DeflateShare < 1:
		deflate = fmt.Sprintf("offered by %.0f%% of viewers", 100*c.DeflateShare)
	case c.Compression:
		deflate = "offered"
	}
	fmt.Fprintf(&b, ", %s + %s warmup; %d workers, %d source addresses; permessage-deflate %s; %d CPUs, %s; server %s\n",
		c.Duration, c.Warmup, c.Workers, c.Sources, deflate, c.CPUs, c.GoVersion, c.Server)
	if len(c.ServerArgs) > 0 {
		fmt.Fprintf(&b, "  server args  %s\n", strings.Join(c.ServerArgs, " "))
	}
	switch {
	case c.Text != "":
		fmt.Fprintf(&b, "  texts        every message %q\n", c.Text)
	case c.TextSeed != 0:
		fmt.Fprintf(&b, "  texts        varied corpus (internal/bench/corpus), seed %d\n", c.TextSeed)
	}
	if c.Nodes > 1 {
		fmt.Fprintf(&b, "  cluster      %d danmaku serve nodes started by the bench, embedded NATS clustered over routes\n", c.Nodes)
	}
	if len(c.URLs) > 1 || len(c.APIURLs) > 1 {
		fmt.Fprintf(&b, "  targets      viewers over %s; publishers over %s\n", strings.Join(orOne(c.URLs, c.URL), " "), strings.Join(c.APIURLs, " "))
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
		fmt.Fprintf(&b, "  publish      %d messages in %d requests (%.0f msgs/s, %.0f requests/s), %d failed, max lag %.1f ms; request p50 %.2f ms p99 %.2f ms\n",
			p.Messages, p.Requests, p.PerSec, p.RequestsPerSec, p.Failures, p.MaxLagMs, p.RequestLatency.P50Ms, p.RequestLatency.P99Ms)
		if p.FirstError != "" {
			fmt.Fprintf(&b, "               first error: %s\n", p.FirstError)
		}
		for _, a := range p.APIs {
			fmt.Fprintf(&b, "               %s: %d messages in %d requests, %d failed; request p50 %.2f ms p99 %.2f ms\n",
				a.URL, a.Messages, a.Requests, a.Failures, a.RequestLatency.P50Ms, a.RequestLatency.P99Ms)
		}
	}
	if sl := s.Slow; sl != nil {
		fmt.Fprintf(&b, "  slow         %d viewers reading %d B/s each (%d B read in all), not in the totals; ended:", sl.Viewers, sl.ReadBytesPerSec, sl.BytesRead)
		for _, k := range slices.Sorted(maps.Keys(sl.Closes)) {
			fmt.Fprintf(&b, " %s ×%d", k, sl.Closes[k])
		}
		b.WriteString("\n")
	}
	if d := s.Delivery; d != nil {
		fmt.Fprintf(&b, "  delivered    %d of %d = %.4f%%; %d viewers short (%d msgs missing), %d over\n",
			d.Received, d.Expected, 100*d.Ratio, d.ViewersShort, d.Missing, d.ViewersOver)
		fmt.Fprintf(&b, "  order        %d sample viewers checked %d msgs: %d gaps, %d duplicates, %d malformed frames; %d of %d acknowledged (viewer, offset) pairs missing\n",
			d.SampleViewers, d.SampleMsgs, d.Gaps, d.Duplicates, d.Malformed, d.AckedMissing, d.AckedChecked)
		fmt.Fprintf(&b, "  throughput   %.0f deliveries/s in %.0f frames/s (%.1f msgs/frame)\n",
			d.DeliveriesPerSec, d.FramesPerSec, d.MsgsPerFrame)
		for _, k := range slices.Sorted(maps.Keys(d.Closes)) {
			fmt.Fprintf(&b, "               closed by server or network: code %s ×%d\n", k, d.Closes[k])
		}
	}
	if by := s.Bytes; by != nil {
		for _, k := range []struct {
			name string
			w    WireBytes
		}{{"plain  ", by.Plain}, {"deflate", by.Deflate}} {
			if k.w.Viewers == 0 && k.w.Messages == 0 {
				continue
			}
			fmt.Fprintf(&b, "  bytes %s %d viewers: %.1f B per delivered message in batch frames, %.1f B with everything read (%d msgs in %d frames, %s)\n",
				k.name, k.w.Viewers, k.w.BatchBytesPerMsg, k.w.WireBytesPerMsg, k.w.Messages, k.w.Frames, mib(int64(k.w.WireBytes)))
		}
		if by.DeflateSaving != 0 {
			fmt.Fprintf(&b, "               deflate saves %.1f%% of the batch bytes\n", 100*by.DeflateSaving)
		}
	}
	if l := s.Latency; l != nil {
		fmt.Fprintf(&b, "  latency      publish→receive min %.2f ms, p50 %.2f, p90 %.2f, p99 %.2f, p99.9 %.2f, max %.2f (%d samples)\n",
			l.MinMs, l.P50Ms, l.P90Ms, l.P99Ms, l.P999Ms, l.MaxMs, l.Count)
	}
	if x := s.CrossNode; x != nil && len(x.Gateways) > 0 {
		fmt.Fprintf(&b, "  cross-node   published through the viewer's node: %s; through another node: %s\n", latencyBrief(x.SameNode), latencyBrief(x.OtherNode))
		for _, g := range x.Gateways {
			fmt.Fprintf(&b, "               %s: %d viewers, %d msgs; same node %s; other node %s",
				g.URL, g.Viewers, g.Received, latencyBrief(g.SameNode), latencyBrief(g.OtherNode))
			if g.Resumed > 0 {
				fmt.Fprintf(&b, "; %d resumes landed", g.Resumed)
			}
			b.WriteString("\n")
		}
	}
	if r := s.Resume; r != nil {
		fmt.Fprintf(&b, "  resume       %d connections closed under %d viewers; %d resumed (%d recovered, %d not), %d failed dials, %d not back; back after p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
			r.Closed, r.Viewers, r.Resumed, r.Recovered, r.NotRecovered, r.DialFailures, r.NotBack, r.Back.P50Ms, r.Back.P99Ms, r.Back.MaxMs)
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
		if len(sv.Processes) > 1 {
			fmt.Fprintf(&b, "; summed over %d processes", len(sv.Processes))
		}
		b.WriteString("\n")
		if len(sv.Processes) > 1 {
			for _, p := range sv.Processes {
				name := strconv.Itoa(p.PID)
				if p.URL != "" {
					name += " " + p.URL
				}
				fmt.Fprintf(&b, "               pid %s: RSS %s before, %s after, %s peak; CPU %.1fs (%.0f%% of a core)",
					name, mib(p.RSSBeforeBytes), mib(p.RSSAfterBytes), mib(p.RSSPeakBytes), p.CPUSeconds, p.CPUPercent)
				if p.Exited {
					b.WriteString("; exited during the run")
				}
				b.WriteString("\n")
			}
		}
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

// latencyBrief is "p50 … p99 … (n)", or "none" for no samples.
func latencyBrief(l Latency) string {
	if l.Count == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %.2f ms, p99 %.2f ms (%d)", l.P50Ms, l.P99Ms, l.Count)
}

// orOne is list, or one when list is empty.
func orOne(list []string, one string) []string {
	if len(list) > 0 {
		return list
	}
	return []string{one}
}

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

package bench

import (
	"fmt"
	"strings"
	"time"
)

// scenarioSpec is what a scenario does and its defaults (docs/benchmarks.md
// lists them with their goals).
type scenarioSpec struct {
	Name    string
	Summary string
	Viewers int
	Rooms   int
	Rate    float64 // messages per second over all rooms
	Batch   int     // messages per publish request
	Publish bool    // publish through the HTTP API and check delivery
	Join    bool    // viewers join rooms (else: handshake only)
	Ingress bool    // viewers send
	Idle    bool    // measure RSS per connection after Settle
	Storm   bool    // measure handshakes per second
	Nodes   int     // servers started when no URL is given (0: one)
}

// Scenario names.
const (
	ScenarioIdle         = "idle"
	ScenarioHotRoom      = "hot-room"
	ScenarioManyRooms    = "many-rooms"
	ScenarioLowRate      = "low-rate"
	ScenarioConnectStorm = "connect-storm"
	ScenarioIngress      = "ingress"
	ScenarioCluster      = "cluster"
	ScenarioAPI          = "api"
)

// Scenarios lists every scenario with its defaults.
var Scenarios = []scenarioSpec{
	{Name: ScenarioIdle, Summary: "connections join rooms and stay idle; server RSS per connection",
		Viewers: 19000, Rooms: 100, Join: true, Idle: true},
	{Name: ScenarioHotRoom, Summary: "one room, many viewers, steady publishing; delivery, order, latency",
		Viewers: 10000, Rooms: 1, Rate: 1000, Batch: 10, Publish: true, Join: true},
	{Name: ScenarioManyRooms, Summary: "viewers spread over many rooms, steady publishing; delivery, latency",
		Viewers: 19000, Rooms: 2000, Rate: 20000, Batch: 10, Publish: true, Join: true},
	{Name: ScenarioLowRate, Summary: "a trickle into one room; latency without merge delay",
		Viewers: 1000, Rooms: 1, Rate: 2, Batch: 1, Publish: true, Join: true},
	{Name: ScenarioConnectStorm, Summary: "open every connection at once; handshakes per second",
		Viewers: 19000, Rooms: 1, Storm: true, Idle: true},
	{Name: ScenarioIngress, Summary: "connections send over WebSocket and wait for acks; accepted messages per second",
		Viewers: 3000, Rooms: 3000, Join: true, Ingress: true},
	{Name: ScenarioAPI, Summary: "publish requests as fast as the server answers them; requests and messages per second",
		Viewers: 10, Rooms: 10, Rate: -1, Batch: 1, Publish: true, Join: true},
	{Name: ScenarioCluster, Summary: "viewers and publishers over several nodes (no --url: 3 embedded); cross-node latency, resume",
		Viewers: 2000, Rooms: 5, Rate: 500, Batch: 10, Publish: true, Join: true, Nodes: 3},
}

func scenarioByName(name string) (scenarioSpec, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return scenarioSpec{}, false
}

func scenarioNames() string {
	var names []string
	for _, s := range Scenarios {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// ScenarioHelp describes every scenario and its defaults, for usage text.
func ScenarioHelp() string {
	var b strings.Builder
	for _, s := range Scenarios {
		fmt.Fprintf(&b, "  %-14s %s\n", s.Name, s.Summary)
		fmt.Fprintf(&b, "  %-14s defaults: --viewers %d --rooms %d", "", s.Viewers, s.Rooms)
		if s.Publish {
			fmt.Fprintf(&b, " --rate %g --batch %d", s.Rate, s.Batch)
		}
		if s.Rate < 0 {
			b.WriteString(" (as fast as answers return)")
		}
		if s.Ingress {
			b.WriteString(" --send-rate 8 --window 4")
		}
		if s.Nodes > 1 {
			fmt.Fprintf(&b, " --nodes %d", s.Nodes)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// goals returns the scenario's goals (docs/benchmarks.md), judged on s.
func goals(spec scenarioSpec, s *Summary) []Goal {
	var g []Goal
	ms := func(d float64) string { return fmt.Sprintf("%.1f ms", d) }
	switch spec.Name {
	case ScenarioIdle:
		if s.Server.RSSPerConnBytes > 0 || s.Server.PID > 0 {
			v := s.Server.RSSPerConnBytes / 1024
			g = append(g, Goal{"server RSS per connection", "≤ 4 KiB", fmt.Sprintf("%.2f KiB", v), v <= 4})
		}
	case ScenarioHotRoom, ScenarioManyRooms:
		d := s.Delivery
		g = append(g, Goal{"delivered", "100%, no gaps or duplicates",
			fmt.Sprintf("%.4f%%, %d gaps, %d duplicates", 100*d.Ratio, d.Gaps, d.Duplicates),
			d.Ratio == 1 && d.Gaps == 0 && d.Duplicates == 0 && d.ViewersShort == 0})
		g = append(g, Goal{"p99 publish→receive", "≤ 100 ms", ms(s.Latency.P99Ms), s.Latency.Count > 0 && s.Latency.P99Ms <= 100})
		g = append(g, publishAnswered(s))
	case ScenarioAPI:
		p := s.Publish
		reqs := p.RequestsPerSec
		if s.Conditions.Batch >= 100 {
			g = append(g, Goal{"messages stored per second", "≥ 50,000/s", fmt.Sprintf("%.0f/s in requests of %d", p.PerSec, s.Conditions.Batch), p.PerSec >= 50000})
		} else {
			g = append(g, Goal{"publish requests per second", "≥ 10,000/s", fmt.Sprintf("%.0f/s of %d messages", reqs, s.Conditions.Batch), reqs >= 10000})
		}
		d := s.Delivery
		g = append(g, Goal{"delivered", "100%, no gaps or duplicates",
			fmt.Sprintf("%.4f%%, %d gaps, %d duplicates", 100*d.Ratio, d.Gaps, d.Duplicates),
			d.Ratio == 1 && d.Gaps == 0 && d.Duplicates == 0 && d.ViewersShort == 0})
	case ScenarioCluster:
		d := s.Delivery
		// Judged per viewer: a publish that failed on a dying node may
		// still have been stored, and its messages then arrive on top of
		// what was acknowledged (viewers over), which loses nothing.
		g = append(g, Goal{"delivered", "every acknowledged message to every viewer, no gaps or duplicates",
			fmt.Sprintf("%.4f%%, %d viewers short, %d gaps, %d duplicates", 100*d.Ratio, d.ViewersShort, d.Gaps, d.Duplicates),
			d.Ratio >= 1 && d.Gaps == 0 && d.Duplicates == 0 && d.ViewersShort == 0})
		g = append(g, Goal{"acknowledged messages lost", "0 (sample viewers)",
			fmt.Sprintf("%d of %d", d.AckedMissing, d.AckedChecked), d.AckedChecked > 0 && d.AckedMissing == 0})
		g = append(g, Goal{"p99 publish→receive", "≤ 100 ms", ms(s.Latency.P99Ms), s.Latency.Count > 0 && s.Latency.P99Ms <= 100})
		if r := s.Resume; r != nil && r.Closed > 0 {
			back := fmt.Sprintf("%d viewers lost a connection, %d not back; the last back after %.1f s", r.Viewers, r.NotBack, r.Back.MaxMs/1000)
			g = append(g, Goal{"viewers back after a lost connection", "all, within 10 s", back,
				r.NotBack == 0 && r.Back.MaxMs <= 10000})
		}
	case ScenarioLowRate:
		g = append(g, Goal{"p50 publish→receive", "≤ 5 ms", ms(s.Latency.P50Ms), s.Latency.Count > 0 && s.Latency.P50Ms <= 5})
	case ScenarioConnectStorm:
		g = append(g, Goal{"handshakes per second", "≥ 20,000/s", fmt.Sprintf("%.0f/s", s.Connect.HandshakesPerSec), s.Connect.HandshakesPerSec >= 20000})
	case ScenarioIngress:
		g = append(g, Goal{"accepted messages per second", "≥ 20,000/s", fmt.Sprintf("%.0f/s", s.Ingress.AcceptedPerSec), s.Ingress.AcceptedPerSec >= 20000})
	}
	return g
}

// publishAnswered is the API's goal while the gateway fans out: publish
// requests are answered within 50 ms at p99 however busy the viewers keep
// the node.
func publishAnswered(s *Summary) Goal {
	l := s.Publish.RequestLatency
	return Goal{"p99 publish request answered", "≤ 50 ms", fmt.Sprintf("%.1f ms", l.P99Ms), l.Count > 0 && l.P99Ms <= 50}
}

// window is the measured part of a run.
type window struct{ start, end time.Time }

func (w window) seconds() float64 { return w.end.Sub(w.start).Seconds() }

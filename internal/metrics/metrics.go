// Package metrics names every Prometheus metric danmaku exports, in one
// place, so dashboards have a single reference (docs/operations.md lists
// them).
//
// Every family danmaku registers is built through one helper that also
// records it in a catalogue (Families): its name, type and label names.
// The catalogue is what a dashboard or an alert rule may use, including
// the labelled families that have no series yet (a Vec with no children is
// absent from Gather); the tests of docs/grafana and docs/prometheus check
// against it. The Go runtime and process collectors are not in it: they
// always export their series, so Gather lists them.
package metrics

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Names of the families that other packages read back from the registry
// (internal/overview samples them for the node stats).
const (
	NameConnections    = "danmaku_connections"
	NameRooms          = "danmaku_rooms"
	NameMessagesIn     = "danmaku_messages_in_total"
	NameMessagesOut    = "danmaku_messages_out_total"
	NameDeliveries     = "danmaku_deliveries_total"
	NameBytesOut       = "danmaku_bytes_out_total"
	NameDrops          = "danmaku_drops_total"
	NameCloses         = "danmaku_closes_total"
	NamePublishToWrite = "danmaku_publish_to_write_seconds"
)

// Metrics holds every collector. A nil *Metrics is not valid; use New.
type Metrics struct {
	Registry *prometheus.Registry

	Connections     prometheus.Gauge
	ConnectsTotal   prometheus.Counter
	Rooms           prometheus.Gauge
	JoinsTotal      prometheus.Counter
	ResumesTotal    *prometheus.CounterVec // result: recovered, fresh
	MessagesIn      *prometheus.CounterVec // source: ws, api
	MessagesOut     prometheus.Counter     // messages flushed into room batches
	Frames          prometheus.Counter     // frames built (one per batch)
	Deliveries      prometheus.Counter     // frame writes to viewers
	BytesOut        prometheus.Counter
	BytesIn         prometheus.Counter
	Drops           *prometheus.CounterVec // reason
	Closes          *prometheus.CounterVec // reason
	Nacks           *prometheus.CounterVec // code
	Acks            *prometheus.CounterVec // written: with_frame, alone
	Refusals        *prometheus.CounterVec // code: sends refused by the logic pipeline (WebSocket and API)
	ConnRefusals    *prometheus.CounterVec // reason: connections refused or closed by abuse limits
	BatchSize       prometheus.Histogram
	PublishToWrite  prometheus.Histogram // seconds from store accept (ts) to frame handed to the kernel
	APIRequests     *prometheus.CounterVec
	HandshakeErrors *prometheus.CounterVec
	StoreErrors     *prometheus.CounterVec // source: ws, api

	mu         sync.Mutex // guards families and collectors
	families   []Family
	collectors map[string]prometheus.Collector // by family name, for the catalogue's tests
}

// Family is one metric family in the catalogue.
type Family struct {
	Name string
	// Type is "counter", "gauge" or "histogram".
	Type string
	// Labels are the family's label names, nil for none.
	Labels []string
}

// New creates the collectors and registers them, with the Go runtime and
// process collectors, in a fresh registry.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), collectors: map[string]prometheus.Collector{}}
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Connections = m.gauge(NameConnections, "Open viewer WebSocket connections.")
	m.ConnectsTotal = m.counter("danmaku_connects_total", "WebSocket handshakes completed.")
	m.Rooms = m.gauge(NameRooms, "Rooms with at least one viewer on this gateway.")
	m.JoinsTotal = m.counter("danmaku_joins_total", "Room joins.")
	m.ResumesTotal = m.counterVec("danmaku_resumes_total", "Joins with since, by result.", "result")
	m.MessagesIn = m.counterVec(NameMessagesIn, "Messages accepted and stored, by source.", "source")
	m.MessagesOut = m.counter(NameMessagesOut, "Room messages put into batches by this gateway.")
	m.Frames = m.counter("danmaku_frames_total", "Batch frames built (each encoded once, shared by all members).")
	m.Deliveries = m.counter(NameDeliveries, "Frames written to viewers.")
	m.BytesOut = m.counter(NameBytesOut, "Bytes handed to viewer sockets.")
	m.BytesIn = m.counter("danmaku_bytes_in_total", "WebSocket message bytes received from viewers.")
	m.Drops = m.counterVec(NameDrops, "Messages or frames not delivered, by reason.", "reason")
	m.Closes = m.counterVec(NameCloses, "Connections closed by the server or client, by reason.", "reason")
	m.Nacks = m.counterVec("danmaku_nacks_total", "Refused sends, by nack code.", "code")
	m.Acks = m.counterVec("danmaku_acks_total", "Acks of viewer sends, by how they were written: in one write with a frame of the room (with_frame) or on their own (alone).", "written")
	m.Refusals = m.counterVec("danmaku_refusals_total", "Messages refused by the send pipeline, by code (unauthorized, muted, rate_limited, slow_mode, …).", "code")
	m.ConnRefusals = m.counterVec("danmaku_conn_refusals_total", "Connections refused or closed by identity and abuse limits, by reason.", "reason")
	m.BatchSize = m.histogram("danmaku_batch_size", "Messages per batch frame.",
		[]float64{1, 2, 5, 10, 20, 50, 100, 200, 500})
	m.PublishToWrite = m.histogram(NamePublishToWrite, "Time from a message's acceptance to its frame being written to viewers.",
		[]float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2})
	m.APIRequests = m.counterVec("danmaku_api_requests_total", "HTTP API requests, by route and status.", "route", "status")
	m.HandshakeErrors = m.counterVec("danmaku_handshake_errors_total", "Refused WebSocket handshakes, by reason.", "reason")
	m.StoreErrors = m.counterVec("danmaku_store_errors_total", "Store (JetStream) and bus operations that failed, by source: a viewer's send that could not be stored (ws), an API request whose store or bus call failed (api).", "source")
	// The by-reason counters start at 0 for every reason, so that their
	// series exist before the first event: rate() and alert rules see 0,
	// not nothing, and the node stats list every reason.
	for _, r := range DropReasons {
		m.Drops.WithLabelValues(string(r))
	}
	for _, r := range CloseReasons {
		m.Closes.WithLabelValues(string(r))
	}
	for _, s := range StoreErrorSources {
		m.StoreErrors.WithLabelValues(string(s))
	}
	return m
}

// register adds c to the registry and the catalogue.
func (m *Metrics) register(c prometheus.Collector, f Family) {
	m.Registry.MustRegister(c)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.families = append(m.families, f)
	m.collectors[f.Name] = c
}

func (m *Metrics) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	m.register(c, Family{Name: name, Type: "counter"})
	return c
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.register(c, Family{Name: name, Type: "counter", Labels: labels})
	return c
}

func (m *Metrics) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	m.register(g, Family{Name: name, Type: "gauge"})
	return g
}

func (m *Metrics) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	m.register(h, Family{Name: name, Type: "histogram"})
	return h
}

// Families returns the catalogue: every family danmaku registered so far
// (New's, and WatchBus's once called), in registration order.
func (m *Metrics) Families() []Family {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Family, len(m.families))
	for i, f := range m.families {
		f.Labels = slices.Clone(f.Labels)
		out[i] = f
	}
	return out
}

// BusStats are a node's NATS connection counters.
type BusStats struct {
	InMsgs, InBytes, OutMsgs, OutBytes uint64
	Reconnects                         uint64
	// Connected reports whether the connection is up now.
	Connected bool
}

// WatchBus exports the node's NATS connection counters, read from stats at
// each scrape: the bytes a gateway receives show that NATS sends it only
// the rooms it has viewers in.
func (m *Metrics) WatchBus(stats func() BusStats) {
	counter := func(name, help string, pick func(BusStats) uint64) {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(pick(stats())) })
		m.register(c, Family{Name: name, Type: "counter"})
	}
	counter("danmaku_bus_in_messages_total", "Messages this node received from NATS.", func(s BusStats) uint64 { return s.InMsgs })
	counter("danmaku_bus_in_bytes_total", "Payload bytes this node received from NATS.", func(s BusStats) uint64 { return s.InBytes })
	counter("danmaku_bus_out_messages_total", "Messages this node sent to NATS.", func(s BusStats) uint64 { return s.OutMsgs })
	counter("danmaku_bus_out_bytes_total", "Payload bytes this node sent to NATS.", func(s BusStats) uint64 { return s.OutBytes })
	counter("danmaku_bus_reconnects_total", "Times this node reconnected to NATS.", func(s BusStats) uint64 { return s.Reconnects })
	const connected = "danmaku_bus_connected"
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: connected, Help: "1 while this node's NATS connection is up, 0 while it is down."},
		func() float64 {
			if stats().Connected {
				return 1
			}
			return 0
		})
	m.register(g, Family{Name: connected, Type: "gauge"})
}

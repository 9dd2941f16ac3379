// Package metrics names every Prometheus metric danmaku exports, in one
// place, so dashboards have a single reference (docs/operations.md lists
// them).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
	Refusals        *prometheus.CounterVec // code: sends refused by the logic pipeline (WebSocket and API)
	ConnRefusals    *prometheus.CounterVec // reason: connections refused or closed by abuse limits
	BatchSize       prometheus.Histogram
	PublishToWrite  prometheus.Histogram // seconds from store accept (ts) to frame handed to the kernel
	APIRequests     *prometheus.CounterVec
	HandshakeErrors *prometheus.CounterVec
}

// New creates the collectors and registers them, with the Go runtime and
// process collectors, in a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "danmaku_connections", Help: "Open viewer WebSocket connections."}),
		ConnectsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "danmaku_connects_total", Help: "WebSocket handshakes completed."}),
		Rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "danmaku_rooms", Help: "Rooms with at least one viewer on this gateway."}),
		JoinsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "danmaku_joins_total", Help: "Room joins."}),
		ResumesTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_resumes_total", Help: "Joins with since, by result."}, []string{"result"}),
		MessagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_messages_in_total", Help: "Messages accepted and stored, by source."}, []string{"source"}),
		MessagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "danmaku_messages_out_total", Help: "Room messages put into batches by this gateway."}),
		Frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "danmaku_frames_total", Help: "Batch frames built (each encoded once, shared by all members)."}),
		Deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "danmaku_deliveries_total", Help: "Frames written to viewers."}),
		BytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "danmaku_bytes_out_total", Help: "Bytes handed to viewer sockets."}),
		BytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "danmaku_bytes_in_total", Help: "WebSocket message bytes received from viewers."}),
		Drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_drops_total", Help: "Messages or frames not delivered, by reason."}, []string{"reason"}),
		Closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_closes_total", Help: "Connections closed by the server or client, by reason."}, []string{"reason"}),
		Nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_nacks_total", Help: "Refused sends, by nack code."}, []string{"code"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_refusals_total", Help: "Messages refused by the send pipeline, by code (unauthorized, muted, rate_limited, slow_mode, …)."}, []string{"code"}),
		ConnRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_conn_refusals_total", Help: "Connections refused or closed by identity and abuse limits, by reason."}, []string{"reason"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "danmaku_batch_size", Help: "Messages per batch frame.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500}}),
		PublishToWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "danmaku_publish_to_write_seconds", Help: "Time from a message's acceptance to its frame being written to viewers.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2}}),
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_api_requests_total", Help: "HTTP API requests, by route and status."}, []string{"route", "status"}),
		HandshakeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "danmaku_handshake_errors_total", Help: "Refused WebSocket handshakes, by reason."}, []string{"reason"}),
	}
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Connections, m.ConnectsTotal, m.Rooms, m.JoinsTotal, m.ResumesTotal,
		m.MessagesIn, m.MessagesOut, m.Frames, m.Deliveries, m.BytesOut, m.BytesIn,
		m.Drops, m.Closes, m.Nacks, m.Refusals, m.ConnRefusals, m.BatchSize, m.PublishToWrite, m.APIRequests,
		m.HandshakeErrors,
	)
	return m
}

// BusStats are a node's NATS connection counters.
type BusStats struct {
	InMsgs, InBytes, OutMsgs, OutBytes uint64
	Reconnects                         uint64
}

// WatchBus exports the node's NATS connection counters, read from stats at
// each scrape: the bytes a gateway receives show that NATS sends it only
// the rooms it has viewers in.
func (m *Metrics) WatchBus(stats func() BusStats) {
	counter := func(name, help string, pick func(BusStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(pick(stats())) })
	}
	m.Registry.MustRegister(
		counter("danmaku_bus_in_messages_total", "Messages this node received from NATS.", func(s BusStats) uint64 { return s.InMsgs }),
		counter("danmaku_bus_in_bytes_total", "Payload bytes this node received from NATS.", func(s BusStats) uint64 { return s.InBytes }),
		counter("danmaku_bus_out_messages_total", "Messages this node sent to NATS.", func(s BusStats) uint64 { return s.OutMsgs }),
		counter("danmaku_bus_out_bytes_total", "Payload bytes this node sent to NATS.", func(s BusStats) uint64 { return s.OutBytes }),
		counter("danmaku_bus_reconnects_total", "Times this node reconnected to NATS.", func(s BusStats) uint64 { return s.Reconnects }),
	)
}

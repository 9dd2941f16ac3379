// Package bench is danmaku's whole-system load generator ("danmaku bench"):
// the scenarios and goals of docs/benchmarks.md, run against a server on
// this host over loopback, with delivery, order and latency checked end to
// end.
//
// The parent process (Run) starts or targets the server (server.go), spreads
// the viewers over worker processes (fleet.go, worker.go) that each hold at
// most Config.PerWorker connections bound to source addresses 127.0.0.2–254,
// publishes through the HTTP API at a steady rate (publisher.go), samples
// /proc (proc.go) and assembles a Summary (report.go). Workers run viewers
// on raw nbio connections with a hand-rolled client side of WebSocket
// (handshake.go, viewer.go) and read batch frames without a JSON decoder
// (batch.go). Parent and workers speak JSON lines (wire.go). Latencies go
// into log-linear histograms (histogram.go).
//
// docs/benchmarks.md describes the measurements and the results.
package bench

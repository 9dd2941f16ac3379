// Package overview gathers every node's live figures across the cluster,
// for the operator's overview: GET /v1/nodes and GET /v1/rooms.
//
// # Snapshots
//
// Every node (roles serve, gateway and logic) samples its own Prometheus
// registry (internal/metrics) every Interval, 1 s by default, and
// publishes a snapshot on the NATS core subject danmaku.stats.<node> (not
// JetStream: a snapshot is worth nothing once the next one is out). The
// rates in it are the sending node's, over its last interval: the deltas of
// its counters divided by the time between the two samples, measured by the
// sender. Its publish→write latency quantiles come from the deltas of the
// danmaku_publish_to_write_seconds buckets over the same interval,
// interpolated within a bucket as Prometheus' histogram_quantile does; they
// are null when nothing was delivered in the interval. A gateway's snapshot
// also carries its rooms: each room's viewers there and the messages per
// second the gateway put into batches for it, counted by the gateway's room
// table (Gateway.EachRoom).
//
// A snapshot lists at most MaxRooms rooms by viewers and MaxRooms by
// messages per second (1,000 each by default; a room in both lists is
// listed once, so at most 2,000 rooms): a gateway with more rooms leaves
// out its quiet, small ones, which then count in neither GET /v1/rooms nor
// its totals. The node's own figures (connections, rooms) are whole.
//
// # Tables
//
// Nodes that serve the HTTP API (serve, logic) set Collect and keep the
// latest snapshot of every node, their own included, which goes into the
// table directly. A node not heard from for Expiry (10 s by default) drops
// out; a node that closes publishes a goodbye, and drops out at once. The
// node id is the one presence and the relay use: a restarted node comes
// back under a new id, and the old one expires.
//
// Snapshots arrive from the network, so parseSnapshot checks each one whole
// (field ranges, room names, sizes) and a bad one is ignored with a warning
// that names what is wrong; fuzz_internal_test.go fuzzes it.
//
// # Goroutines and locks
//
// Start runs one goroutine, the loop that samples, publishes and expires;
// Close stops and awaits it, unsubscribes (which ends the NATS client's
// delivery goroutine for the subscription) and sends the goodbye.
// Table.mu guards the table of snapshots and the address; it is a leaf,
// never held while calling NATS or the registry.
package overview

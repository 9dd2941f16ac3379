// Package moderation stores mutes, bans and room settings in a JetStream KV
// bucket, so that they are durable, survive restarts, and reach every node.
// Each node keeps the whole bucket in memory, kept current by a KV watcher,
// so the send path checks MutedFor, Banned and Room without network round
// trips.
//
// # Keys and values
//
// Room names and user ids become unpadded base64url tokens, which keeps
// every key a valid KV key whatever a user id holds (dots, spaces,
// slashes, any bytes):
//
//	mute.<room token>.<user token>   a mute in one room
//	mute._all.<user token>           a mute everywhere
//	ban.<user token>                 a ban
//	room.<room token>                a room's settings
//
// Values are JSON: {"until","reason","by","at"} for mutes and bans (the key
// names the room and the user), and RoomSettings' JSON for rooms. The
// bucket keeps one revision per key; removing a key writes a delete marker.
//
// # Consistency and latency
//
// A write returns once JetStream has stored it (with Replicas > 1, once a
// quorum has) and this node's view shows it, so a node reads its own writes,
// and a Ban returns after this node's OnBan callbacks have run. Other nodes'
// watchers receive the change as a push from the server, with no polling
// interval: in the tests (embedded server, second node on a loopback
// connection) a ban reaches the other node's OnBan in about 0.1 ms, 5 ms at
// worst on a loaded machine; across a cluster add a network round trip or
// two. A watcher whose connection drops resumes after the last revision it
// saw once the client reconnects.
//
// # Expiry
//
// Mutes and bans end at their Until by the clock of each node (Config.Now):
// reads treat expired entries as absent at once. The bucket has no TTL
// (per-key TTLs need nats-server 2.11 and a bucket made for them); instead a
// sweeper, once a minute or soon after a read meets an expired entry, drops
// expired entries from the view and purges them from the bucket. It also
// purges delete markers older than 30 minutes, so removed keys do not pile
// up. Purges go by revision: one never removes a value written after the
// revision it swept. Nodes' clocks should agree to within a few seconds;
// a node whose clock runs ahead purges an entry early, which the others
// notice only when they next load the bucket.
//
// # Goroutines
//
// Open starts two, both stopped and awaited by Close: the watcher, which
// applies the bucket's changes to the view and calls the OnBan callbacks,
// and the sweeper. The NATS client runs the watcher's subscription on
// goroutines of its own, which end when Close unsubscribes it. Close the
// Store before the bus: when the connection closes under a Store, its view
// stops changing (an error is logged).
//
// # Lock order
//
// Store.mu guards the view; Store.callbacksMu guards the OnBan callbacks.
// Neither is held while taking the other, and neither is held while calling
// the NATS client or a callback.
package moderation

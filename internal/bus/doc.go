// Package bus is danmaku's message bus and history store, built on NATS
// and JetStream. By default it embeds a nats-server in the process; with
// Config.URL it joins an external NATS server or cluster.
//
// # Subjects
//
//	room.<room token>        stored: the room's history (stream DANMAKU, subjects room.*)
//	room.<i>.<room token>    stored instead, with several partitions (see "Partitions")
//	live.room.<room token>   the stream's republished copy of each stored message
//	live.broadcast           broadcasts to every gateway, not stored
//	live.user.<user token>   pushes to one user's connections, not stored
//
// A room name (1–64 of [A-Za-z0-9_.:-]) becomes one subject token by
// replacing '.', the NATS token separator, with '~', which room names
// cannot contain: "a.b:c" is stored on room.a~b:c. A user id becomes its
// unpadded base64url encoding. Bodies on live.broadcast and live.user.* are
// JSON arrays of the message bodies.
//
// # Headers
//
// Append sets headers beside each body, so that readers learn what they
// need without decoding it (and without depending on the field order of
// the JSON):
//
//	Danmaku-Type   the body's type ("danmaku", "delete", …)
//	Danmaku-Ts     unix ms the message was accepted, in decimal
//	Danmaku-First  1 on a room's first message (see "The first message")
//
// JetStream stores a message's headers with it, and RePublish copies them
// onto live.room.*, so SubscribeRoom and the history reads fill
// protocol.Stored's Type and TS from the same headers. A message stored
// without them (written before they existed, or by another writer) reads
// as Type "" and TS 0: unknown. The names are defined once, in headers.go.
//
// # Offsets and prev
//
// A message's offset is its stream sequence. Sequences are shared by all
// rooms of a stream, so a room's offsets increase but skip. Its prev is
// the sequence of the room's previous message, 0 for the first. A viewer
// that receives a message whose prev is not the last offset it saw knows
// it missed something and resumes with After.
//
// Live messages (SubscribeRoom) take offset and prev from the headers that
// the stream's RePublish adds: Nats-Sequence, and Nats-Last-Sequence, the
// sequence of the subject's newest message when this one was stored. That
// prev is exact.
//
// History reads (After, Latest, Range) use batched direct gets, which need
// no consumer and so leave nothing behind on the server. Within a read,
// each message's prev is its predecessor in the read. The first message's
// prev, and whether a read can vouch that nothing is missing before it,
// rest on one fact:
//
// Retention only ever removes a room's oldest messages. MaxMsgsPerSubject
// drops the oldest of the subject, and MaxAge expires the stream from its
// oldest message on. The one exception is Delete, a moderator removing one
// message: it leaves a hole, which makes a read that starts at the deleted
// offset not complete (a resume across it is answered with
// recovered:false, never with a silent gap), while reads that start
// elsewhere skip it like any message of another room. (Do not delete
// messages or purge rooms by hand; purging a whole stream is fine, but
// creating a new stream is better: it gets a new epoch.) So if the store
// holds a room's message at sequence s, it holds every later message of
// that room but the deleted ones.
//
// Hence After(after > 0) reads from sequence `after` on, filtered on the
// room's subject. If the first message returned is the one at `after`,
// everything after it is there: it is dropped from the result, the next
// message's prev is `after`, and the result is complete. If the first
// message returned is later, the message at `after` is gone (trimmed, or it
// never was this room's) and what came between may be lost: not complete.
// A read that takes several requests restarts each at the last message
// read, and stops if that message is no longer there.
//
// # The first message
//
// After(0), "everything you have", can only be complete if the room's
// oldest retained message is the room's first. The store does not record
// that, so Append does: the first time this process writes to a room (or
// the first time in a history TTL), it publishes the first record with
// Nats-Expected-Last-Subject-Sequence: 0 and the marker header
// Danmaku-First: 1. The store accepts it only if the room holds no message,
// atomically with storing it; otherwise it refuses and Append publishes the
// record again without those headers. A stored message with the marker
// therefore had no retained predecessor when it was stored, which is
// exactly when its live prev (Nats-Last-Sequence) is 0, so history and live
// agree on prev = 0. If a room's whole history expires and the room is
// written again, the new message is marked too, and a viewer holding an
// offset from before sees prev 0 where it expected its offset, and resumes
// incompletely, as it should.
//
// The converse is not guaranteed: a process that wrote to a room recently
// does not check again, so a room emptied by hand could get an unmarked
// first message. That only makes After(0) report incomplete, which is safe.
//
// # Partitions
//
// One stream is one RAFT group and one goroutine that orders and stores
// its messages, so a single stream for every room caps ingress at what
// that goroutine can store; a stream per room would mean one RAFT group
// per room on every replica's server, 100,000 of them for as many rooms.
// Config.Partitions picks the middle: a fixed number N of streams, each
// room on one of them,
//
//	partition = FNV-1a 32 of the room name (its bytes, before the token mapping) mod N
//
// in partition.go, whose test pins the assignment of a few names: the hash
// decides where a room's history is, so it must never change.
//
// With N = 1 (the default) everything is as it was before partitions: the
// stream is Config.Stream ("DANMAKU") on room.<token>, so a deployment
// that predates them keeps its history. With N > 1 partition i is the
// stream <Stream>-<i> on room.<i>.<token> (subjects room.<i>.*, disjoint
// from each other and from room.*), republishing to live.room.<token>: the
// live subject of a room is the same whatever N is, so gateways subscribe
// per room, and NATS routes interest, exactly as before.
//
// Everything above holds per partition. A room's offsets are its stream's
// sequences, still increasing per room (rooms of different partitions may
// have the same offsets, which never meet: a viewer compares offsets of
// one room only); prev, the first-message marker and the history reads
// work on the room's subject in the room's stream. Each stream has its own
// epoch, so Epoch takes the room: the epoch a viewer holds for a room is
// its partition's, and recreating one partition's stream resets the rooms
// of that partition only. Replicas applies to every partition's stream.
//
// N cannot change on a deployment: a room would move to another stream,
// and its history would be lost to it (or, read from the old stream, split
// between two). Each stream records N in its metadata (danmaku.partitions,
// beside danmaku.epoch), and Open, before creating anything, looks for the
// streams of other layouts by name (<Stream>, and <Stream>-0 on) and
// refuses with ErrPartitionsChanged if one records another N (a stream
// without the key is <Stream> from before partitions: N = 1). The error
// names both counts and the ways on: open with the old N, or start empty
// history with a new data directory or after deleting the old streams.
// There is no migration; re-appending every room's history would give it
// new offsets, so viewers could not resume across it anyway.
//
// One deployment per NATS account: two with different N and different
// stream names would store on disjoint subjects, but both republish to
// live.room.*.
//
// # Replicated streams
//
// With Replicas > 1, direct gets may be answered by any replica, and a
// follower may lag the leader by a little. Such a read is still a
// consistent snapshot of the past, so everything above holds, but it may
// not yet include a message that live delivery has already announced;
// callers that find a gap between history and live read again.
//
// # Goroutines
//
// The package starts no goroutines of its own. The embedded server's
// goroutines are stopped and awaited by Close (Shutdown, WaitForShutdown),
// and the NATS client's (reader, flusher, one per subscription callback)
// end when Close drains and closes the connection.
package bus

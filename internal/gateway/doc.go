// Package gateway holds viewers' WebSocket connections (on nbio) and
// delivers room messages to them.
//
// # Parts
//
//   - Gateway (gateway.go) is the lifecycle: New, Start, Drain (drain.go),
//     Close. engine.go holds what is about nbio, with executor.go, the pool
//     whose goroutines run nbio's callbacks and wait for the next one;
//     upgrade.go the handshake and admission.go its limits, dispatch.go the
//     client messages, with join.go, send.go, authn.go and moderate.go for
//     the ops.
//   - A conn (conn.go) is one viewer. Writing to it never blocks. The ack of
//     a send to a small room and the frame holding the message go out in
//     one write, whichever comes first waiting briefly for the other
//     (ackride.go).
//   - A bucket (bucket.go) is one shard of the connections, with its own
//     goroutine and task queue (queue.go). It owns the member sets of the
//     rooms it serves (memberSet, in a stable order) and writes frames to
//     them, catching members up within a round (catchup.go).
//   - The fanout (fanout.go) is the set of buckets: where a connection goes
//     and which buckets a frame is queued on.
//   - A room (room.go, batcher.go) exists while it has viewers here
//     (rooms.go). It subscribes to the room's live messages, merges them
//     into batches, and encodes each batch once into a frame (frame.go)
//     that every member gets byte for byte.
//
// # Data flow
//
// The first viewer of a room creates it: the room subscribes to the room's
// live messages on the bus, then loads the recent history it keeps in
// memory for joins and resumes. Each live message is appended to the room's
// pending batch, and the flush rule below decides when the batch becomes a
// frame. The frame (and, lazily, one deflated copy) is queued on the buckets
// that hold members of the room, and nowhere else; each bucket writes it to
// its members with nbio's non-blocking Write.
//
// A join computes its catch-up (recent messages, or a resume from an
// offset) under the room's lock and queues it on the viewer's bucket in the
// same order as the room's frames: the frames queued before the join task
// are in the catch-up, those after reach the viewer as a member, so that it
// gets every message exactly once. Store reads (a resume that reaches past
// memory, a gap in the live messages) happen outside the room's lock, and
// live messages that arrive meanwhile wait in order. A resume from an
// offset this gateway has not flushed yet (the viewer comes from a node
// that was a batch ahead) waits for the room to flush that far, briefly,
// so that it recovers without getting anything twice.
//
// # The flush rule
//
//  1. A room flushes its pending messages when no flush of it is in flight
//     and either its window has passed since its last flush or the batch
//     holds BatchMaxMessages. Its window is what one flush costs the node,
//     its viewers here × the measured CPU of one write (writecost.go),
//     divided by BatchBudget, at most BatchWindow.
//  2. A flush is in flight until every bucket it went to has written it;
//     the last of them applies rule 1 at once.
//  3. Otherwise a timer applies rule 1 when the window ends.
//  4. A flush writes at most BatchMaxMessages messages per frame; a longer
//     batch (grown while a flush was in flight) goes out as several frames,
//     in order.
//
// So an idle room sends a lone message at once; a room of a few viewers,
// whose flush costs microseconds, sends every message at once at any rate;
// a room of thousands merges for the whole window; and a room whose fan-out
// is slower than its message rate sends bigger frames instead of queueing
// more of them: its latency is one fan-out round, not a growing queue. batcher_internal_test.go has one test
// per rule.
//
// # Catching up within a round
//
// Rule 2 alone would make a message that arrives just after a flush wait
// for the whole round, then for its place in the next: up to two rounds.
// So a bucket writing a batch frame to a big room (catchup.go) looks at the
// room's pending messages a few times during the round, and the members it
// has not written yet get the frame with them appended; the next frame gives
// each member only what it lacks, by its lastSent. A bucket walks a room's
// members in the same order every round (memberSet), so the members that
// missed an extension are the first written in the next round. The room's
// batches and rules are unchanged; a member's stream stays whole and in
// order (TestCatchUpAppendsNewerMessages).
//
// # Lock order
//
//	room.mu → taskQueue.mu
//
// roomTable.mu is never held with room.mu. conn.mu, connIndex.mu and
// taskQueue.mu are leaves. heldWrites.mu (ackride.go) is held only while
// writing to nbio's connection, whose lock comes after it. Queuing a task
// never blocks, so a room queues its frames under its lock, and a bucket
// goroutine, which holds no lock while it runs a task, may take a room's
// lock when it finishes the room's frame (rule 2). Room member sets are owned by their bucket's goroutine and need
// no lock; a room's viewer counts per bucket are atomics changed under
// roomTable.mu.
//
// # Slow viewers
//
// Writes never block. A viewer's unsent bytes are tracked from the bytes
// queued and nbio's written-size hook; past MaxPendingBytes the viewer gets
// close code 4008 and is dropped, and nobody else waits for it.
//
// # Goroutines
//
// The gateway's workers (gateway.go) own every goroutine it starts: the
// buckets, the sweeper and online loops, joins, room loads and gap fills.
// Close cancels their context and waits for them.
package gateway

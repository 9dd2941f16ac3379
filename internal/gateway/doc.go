// Package gateway holds viewers' WebSocket connections (on nbio) and
// delivers room messages to them.
//
// # Data flow
//
// A room with viewers on this gateway subscribes to the room's live messages
// on the bus. Each message is appended to the room's pending batch. An idle
// room flushes at once; a busy one flushes when the oldest pending message
// is BatchWindow old or the batch is full. A flush encodes the batch once
// into one WebSocket frame (and, lazily, one deflated copy) and queues it on
// every bucket. Each bucket's goroutine writes the shared frame to the room's
// members in that bucket with nbio's non-blocking Write.
//
// Joins: the catch-up for a join (recent messages, or a resume from a given
// offset) is computed under the room's lock and queued on the viewer's
// bucket in the same order as the room's frames, so that a viewer gets every
// message exactly once: the frames queued before its join task are in the
// catch-up, the ones queued after reach it as a member.
//
// # Lock order
//
//	Gateway.roomsMu → room.mu → bucket queue (a channel send)
//	conn.mu and lockedIndex.mu are leaves: nothing is taken while holding them.
//
// Bucket goroutines take no lock but lockedIndex.mu and conn.mu; they never
// take room.mu or roomsMu, which is why a room may block on a full bucket
// queue while holding its lock. Room member sets are owned by the bucket
// goroutine and need no lock.
//
// # Slow viewers
//
// Writes never block. A viewer's unsent bytes are tracked from the bytes
// queued and nbio's written-size hook; past MaxPendingBytes the viewer gets
// close code 4008 and is dropped, and nobody else waits for it.
package gateway

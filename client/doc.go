// Package client is the Go client SDK for danmaku, the live-stream
// bullet-comment push system. It speaks protocol v1 (see docs/protocol.md)
// over WebSocket and hides connection management from the application:
//
//   - Dial connects, offers the "danmaku.v1" subprotocol and permessage-deflate,
//     and authenticates with Options.Token on every (re)connect. DialAny
//     takes the URLs of several nodes of a cluster and fails over between
//     them.
//   - Join, Leave, Send and Ping are request/reply calls bound to a context.
//     A refused Send returns a *NackError.
//   - Events delivers everything the server pushes, in order: room messages
//     (one Event per message, never batched), online counts, user and
//     broadcast messages, resets, errors and connection state changes.
//   - When the connection drops with a reconnectable close code (4000–4499,
//     abnormal closure, heartbeat timeout), the client reconnects with
//     full-jitter exponential backoff, rejoins every room with
//     join{room, since, epoch} and delivers the missed messages with no
//     duplicates and no gaps. Codes 4500–4999 stop it; Err reports why.
//
// # Slow consumers
//
// The Events channel is bounded (Options.MessageBuffer). When it is full the
// read loop blocks until the application receives: nothing is ever dropped.
// While the read loop is blocked the server's per-connection buffer fills
// and the server eventually closes the connection with 4008 (slow consumer);
// the client then reconnects and resumes from the last delivered offset, so
// the application still sees every message exactly once, later. Replies to
// Join, Leave, Send and Ping are read by the same loop, so an application
// that never drains Events also stalls its own requests.
//
// # Resume bookkeeping
//
// For each joined room the client keeps the room's epoch and the offset of
// the last message it delivered (see Offsets). Messages at or below that
// offset are duplicates and are dropped. A message whose prev differs from
// it reveals a gap: the client holds the later messages, rejoins the room
// with since on the same connection and delivers the held messages once
// the gap is filled. When the server cannot recover (joined.recovered is
// false) the room is reset: an EventReset tells the application, which
// continues with the room's recent history.
//
// # Goroutines and locks
//
// Dial starts one supervisor goroutine that owns everything else: for each
// connection it starts a read loop and a heartbeat loop and waits for both
// before reconnecting or stopping. Close waits for the supervisor, which
// closes the Events channel last.
//
// Lock order: session.writeMu, then Client.mu. A request registers its reply
// slot under both locks and writes its frame while still holding writeMu, so
// the order of pending requests is the order of frames on the wire. Replies
// without an id are matched against that list: joined and left by room,
// error by the room it names, else by its code (see popCtrlForErrorLocked).
// Client.mu
// is never held while writing to the network or delivering an event.
package client

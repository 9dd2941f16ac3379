// Package relay carries a viewer's send and moderate ops from a gateway to
// the logic tier when they run in different processes. Logic nodes serve
// requests on NATS subjects; a gateway's Client is its Sender and Moderator.
//
// # Subjects
//
//	danmaku.logic.send            any logic node (queue group "logic")
//	danmaku.logic.send.<node>     one logic node: the owner of the user
//	danmaku.logic.moderate        any logic node (queue group "logic")
//	danmaku.logic.nodes           logic nodes' heartbeats and goodbyes
//
// Requests and replies are JSON (request, reply in wire.go). A reply
// carries either the stored offset and message id or a protocol error code,
// so a nack reads the same whichever node made it.
//
// # Per-user limits across logic nodes
//
// A user's send limits (rate, slow mode, duplicates) are kept in memory by
// the logic node that checks the send. For them to hold across nodes, every
// send of one user goes to one node, its owner: the live node with the
// highest rendezvous hash of (user id, node id). Logic nodes announce
// themselves every HeartbeatInterval on danmaku.logic.nodes, and say
// goodbye when they stop; a Client forgets a node it has not heard from for
// three intervals.
//
// When a node joins or leaves, only the users whose owner changed move, and
// they start afresh on their new owner: for one window their budget may be
// spent twice, once per owner. While two gateways disagree about the live
// nodes (at most one heartbeat interval after a change), a user sending
// through both may briefly have two owners. An owner that does not answer
// (it died before its heartbeats stopped) is skipped for that send: the
// request goes to the queue group, which any live node answers.
//
// # Failure
//
// A request waits at most Timeout. With no logic node subscribed, NATS
// answers at once that nobody listens, and the viewer gets nack unavailable
// without waiting; a node that takes the request and dies leaves it to the
// timeout, which also ends in unavailable. Neither is retried by the
// gateway: the client decides, since a send that timed out may have been
// stored.
package relay

package protocol

// Subprotocol is the WebSocket subprotocol the server answers when a client
// offers it. Clients that offer nothing get version 1 as well.
const Subprotocol = "danmaku.v1"

// Client → server ops.
const (
	OpAuth  = "auth"
	OpJoin  = "join"
	OpLeave = "leave"
	OpSend  = "send"
	OpPing  = "ping"
	// OpModerate is an addition to v1: moderation over WebSocket.
	OpModerate = "moderate"
)

// Server → client ops.
const (
	OpAuthed = "authed"
	OpJoined = "joined"
	OpLeft   = "left"
	OpAck    = "ack"
	OpNack   = "nack"
	OpPong   = "pong"
	OpBatch  = "batch"
	OpOnline = "online"
	OpUser   = "user"
	OpError  = "error"
	// OpBroadcast carries messages sent to every connection through
	// POST /v1/broadcast. It is an addition to PROTOCOL.md v1: broadcast
	// messages are not part of any room's history, so they cannot travel in
	// batch frames without breaking the offset/prev chain.
	OpBroadcast = "broadcast"
	// OpModerated confirms a moderate request (an addition to v1).
	OpModerated = "moderated"
)

// Codes carried by nack and error replies and by HTTP API errors.
const (
	CodeUnauthorized   = "unauthorized"
	CodeForbidden      = "forbidden"
	CodeMuted          = "muted"
	CodeRateLimited    = "rate_limited"
	CodeSlowMode       = "slow_mode"
	CodeTooLong        = "too_long"
	CodeBlockedContent = "blocked_content"
	CodeDuplicate      = "duplicate"
	CodeRoomClosed     = "room_closed"
	CodeNotJoined      = "not_joined"
	CodeBadRequest     = "bad_request"
	CodeUnavailable    = "unavailable"
	// Additions used by the HTTP API and error frames.
	CodeNotFound      = "not_found"
	CodeTooLarge      = "too_large"
	CodeTooManyRooms  = "too_many_rooms"
	CodeInternal      = "internal"
	CodeMethodInvalid = "method_not_allowed"
)

// WebSocket close codes. 4000–4499: reconnect with backoff and resume.
// 4500–4999: do not reconnect automatically. Standard codes keep their
// RFC 6455 meaning.
const (
	CloseNormal           = 1000
	CloseGoingAway        = 1001
	CloseInvalidPayload   = 1007 // invalid UTF-8
	CloseMessageTooBig    = 1009
	CloseDraining         = 4000
	CloseSlowConsumer     = 4008
	CloseHeartbeatTimeout = 4012
	CloseOverloaded       = 4013
	CloseProtocolError    = 4400
	CloseUnauthorized     = 4501
	CloseBanned           = 4503
)

// Reconnectable reports whether a client should reconnect automatically after
// the server closed with code. Codes 4500–4999 forbid it; every other code,
// including abnormal closure (1006) and the 4000–4499 class, allows it.
func Reconnectable(code int) bool {
	return code < 4500 || code > 4999
}

// Message types.
const (
	TypeDanmaku = "danmaku"
	TypeSystem  = "system"
	TypeGift    = "gift"
	TypeDelete  = "delete"
)

// Display modes.
const (
	ModeScroll  = "scroll"
	ModeTop     = "top"
	ModeBottom  = "bottom"
	ModeReverse = "reverse"
)

// Sizes.
const (
	SizeSmall  = "small"
	SizeNormal = "normal"
	SizeLarge  = "large"
)

// DefaultColor is the colour a message without one is shown in.
const DefaultColor = "#ffffff"

// Roles.
const (
	RoleViewer    = "viewer"
	RoleModerator = "moderator"
	RoleAdmin     = "admin"
	RoleGuest     = "guest"
)

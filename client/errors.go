package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// Sentinel errors.
var (
	// ErrInvalidOptions is returned by Dial for Options it cannot honour.
	ErrInvalidOptions = errors.New("invalid client options")
	// ErrClosed is returned by calls on a client that Close has stopped.
	ErrClosed = errors.New("client closed")
	// ErrConnectionLost means the connection ended before the reply came.
	// For Send the outcome is unknown: the message may have been stored.
	ErrConnectionLost = errors.New("connection lost before the reply")
	// ErrNotJoined is returned by Leave for a room the client is not in.
	ErrNotJoined = errors.New("room not joined")
	// ErrInvalidRoom is returned for a room name outside 1–64 characters of
	// [A-Za-z0-9_.:-].
	ErrInvalidRoom = errors.New("invalid room name")
	// ErrLeft is returned by a Join that a concurrent Leave cancelled.
	ErrLeft = errors.New("room left before it was joined")
	// ErrHeartbeatTimeout ends a connection on which no frame arrived
	// within PingInterval+PongTimeout. The client reconnects.
	ErrHeartbeatTimeout = errors.New("heartbeat timeout: no frame from the server")
	// ErrAuthRefused wraps the server's error reply to auth. It stops the
	// client: retrying the same token cannot succeed.
	ErrAuthRefused = errors.New("auth refused")
	// ErrHistoryLost is the Err of an EventReset sent because the server
	// could not replay a room's missed messages (recovered: false).
	ErrHistoryLost = errors.New("room history could not be recovered")
	// ErrGap is the Err of an EventReset sent because a gap in a room's
	// offsets stayed unfilled after rejoining; the held messages after the
	// gap are delivered and the room continues from them.
	ErrGap = errors.New("gap in room offsets could not be filled")
)

// NackError is a send the server refused. Its embedded protocol.CodeError
// carries the nack code (protocol.CodeTooLong, CodeRateLimited, …), the
// message and, for rate limits, how long to wait. errors.As finds it both as
// *NackError and as *protocol.CodeError.
type NackError struct {
	// ID is the client-chosen id of the refused send.
	ID string
	protocol.CodeError
}

func (e *NackError) Error() string { return "send refused: " + e.CodeError.Error() }

// Unwrap exposes the protocol code so that callers handling every
// server-coded error alike can use errors.As with *protocol.CodeError.
func (e *NackError) Unwrap() error { return &e.CodeError }

// CloseError is a connection the server closed with a WebSocket close code.
// It is the Err of a reconnecting or closed state Event, and of Client.Err
// when a 4500–4999 code stopped the client.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("closed by server with code %d", e.Code)
	}
	return fmt.Sprintf("closed by server with code %d: %s", e.Code, e.Reason)
}

// Reconnectable reports whether the code allows an automatic reconnect:
// every code but 4500–4999.
func (e *CloseError) Reconnectable() bool { return protocol.Reconnectable(e.Code) }

// RetryAfter is the wait the server asked for in a 4013 close reason
// ("retry=<ms>"), or 0.
func (e *CloseError) RetryAfter() time.Duration {
	for field := range strings.FieldsFuncSeq(e.Reason, func(r rune) bool { return r == ' ' || r == ',' || r == ';' }) {
		v, ok := strings.CutPrefix(field, "retry=")
		if !ok {
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return 0
}

// permanent reports whether err, the reason a connection ended or could not
// be made, forbids reconnecting: a 4500–4999 close code or a refused token.
func permanent(err error) bool {
	var ce *CloseError
	if errors.As(err, &ce) && !ce.Reconnectable() {
		return true
	}
	return errors.Is(err, ErrAuthRefused)
}

// retryHint is the server's requested reconnect delay carried by err: a
// close's retry=<ms> or a refused handshake's Retry-After; or 0.
func retryHint(err error) time.Duration {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.RetryAfter()
	}
	var he *handshakeError
	if errors.As(err, &he) {
		return he.retryAfter
	}
	return 0
}

// drained reports whether err is the server's 4000 close: the node is
// shutting down, and any other node can take the connection at once.
func drained(err error) bool {
	var ce *CloseError
	return errors.As(err, &ce) && ce.Code == protocol.CloseDraining
}

// codeError builds the error of an error or nack frame.
func codeError(m *protocol.ServerMessage) protocol.CodeError {
	return protocol.CodeError{
		Code:       m.Code,
		Message:    m.Message,
		RetryAfter: time.Duration(m.RetryAfterMs) * time.Millisecond,
	}
}

// transient reports whether an error code refusing a join is worth a
// reconnect rather than dropping the room.
func transient(code string) bool {
	switch code {
	case protocol.CodeUnavailable, protocol.CodeRateLimited, protocol.CodeInternal:
		return true
	}
	return false
}

package relay

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

const (
	sendSubject     = "danmaku.logic.send"
	moderateSubject = "danmaku.logic.moderate"
	nodesSubject    = "danmaku.logic.nodes"
	queueGroup      = "logic"
)

// ownerSubject is where the owner of some users takes their sends.
func ownerSubject(node string) string { return sendSubject + "." + node }

// request is a gateway's op for the logic tier.
type request struct {
	User protocol.User           `json:"user"`
	Msg  *protocol.ClientMessage `json:"msg"`
}

// decodeRequest decodes a gateway's request; a request without a message
// is as malformed as one that is not JSON.
func decodeRequest(data []byte) (*request, error) {
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, err
	}
	if req.Msg == nil {
		return nil, errNoMessage
	}
	return &req, nil
}

var errNoMessage = errors.New("relay: request without a message")

// reply is the logic tier's answer: an offset and message id, or an error
// code with its message.
type reply struct {
	Offset       uint64 `json:"offset,omitempty"`
	ID           string `json:"id,omitempty"`
	Code         string `json:"code,omitempty"`
	Message      string `json:"message,omitempty"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

func (r *reply) err() error {
	if r.Code == "" {
		return nil
	}
	return &protocol.CodeError{Code: r.Code, Message: r.Message, RetryAfter: time.Duration(r.RetryAfterMs) * time.Millisecond}
}

// heartbeat is a logic node's announcement.
type heartbeat struct {
	Node    string `json:"node"`
	Leaving bool   `json:"leaving,omitempty"`
}

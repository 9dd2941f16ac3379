package protocol

import "encoding/json"

// HTTP API bodies (see docs/api.md).

// MaxPublishMessages is the most messages one publish request may carry.
const MaxPublishMessages = 1000

// PublishMessage is one message in a publish request. Type defaults to
// "danmaku"; User is shown as given (business services speak for themselves).
type PublishMessage struct {
	Type        string          `json:"type,omitempty"`
	Text        string          `json:"text"`
	User        *User           `json:"user,omitempty"`
	Mode        string          `json:"mode,omitempty"`
	Color       string          `json:"color,omitempty"`
	Size        string          `json:"size,omitempty"`
	VideoTimeMs *int64          `json:"videoTimeMs,omitempty"`
	ReplyTo     string          `json:"replyTo,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// PublishRequest is the body of POST /v1/rooms/{room}/messages,
// /v1/broadcast and /v1/users/{user}/messages.
type PublishRequest struct {
	Messages []PublishMessage `json:"messages"`
}

// PublishResponse answers a room publish: the offsets of the stored
// messages, in request order.
type PublishResponse struct {
	Offsets []uint64 `json:"offsets"`
	IDs     []string `json:"ids,omitempty"`
}

// DeliveredResponse answers broadcast and push-to-user requests, which are
// not stored: the ids given to the messages.
type DeliveredResponse struct {
	IDs []string `json:"ids"`
}

// HistoryResponse answers GET /v1/rooms/{room}/messages.
type HistoryResponse struct {
	Room     string    `json:"room"`
	Epoch    string    `json:"epoch"`
	Messages []Message `json:"messages"`
}

// RoomInfo answers GET /v1/rooms/{room}.
type RoomInfo struct {
	Room   string `json:"room"`
	Online int64  `json:"online"`
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// APIError is the body of every HTTP API error.
type APIError struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a protocol code and a human-readable message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

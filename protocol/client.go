package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ClientMessage is any message a client sends. Op selects which of the other
// fields matter.
type ClientMessage struct {
	Op string `json:"op"`

	// auth
	Token string `json:"token,omitempty"`

	// join, leave, send
	Room string `json:"room,omitempty"`

	// join: resume after Since (the last offset seen) if Epoch still matches.
	Since *uint64 `json:"since,omitempty"`
	Epoch string  `json:"epoch,omitempty"`

	// send
	ID          string          `json:"id,omitempty"`
	Type        string          `json:"type,omitempty"`
	Text        string          `json:"text,omitempty"`
	Mode        string          `json:"mode,omitempty"`
	Color       string          `json:"color,omitempty"`
	Size        string          `json:"size,omitempty"`
	VideoTimeMs *int64          `json:"videoTimeMs,omitempty"`
	ReplyTo     string          `json:"replyTo,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`

	// ping: echoed back in pong.
	T json.RawMessage `json:"t,omitempty"`

	// moderate (an addition to v1, for users whose token says moderator or
	// admin): Action is mute, unmute, ban, unban, delete or settings; User
	// is the public user id shown in messages; Seconds the duration (0:
	// forever); MsgID or Offset the message to delete; the pointers the
	// room settings to change.
	Action          string  `json:"action,omitempty"`
	User            string  `json:"user,omitempty"`
	Seconds         int64   `json:"seconds,omitempty"`
	Reason          string  `json:"reason,omitempty"`
	MsgID           string  `json:"msgId,omitempty"`
	Offset          *uint64 `json:"offset,omitempty"`
	SlowModeSeconds *int    `json:"slowModeSeconds,omitempty"`
	Closed          *bool   `json:"closed,omitempty"`
	MaxTextRunes    *int    `json:"maxTextRunes,omitempty"`
}

// Decoding errors. Each maps to an error frame with code bad_request.
var (
	ErrMalformed = errors.New("malformed JSON")
	ErrNotObject = errors.New("message is not a JSON object")
	ErrNoOp      = errors.New(`missing "op"`)
	ErrUnknownOp = errors.New("unknown op")
)

// DecodeClient parses one client frame. It accepts exactly one JSON object
// with a known op and fields of the right types; anything else is an error
// wrapping one of ErrMalformed, ErrNotObject, ErrNoOp or ErrUnknownOp.
// Validation of field values (room names, text length) is the server's job.
func DecodeClient(data []byte) (*ClientMessage, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if json.Valid(data) {
			return nil, ErrNotObject
		}
		return nil, ErrMalformed
	}
	var m ClientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Errorf("%w: field %q must be %s", ErrMalformed, typeErr.Field, typeErr.Type)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch m.Op {
	case OpAuth, OpJoin, OpLeave, OpSend, OpPing, OpModerate:
		return &m, nil
	case "":
		return nil, ErrNoOp
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownOp, truncate(m.Op, 32))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Encode returns the JSON of a client message.
func (m *ClientMessage) Encode() ([]byte, error) { return json.Marshal(m) }

package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// ServerMessage is the union of every message the server sends. Clients
// decode frames into it and switch on Op.
type ServerMessage struct {
	Op string `json:"op"`

	Room string `json:"room,omitempty"`

	// batch, user, broadcast
	Msgs []Message `json:"msgs,omitempty"`

	// online
	Count int64 `json:"count,omitempty"`

	// joined
	Epoch     string `json:"epoch,omitempty"`
	Online    int64  `json:"online,omitempty"`
	Recovered bool   `json:"recovered,omitempty"`

	// joined (last offset of the room), ack (offset of the stored message)
	Offset uint64 `json:"offset,omitempty"`

	// ack, nack: the client's id. ack: MsgID is the server-assigned id.
	ID    string `json:"id,omitempty"`
	MsgID string `json:"msgId,omitempty"`

	// nack, error
	Code         string `json:"code,omitempty"`
	Message      string `json:"message,omitempty"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`

	// authed
	User *User `json:"user,omitempty"`

	// moderated
	Action string `json:"action,omitempty"`
	Target string `json:"target,omitempty"`

	// pong
	T json.RawMessage `json:"t,omitempty"`
}

// DecodeServer parses one server frame.
func DecodeServer(data []byte) (*ServerMessage, error) {
	var m ServerMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Joined is the reply to join.
type Joined struct {
	Op        string `json:"op"`
	Room      string `json:"room"`
	Epoch     string `json:"epoch"`
	Offset    uint64 `json:"offset"`
	Online    int64  `json:"online"`
	Recovered bool   `json:"recovered"`
}

// Ack confirms a stored send.
type Ack struct {
	Op     string `json:"op"`
	ID     string `json:"id"`
	Offset uint64 `json:"offset"`
	MsgID  string `json:"msgId"`
}

// Nack refuses a send.
type Nack struct {
	Op           string `json:"op"`
	ID           string `json:"id"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

// Error reports a problem with the client's last message. Room is an
// addition to PROTOCOL.md v1: set when the message concerned a room, so that
// a client with several joins in flight can tell which one failed.
type Error struct {
	Op      string `json:"op"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Room    string `json:"room,omitempty"`
}

// Authed confirms auth.
type Authed struct {
	Op   string `json:"op"`
	User User   `json:"user"`
}

// Left confirms leave.
type Left struct {
	Op   string `json:"op"`
	Room string `json:"room"`
}

// Moderated confirms a moderate request.
type Moderated struct {
	Op     string `json:"op"`
	Action string `json:"action"`
	Room   string `json:"room,omitempty"`
	Target string `json:"target,omitempty"` // the public user id acted on
}

// Pong answers ping.
type Pong struct {
	Op string          `json:"op"`
	T  json.RawMessage `json:"t,omitempty"`
}

// Marshal encodes a reply struct. The reply types above cannot fail to
// encode (T is validated JSON from the decoder), so errors are not returned.
func Marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only reachable with a reply holding invalid json.RawMessage, which
		// DecodeClient never produces.
		b, _ = json.Marshal(Error{Op: OpError, Code: CodeInternal, Message: "encode: " + err.Error()})
	}
	return b
}

// AppendOnline appends an online frame to dst.
func AppendOnline(dst []byte, room string, count int64) []byte {
	dst = append(dst, `{"op":"online","room":"`...)
	dst = append(dst, room...) // room names need no escaping (ValidRoom)
	dst = append(dst, `","count":`...)
	dst = strconv.AppendInt(dst, count, 10)
	return append(dst, '}')
}

// Stored is a message as the history store hands it out: its position and
// the JSON of its Body, exactly as stored.
type Stored struct {
	Offset uint64
	Prev   uint64
	Body   []byte // a JSON object produced by json.Marshal(Body)

	// Type (the body's type, e.g. "danmaku", "delete") and TS (unix ms the
	// message was accepted) are carried beside the body (bus headers set by
	// the writer), so readers need not decode the body; zero when unknown.
	// The body holds the same values, which is why AppendMessage leaves
	// these out.
	Type string
	TS   int64
}

// AppendMessage appends the wire form of a stored message to dst. It splices
// offset and prev in front of the stored body without decoding it, so the
// body's bytes reach every viewer unchanged. Type and TS are not written:
// the body already has them.
func AppendMessage(dst []byte, m Stored) []byte {
	dst = append(dst, `{"offset":`...)
	dst = strconv.AppendUint(dst, m.Offset, 10)
	dst = append(dst, `,"prev":`...)
	dst = strconv.AppendUint(dst, m.Prev, 10)
	body := m.Body
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		body = bytes.TrimSpace(body) // bodies from json.Marshal never need this
	}
	if len(body) < 2 {
		return append(dst, '}')
	}
	inner := bytes.TrimSpace(body[1 : len(body)-1])
	if len(inner) == 0 {
		return append(dst, '}')
	}
	dst = append(dst, ',')
	dst = append(dst, inner...)
	return append(dst, '}')
}

// AppendBatch appends a batch frame for room holding msgs (oldest first).
func AppendBatch(dst []byte, room string, msgs []Stored) []byte {
	dst = append(dst, `{"op":"batch","room":"`...)
	dst = append(dst, room...)
	dst = append(dst, `","msgs":[`...)
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendMessage(dst, m)
	}
	return append(dst, "]}"...)
}

// AppendMsgs appends a frame of op (user or broadcast) holding msgs.
func AppendMsgs(dst []byte, op string, msgs []Stored) []byte {
	dst = append(dst, `{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","msgs":[`...)
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendMessage(dst, m)
	}
	return append(dst, "]}"...)
}

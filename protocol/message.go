package protocol

import (
	"encoding/json"
	"strings"
)

// User identifies the author of a message as other viewers see it. ID is an
// opaque stable id, never the platform's raw user id.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// Body is a message as it is stored in a room's history: everything but its
// position. Fields at their default are omitted on the wire (see Normalize).
type Body struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	User        *User           `json:"user,omitempty"`
	Text        string          `json:"text"`
	Mode        string          `json:"mode,omitempty"`
	Color       string          `json:"color,omitempty"`
	Size        string          `json:"size,omitempty"`
	TS          int64           `json:"ts"`
	VideoTimeMs *int64          `json:"videoTimeMs,omitempty"`
	ReplyTo     string          `json:"replyTo,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// Message is one message of a room as clients receive it: its Body plus its
// position in the room's history. Offset is strictly increasing within a
// room; Prev is the offset of the room's previous message (0 for the first).
// Messages outside any room (user and broadcast frames) have Offset and Prev 0.
type Message struct {
	Offset uint64 `json:"offset"`
	Prev   uint64 `json:"prev"`
	Body
}

// Normalize drops fields that equal their defaults so that they are omitted
// on the wire, and lower-cases the colour. Call it on validated bodies.
func (b *Body) Normalize() {
	if b.Mode == ModeScroll {
		b.Mode = ""
	}
	if b.Size == SizeNormal {
		b.Size = ""
	}
	b.Color = strings.ToLower(b.Color)
	if b.Color == DefaultColor {
		b.Color = ""
	}
	if string(b.Data) == "null" {
		b.Data = nil
	}
}

// EffectiveMode returns the message's mode with the default applied.
func (b *Body) EffectiveMode() string {
	if b.Mode == "" {
		return ModeScroll
	}
	return b.Mode
}

// EffectiveColor returns the message's colour with the default applied.
func (b *Body) EffectiveColor() string {
	if b.Color == "" {
		return DefaultColor
	}
	return b.Color
}

// EffectiveSize returns the message's size with the default applied.
func (b *Body) EffectiveSize() string {
	if b.Size == "" {
		return SizeNormal
	}
	return b.Size
}

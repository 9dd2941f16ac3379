package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// Comment is what Send posts to a room. Empty fields take the server's
// defaults: type danmaku, mode scroll, colour #ffffff, size normal.
type Comment struct {
	Text string
	// Type is a message type the operator allows clients to send; empty
	// means protocol.TypeDanmaku.
	Type string
	// Mode is protocol.ModeScroll, ModeTop, ModeBottom or ModeReverse.
	Mode string
	// Color is "#rrggbb".
	Color string
	// Size is protocol.SizeSmall, SizeNormal or SizeLarge.
	Size string
	// VideoTimeMs is the position in the video, for VOD or replay; nil for
	// live.
	VideoTimeMs *int64
	// ReplyTo is the id of the message this one answers.
	ReplyTo string
	// Data is a JSON object for operator-defined types.
	Data json.RawMessage
}

// Send posts comment to room and waits for the server's verdict. On success
// it returns the ack: the message's offset in the room and its server id.
// A refusal is a *NackError carrying the nack code (protocol.CodeTooLong,
// CodeNotJoined, CodeRateLimited with RetryAfter, …).
//
// While the client is reconnecting Send waits for the connection. Send is
// never retried automatically: if the connection drops after the frame was
// written the error wraps ErrConnectionLost and the message may or may not
// have been stored.
func (c *Client) Send(ctx context.Context, room string, comment Comment) (protocol.Ack, error) {
	m := protocol.ClientMessage{
		Op:          protocol.OpSend,
		Room:        room,
		Type:        comment.Type,
		Text:        comment.Text,
		Mode:        comment.Mode,
		Color:       comment.Color,
		Size:        comment.Size,
		VideoTimeMs: comment.VideoTimeMs,
		ReplyTo:     comment.ReplyTo,
		Data:        comment.Data,
	}
	for {
		s, err := c.waitSession(ctx)
		if err != nil {
			return protocol.Ack{}, err
		}
		m.ID = c.nextID()
		frame, err := m.Encode()
		if err != nil {
			return protocol.Ack{}, fmt.Errorf("encode send: %w", err) // only invalid Data fails
		}
		reply := make(chan result, 1)
		if err := s.request(frame, func() { c.sends[m.ID] = reply }); errors.Is(err, errStale) {
			continue // not written: safe to try on the next connection
		}
		select {
		case res := <-reply:
			return res.ack, res.err
		case <-ctx.Done():
			c.mu.Lock()
			delete(c.sends, m.ID)
			c.mu.Unlock()
			return protocol.Ack{}, ctx.Err()
		}
	}
}

// SendText posts a plain comment with the default style.
func (c *Client) SendText(ctx context.Context, room, text string) (protocol.Ack, error) {
	return c.Send(ctx, room, Comment{Text: text})
}

// Ping sends an application ping and returns the round-trip time to the
// pong. The client pings on its own to keep the connection alive; Ping is
// for measuring.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	for {
		s, err := c.waitSession(ctx)
		if err != nil {
			return 0, err
		}
		token := c.seq.Add(1)
		frame := []byte(`{"op":"ping","t":` + strconv.FormatUint(token, 10) + `}`)
		reply := make(chan result, 1)
		start := time.Now()
		if err := s.request(frame, func() { c.pings[token] = reply }); errors.Is(err, errStale) {
			continue
		}
		select {
		case res := <-reply:
			return time.Since(start), res.err
		case <-ctx.Done():
			c.mu.Lock()
			delete(c.pings, token)
			c.mu.Unlock()
			return 0, ctx.Err()
		}
	}
}

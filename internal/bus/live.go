package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/protocol"
)

// SubscribeRoom calls fn for every message appended to room from now on, in
// offset order, with Offset and Prev taken from the stream's republish
// headers Nats-Sequence and Nats-Last-Sequence (so Prev is exact, and 0 when
// the room held no message before it), and Type and TS from the writer's
// headers, as history reads give them. fn runs on one of the bus's few
// dispatcher goroutines, shared with other rooms (livepool.go), and must
// not block; one subscription's calls never overlap. After unsubscribe
// returns, fn may still be running its last call but is not called again.
//
// Delivery is core NATS: a message is missed if this connection is down or
// falls behind; the caller sees that as Prev differing from the last offset
// it saw, and catches up with After.
func (b *Bus) SubscribeRoom(room string, fn func(protocol.Stored)) (unsubscribe func(), err error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	token, err := roomToken(room)
	if err != nil {
		return nil, err
	}
	unsubscribe, err = b.live.subscribe(b.conn, liveRoomPrefix+token, func(msg *nats.Msg) {
		offset, err1 := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
		prev, err2 := strconv.ParseUint(msg.Header.Get("Nats-Last-Sequence"), 10, 64)
		if err1 != nil || err2 != nil || offset == 0 {
			b.log.Warn("live message without republish headers dropped", "subject", msg.Subject)
			return
		}
		typ, ts := metaOf(msg.Header)
		// A copy of the body alone: msg.Data shares its array with the
		// republish headers (~200 bytes), and a room keeps its recent
		// messages for joins and resumes.
		fn(protocol.Stored{Offset: offset, Prev: prev, Body: bytes.Clone(msg.Data), Type: typ, TS: ts})
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe to %q: %w", room, err)
	}
	return unsubscribe, nil
}

// PublishBroadcast sends bodies to every subscriber of SubscribeBroadcast,
// on every node, without storing them. Bodies travel as JSON arrays, split
// over several NATS messages if they exceed the server's payload limit.
func (b *Bus) PublishBroadcast(ctx context.Context, bodies [][]byte) error {
	return b.publishBodies(ctx, broadcastSubject, bodies)
}

// SubscribeBroadcast calls fn with the bodies of every broadcast published
// from now on. fn runs on a NATS goroutine and must not block.
func (b *Bus) SubscribeBroadcast(fn func(bodies [][]byte)) (unsubscribe func(), err error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	sub, err := b.conn.Subscribe(broadcastSubject, func(msg *nats.Msg) {
		bodies, err := decodeBodies(msg.Data)
		if err != nil {
			b.log.Warn("malformed broadcast dropped", "err", err)
			return
		}
		fn(bodies)
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe to broadcasts: %w", err)
	}
	return unsubscriber(sub), nil
}

// PublishUser sends bodies to every connection of user, on every node,
// without storing them. The user id may be any non-empty string; it travels
// base64url-encoded in the subject live.user.<token>.
func (b *Bus) PublishUser(ctx context.Context, user string, bodies [][]byte) error {
	token, err := userToken(user)
	if err != nil {
		return err
	}
	return b.publishBodies(ctx, liveUserPrefix+token, bodies)
}

// SubscribeUsers calls fn for every user push published from now on, to
// any user; the gateway picks out the users it holds connections of. fn
// runs on a NATS goroutine and must not block.
func (b *Bus) SubscribeUsers(fn func(user string, bodies [][]byte)) (unsubscribe func(), err error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	sub, err := b.conn.Subscribe(liveUserPrefix+"*", func(msg *nats.Msg) {
		user, err := userFromToken(msg.Subject[len(liveUserPrefix):])
		if err != nil {
			b.log.Warn("user push with bad subject dropped", "subject", msg.Subject)
			return
		}
		bodies, err := decodeBodies(msg.Data)
		if err != nil {
			b.log.Warn("malformed user push dropped", "err", err)
			return
		}
		fn(user, bodies)
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe to user pushes: %w", err)
	}
	return unsubscriber(sub), nil
}

// publishBodies publishes bodies on subject as JSON arrays, as many bodies
// to a message as the server's payload limit allows.
func (b *Bus) publishBodies(ctx context.Context, subject string, bodies [][]byte) error {
	if err := b.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(bodies) == 0 {
		return nil
	}
	limit := int(b.conn.MaxPayload())
	var buf []byte
	for start := 0; start < len(bodies); {
		end, size := start, 1 // "[" plus, per body, the body and "," or "]"
		for end < len(bodies) && (end == start || size+len(bodies[end])+1 <= limit) {
			size += len(bodies[end]) + 1
			end++
		}
		buf = appendBodies(buf[:0], bodies[start:end])
		// Publish copies buf into the connection's buffer, so it can be reused.
		if err := b.conn.Publish(subject, buf); err != nil {
			return fmt.Errorf("bus: publish to %s: %w", subject, sendErr(err))
		}
		start = end
	}
	return nil
}

// appendBodies appends bodies (JSON objects) to dst as one JSON array.
func appendBodies(dst []byte, bodies [][]byte) []byte {
	dst = append(dst, '[')
	for i, body := range bodies {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, body...)
	}
	return append(dst, ']')
}

// decodeBodies splits a JSON array into its elements.
func decodeBodies(data []byte) ([][]byte, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(raw))
	for i, r := range raw {
		bodies[i] = r
	}
	return bodies, nil
}

// unsubscriber returns an idempotent unsubscribe function for sub.
func unsubscriber(sub *nats.Subscription) func() {
	var once sync.Once
	return func() { once.Do(func() { _ = sub.Unsubscribe() }) }
}

package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
)

// replyMux routes the replies to our requests — publish acks and
// direct-get responses — from one wildcard inbox subscription to
// per-request channels. A request then costs a map entry and a channel
// rather than a subscription of its own (a NATS subscription allocates a
// large message queue and, with a callback, a goroutine).
//
// A request's reply subject is <inbox>.<id>. One id may receive several
// replies: an Append sends all of its messages with the same reply subject
// and collects one ack per message; a batched direct get answers with one
// message per record and an end-of-batch marker.
type replyMux struct {
	prefix string // "<inbox>."
	sub    *nats.Subscription

	mu      sync.Mutex // guards the fields below
	nextID  uint64
	waiting map[uint64]chan *nats.Msg
}

func newReplyMux(conn *nats.Conn) (*replyMux, error) {
	m := &replyMux{prefix: conn.NewInbox() + ".", waiting: make(map[uint64]chan *nats.Msg)}
	sub, err := conn.Subscribe(m.prefix+"*", m.deliver)
	if err != nil {
		return nil, fmt.Errorf("bus: reply subscription: %w", err)
	}
	// Never drop replies as a slow consumer: what can be pending is already
	// bounded by the requests in flight, each of which caps its replies.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, fmt.Errorf("bus: reply subscription: %w", err)
	}
	m.sub = sub
	return m, nil
}

// open registers a request expecting at most replies replies and returns
// its id, the reply subject to publish with, and the channel replies arrive
// on. The caller must call done(id) when it stops listening.
func (m *replyMux) open(replies int) (uint64, string, chan *nats.Msg) {
	ch := make(chan *nats.Msg, replies)
	m.mu.Lock()
	m.nextID++
	id := m.nextID
	m.waiting[id] = ch
	m.mu.Unlock()
	return id, m.prefix + strconv.FormatUint(id, 10), ch
}

// done forgets a request; replies still arriving for it are dropped.
func (m *replyMux) done(id uint64) {
	m.mu.Lock()
	delete(m.waiting, id)
	m.mu.Unlock()
}

// deliver runs on the subscription's goroutine and must not block: a
// request's channel holds every reply it can get, so the send below only
// fails for replies nobody asked for.
func (m *replyMux) deliver(msg *nats.Msg) {
	if len(msg.Subject) <= len(m.prefix) {
		return
	}
	id, err := strconv.ParseUint(msg.Subject[len(m.prefix):], 10, 64)
	if err != nil {
		return
	}
	m.mu.Lock()
	ch := m.waiting[id]
	m.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- msg:
	default:
	}
}

// sendErr maps the client's errors for a connection that is closing or
// closed to ErrClosed, which is what they mean to our callers.
func sendErr(err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) {
		return ErrClosed
	}
	return err
}

// next waits for the next reply of a request.
func (b *Bus) next(ctx context.Context, ch <-chan *nats.Msg) (*nats.Msg, error) {
	select {
	case msg := <-ch:
		return msg, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.done:
		return nil, ErrClosed
	case <-b.connClosed:
		return nil, ErrClosed
	}
}

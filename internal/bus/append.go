package bus

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Append stores records in room's history in the given order and returns
// their offsets (JetStream stream sequences). Each record's Type and TS
// travel as headers beside its body (see doc.go, "Headers"), and come back
// in protocol.Stored from SubscribeRoom and every history read. Concurrent
// Appends to one room are ordered by the store. The records are pipelined:
// all are sent, then all acks awaited.
//
// A record with metadata that would not read back as written fails the
// whole call with ErrInvalidRecord before anything is stored. When no
// stream answers for any record (a clustered JetStream electing the room's
// stream leader after a node died, or a server whose cluster has not yet
// told it where the stream is), nothing was stored, and Append tries again
// with a backoff until ctx ends; then it returns ErrNoStream. On any other
// error some of the records may have been stored (and delivered live);
// the caller cannot tell which. The bodies must not change until Append
// returns.
func (b *Bus) Append(ctx context.Context, room string, recs []Record) ([]uint64, error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	entry, err := b.rooms.get(room)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	for i, r := range recs {
		if !r.valid() {
			return nil, fmt.Errorf("%w: record %d to %q: type %q, ts %d", ErrInvalidRecord, i, room, r.Type, r.TS)
		}
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	backoff := 50 * time.Millisecond
	for {
		offsets, err := b.appendOnce(ctx, room, entry, recs)
		if !errors.Is(err, errNothingStored) {
			return offsets, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-b.done:
			t.Stop()
			return nil, ErrClosed
		}
		backoff = min(2*backoff, time.Second)
	}
}

// errNothingStored is publish's error when no stream answered any record.
var errNothingStored = fmt.Errorf("%w (nothing stored)", ErrNoStream)

// appendOnce is one attempt of Append.
func (b *Bus) appendOnce(ctx context.Context, room string, entry *roomEntry, recs []Record) ([]uint64, error) {
	start := time.Now() // no earlier than the store time of any record below
	offsets := make([]uint64, 0, len(recs))
	rest := recs
	if !b.rooms.known(entry) {
		offset, err := b.appendFirst(ctx, entry.subject, recs[0])
		if err != nil {
			return nil, fmt.Errorf("bus: append to %q: %w", room, err)
		}
		offsets = append(offsets, offset)
		rest = recs[1:]
	}
	if len(rest) > 0 {
		var err error
		if offsets, err = b.publish(ctx, entry.subject, false, rest, offsets); err != nil {
			return nil, fmt.Errorf("bus: append to %q: %w", room, err)
		}
	}
	b.rooms.appended(entry, start)
	return offsets, nil
}

// appendFirst stores the first message this process writes to a room it
// has not written to lately. It asks the store to accept it only if the
// room holds no message, and marks it as the room's first; if the room does
// hold messages the store refuses, and the record is stored plainly.
func (b *Bus) appendFirst(ctx context.Context, subject string, rec Record) (uint64, error) {
	offsets, err := b.publish(ctx, subject, true, []Record{rec}, nil)
	if err == nil {
		return offsets[0], nil
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || (apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence &&
		apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return 0, err
	}
	offsets, err = b.publish(ctx, subject, false, []Record{rec}, nil)
	if err != nil {
		return 0, err
	}
	return offsets[0], nil
}

// publish sends records to the stream holding subject, all with one reply
// subject, then collects one ack per record, and appends the offsets to
// dst in record order. One connection's messages are stored in the order
// they were sent, so their sequences ascend in record order whatever order
// the acks arrive in. first adds the first-message headers.
func (b *Bus) publish(ctx context.Context, subject string, first bool, recs []Record, dst []uint64) ([]uint64, error) {
	id, reply, replies := b.replies.open(len(recs))
	defer b.replies.done(id)
	header := newMetaHeader(first)
	for _, rec := range recs {
		msg := nats.Msg{Subject: subject, Reply: reply, Header: header.set(rec), Data: rec.Body}
		if err := b.conn.PublishMsg(&msg); err != nil {
			return nil, sendErr(err)
		}
	}
	start := len(dst)
	var failed error
	noStream := 0
	for range recs {
		msg, err := b.next(ctx, replies)
		if err != nil {
			return nil, err
		}
		seq, err := parseAck(msg)
		if err != nil {
			// Read every ack: whether any record was stored decides if the
			// call may be tried again.
			failed = cmp.Or(failed, err)
			if errors.Is(err, ErrNoStream) {
				noStream++
			}
			continue
		}
		dst = append(dst, seq)
	}
	switch {
	case failed == nil:
	case noStream == len(recs) && start == 0:
		return nil, errNothingStored
	default:
		return nil, failed
	}
	slices.Sort(dst[start:])
	return dst, nil
}

// parseAck returns the stream sequence of a JetStream publish ack, or the
// error the stream answered with.
func parseAck(msg *nats.Msg) (uint64, error) {
	if status := msg.Header.Get("Status"); status != "" {
		if status == "503" {
			return 0, ErrNoStream
		}
		return 0, fmt.Errorf("%w: status %s %s", ErrBadReply, status, msg.Header.Get("Description"))
	}
	// Fast path for the common ack {"stream":"DANMAKU","seq":42}: find the
	// sequence without a full JSON decode.
	data := msg.Data
	if !bytes.Contains(data, []byte(`"error"`)) {
		if i := bytes.Index(data, []byte(`"seq":`)); i >= 0 {
			digits := data[i+len(`"seq":`):]
			n := 0
			for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
				n++
			}
			if seq, err := strconv.ParseUint(string(digits[:n]), 10, 64); err == nil && seq > 0 {
				return seq, nil
			}
		}
	}
	var ack struct {
		Error *jetstream.APIError `json:"error"`
		Seq   uint64              `json:"seq"`
	}
	if err := json.Unmarshal(data, &ack); err != nil {
		return 0, fmt.Errorf("%w: ack %q", ErrBadReply, data)
	}
	if ack.Error != nil {
		return 0, ack.Error
	}
	if ack.Seq == 0 {
		return 0, fmt.Errorf("%w: ack %q", ErrBadReply, data)
	}
	return ack.Seq, nil
}

// maxRoomCache bounds the per-process room cache.
const maxRoomCache = 1 << 16

// roomCache remembers, per room, its stored subject (so Append does not
// rebuild it) and when this process last appended to it. A room counts as
// known — its next message needs no first-message check — while that last
// append is younger than the history TTL (less a margin for clock skew with
// an external server): until then the room still holds at least that
// message, because the per-room count limit never empties a room and the
// age limit has not reached it.
type roomCache struct {
	ttl   time.Duration
	parts partitions

	mu      sync.Mutex // guards entries and every entry's lastAppend
	entries map[string]*roomEntry
}

type roomEntry struct {
	subject    string
	lastAppend time.Time // zero: never, as far as this process remembers
}

func newRoomCache(ttl time.Duration, parts partitions) *roomCache {
	return &roomCache{ttl: ttl - min(ttl/10, time.Minute), parts: parts, entries: make(map[string]*roomEntry)}
}

func (c *roomCache) get(room string) (*roomEntry, error) {
	c.mu.Lock()
	entry := c.entries[room]
	c.mu.Unlock()
	if entry != nil {
		return entry, nil
	}
	ref, err := c.parts.locate(room)
	if err != nil {
		return nil, err
	}
	entry = &roomEntry{subject: ref.subject}
	c.mu.Lock()
	defer c.mu.Unlock()
	if existing := c.entries[room]; existing != nil {
		return existing, nil
	}
	if len(c.entries) >= maxRoomCache {
		// Forget an arbitrary room. The cost of forgetting is one extra
		// round trip on its next append, never a wrong answer.
		for name := range c.entries {
			delete(c.entries, name)
			break
		}
	}
	c.entries[room] = entry
	return entry, nil
}

func (c *roomCache) known(e *roomEntry) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !e.lastAppend.IsZero() && time.Since(e.lastAppend) < c.ttl
}

// appended records an append that began at start.
func (c *roomCache) appended(e *roomEntry, start time.Time) {
	c.mu.Lock()
	if start.After(e.lastAppend) {
		e.lastAppend = start
	}
	c.mu.Unlock()
}

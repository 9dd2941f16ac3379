package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

const (
	// maxBatch caps the records one direct get asks for.
	maxBatch = 1024
	// maxBatchBytes caps the bytes one direct get returns; the server stops
	// a batch early past it and reports what is left.
	maxBatchBytes = 4 << 20
)

// record is one stored message as a direct get returns it.
type record struct {
	seq   uint64
	first bool   // carries the first-message marker (see doc.go)
	stamp string // store time, RFC 3339; parsed only when needed
	body  []byte
	typ   string // the writer's metadata headers (Stored.Type, Stored.TS)
	ts    int64
}

func (r *record) time() (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, r.stamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time stamp %q", ErrBadReply, r.stamp)
	}
	return t, nil
}

// getRequest is the body of a JetStream direct get ($JS.API.DIRECT.GET.<stream>).
// Batched gets (Batch > 0) need nats-server 2.11 or later.
type getRequest struct {
	Seq       uint64     `json:"seq,omitempty"`
	NextFor   string     `json:"next_by_subj,omitempty"`
	Batch     int        `json:"batch,omitempty"`
	MaxBytes  int        `json:"max_bytes,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
	MultiLast []string   `json:"multi_last,omitempty"`
	UpToSeq   uint64     `json:"up_to_seq,omitempty"`
}

// getBatch runs one batched direct get and returns its records, oldest
// first, and how many matching messages the store held past the last one
// returned when it answered. A get that matches nothing returns no records
// and no error.
//
// Direct gets read the store without creating a consumer, so a read leaves
// nothing behind on the server, whatever happens to the caller.
func (b *Bus) getBatch(ctx context.Context, p *partition, req *getRequest) ([]record, uint64, error) {
	req.MaxBytes = maxBatchBytes
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, 0, err
	}
	// One reply per record plus the end-of-batch marker.
	id, reply, replies := b.replies.open(max(req.Batch, 1) + 1)
	defer b.replies.done(id)
	if err := b.conn.PublishRequest(p.direct, reply, payload); err != nil {
		return nil, 0, sendErr(err)
	}
	recs := make([]record, 0, min(max(req.Batch, 1), 64))
	for {
		msg, err := b.next(ctx, replies)
		if err != nil {
			return nil, 0, err
		}
		switch status := msg.Header.Get("Status"); status {
		case "":
			rec, err := toRecord(msg)
			if err != nil {
				return nil, 0, err
			}
			recs = append(recs, rec)
		case "204": // end of batch
			pending, err := strconv.ParseUint(msg.Header.Get("Nats-Num-Pending"), 10, 64)
			if err != nil {
				return nil, 0, fmt.Errorf("%w: end of batch without pending count", ErrBadReply)
			}
			return recs, pending, nil
		case "404":
			return recs, 0, nil
		default:
			return nil, 0, statusError(msg)
		}
	}
}

// getLast returns the room's newest message, if any.
func (b *Bus) getLast(ctx context.Context, ref roomRef) (record, bool, error) {
	id, reply, replies := b.replies.open(1)
	defer b.replies.done(id)
	if err := b.conn.PublishRequest(ref.part.direct+"."+ref.subject, reply, nil); err != nil {
		return record{}, false, sendErr(err)
	}
	msg, err := b.next(ctx, replies)
	if err != nil {
		return record{}, false, err
	}
	switch msg.Header.Get("Status") {
	case "":
		rec, err := toRecord(msg)
		return rec, err == nil, err
	case "404":
		return record{}, false, nil
	default:
		return record{}, false, statusError(msg)
	}
}

// prevOf returns the sequence of the room's newest message before seq, 0
// if the store holds none.
func (b *Bus) prevOf(ctx context.Context, ref roomRef, seq uint64) (uint64, error) {
	if seq <= 1 {
		return 0, nil
	}
	recs, _, err := b.getBatch(ctx, ref.part, &getRequest{MultiLast: []string{ref.subject}, UpToSeq: seq - 1, Batch: 1})
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	return recs[0].seq, nil
}

func toRecord(msg *nats.Msg) (record, error) {
	seq, err := strconv.ParseUint(msg.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil || seq == 0 {
		return record{}, fmt.Errorf("%w: direct get reply without sequence", ErrBadReply)
	}
	typ, ts := metaOf(msg.Header)
	return record{
		seq:   seq,
		first: msg.Header.Get(firstHeader) != "",
		stamp: msg.Header.Get("Nats-Time-Stamp"),
		body:  msg.Data,
		typ:   typ,
		ts:    ts,
	}, nil
}

func statusError(msg *nats.Msg) error {
	status := msg.Header.Get("Status")
	if status == "503" {
		return ErrNoStream
	}
	return fmt.Errorf("%w: direct get: status %s %s", ErrBadReply, status, msg.Header.Get("Description"))
}

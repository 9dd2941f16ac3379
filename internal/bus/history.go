package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// After returns up to limit messages of room with offset > after, oldest
// first, with Prev filled. limit <= 0 means no limit (a room holds at most
// HistorySize messages).
//
// complete reports that the history provably holds every message of the
// room with offset > after up to the newest one returned: there is no hole
// between after and msgs[0]. When there are no messages after `after`,
// complete is true iff after equals the room's last offset (0 for an empty
// room). doc.go explains how this is proved.
func (b *Bus) After(ctx context.Context, room string, after uint64, limit int) (msgs []protocol.Stored, complete bool, err error) {
	if err := b.usable(); err != nil {
		return nil, false, err
	}
	ref, err := b.parts.locate(room)
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	limit = b.limit(limit)
	want := limit
	if after > 0 {
		want++ // the message at `after` itself, which proves there is no hole
	}
	sp, err := b.readForward(ctx, ref, getRequest{Seq: after}, want, nil)
	if err != nil {
		return nil, false, fmt.Errorf("bus: history of %q: %w", room, err)
	}
	recs := sp.recs
	if len(recs) == 0 {
		// Had the room's last offset been `after`, its message would have
		// come back; so complete only for an empty room read from the start.
		return nil, after == 0, nil
	}
	var prev uint64
	switch {
	case after == 0:
		// recs[0] is the room's oldest retained message; nothing of the
		// room was lost before it iff it is the room's first.
		complete = recs[0].first
	case recs[0].seq == after:
		complete, prev, recs = true, after, recs[1:]
	default:
		// The message at `after` is gone (or was never this room's): the
		// messages between it and recs[0] may be lost.
		recs = recs[:min(len(recs), limit)]
		if !recs[0].first {
			if prev, err = b.prevOf(ctx, ref, recs[0].seq); err != nil {
				return nil, false, fmt.Errorf("bus: history of %q: %w", room, err)
			}
		}
	}
	return chain(recs, prev), complete, nil
}

// Latest returns the most recent n messages of room, oldest first, with
// Prev filled. msgs[0].Prev is exact when the room holds the message before
// it or msgs[0] is the room's first; otherwise (msgs[0] is the oldest
// retained message of a room whose older messages expired) it is 0.
//
// JetStream cannot read a subject backwards, so Latest searches for a start
// sequence from which a forward read returns between n+1 and about 2n+64
// messages, interpolating on the per-subject counts that batched direct
// gets report. With evenly spread traffic that takes one or two probes.
func (b *Bus) Latest(ctx context.Context, room string, n int) ([]protocol.Stored, error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	ref, err := b.parts.locate(room)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	recs, err := b.latest(ctx, ref, n)
	if err != nil {
		return nil, fmt.Errorf("bus: latest of %q: %w", room, err)
	}
	// One record more than asked for gives msgs[0] its exact prev. Fewer
	// means the read began at the room's oldest retained message, which has
	// no retained predecessor.
	var prev uint64
	if len(recs) > n {
		prev = recs[len(recs)-n-1].seq
		recs = recs[len(recs)-n:]
	}
	return chain(recs, prev), nil
}

// maxProbes bounds Latest's search before it falls back to a long read.
const maxProbes = 8

// latest returns the room's newest n+1 records (or all, if fewer).
func (b *Bus) latest(ctx context.Context, ref roomRef, n int) ([]record, error) {
	want := n + 1
	budget := 2*want + 64 // a probe accepts a start with want..budget records from it

	// Small rooms are read whole in one round trip.
	sp, err := b.readForward(ctx, ref, getRequest{}, budget, nil)
	if err != nil || !sp.more {
		return sp.recs, err
	}
	last, ok, err := b.getLast(ctx, ref)
	if err != nil || !ok {
		return nil, err
	}
	// Invariant: count(lo.seq) > budget and count(hi.seq) < want, where
	// count(s) is the number of the room's messages with sequence >= s.
	type point struct{ seq, count uint64 }
	lo := point{sp.recs[0].seq, uint64(len(sp.recs)) + sp.pending}
	hi := point{last.seq + 1, 0}
	target := uint64(want+budget) / 2
	for range maxProbes {
		if hi.seq-lo.seq < 2 || lo.count <= target || lo.count <= hi.count {
			break // counts moved under us; read from lo
		}
		// Assume the room's messages are spread evenly between lo and hi.
		frac := float64(lo.count-target) / float64(lo.count-hi.count)
		seq := lo.seq + uint64(frac*float64(hi.seq-lo.seq))
		seq = min(max(seq, lo.seq+1), hi.seq-1)
		sp, err := b.readForward(ctx, ref, getRequest{Seq: seq}, budget, nil)
		if err != nil {
			return nil, err
		}
		count := uint64(len(sp.recs)) + sp.pending
		switch {
		case count < uint64(want):
			hi = point{seq, count}
		case !sp.more:
			return sp.recs, nil
		default:
			lo = point{sp.recs[0].seq, count}
		}
	}
	sp, err = b.readForward(ctx, ref, getRequest{Seq: lo.seq}, int(lo.count)+budget, nil)
	if err != nil {
		return nil, err
	}
	return sp.recs[max(0, len(sp.recs)-want):], nil
}

// Range returns messages of room whose store time is in [from, to], oldest
// first, at most limit (<= 0: no limit), with Prev filled; msgs[0].Prev is
// exact when the room still holds its predecessor or it is the room's
// first message, else 0.
func (b *Bus) Range(ctx context.Context, room string, from, to time.Time, limit int) ([]protocol.Stored, error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	ref, err := b.parts.locate(room)
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, nil
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	from = from.UTC()
	pastTo := func(r *record) (bool, error) {
		t, err := r.time()
		return err == nil && t.After(to), err
	}
	sp, err := b.readForward(ctx, ref, getRequest{StartTime: &from}, b.limit(limit), pastTo)
	if err != nil {
		return nil, fmt.Errorf("bus: range of %q: %w", room, err)
	}
	if len(sp.recs) == 0 {
		return nil, nil
	}
	var prev uint64
	if !sp.recs[0].first {
		if prev, err = b.prevOf(ctx, ref, sp.recs[0].seq); err != nil {
			return nil, fmt.Errorf("bus: range of %q: %w", room, err)
		}
	}
	return chain(sp.recs, prev), nil
}

// LastOffset is the offset of room's newest retained message, 0 if none.
func (b *Bus) LastOffset(ctx context.Context, room string) (uint64, error) {
	if err := b.usable(); err != nil {
		return 0, err
	}
	ref, err := b.parts.locate(room)
	if err != nil {
		return 0, err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	last, _, err := b.getLast(ctx, ref)
	if err != nil {
		return 0, fmt.Errorf("bus: last offset of %q: %w", room, err)
	}
	return last.seq, nil
}

// limit applies the "<= 0 means no limit" rule.
func (b *Bus) limit(limit int) int {
	if limit <= 0 {
		return max(b.cfg.HistorySize, 1)
	}
	return limit
}

// span is the result of a forward read.
type span struct {
	recs []record // consecutive messages of one room, oldest first
	// pending is how many of the room's messages the store held past the
	// last record when it last answered.
	pending uint64
	// more reports that the read stopped before the room's newest message:
	// at max, where until said so, or at a hole.
	more bool
}

// readForward reads up to max consecutive messages of the room, starting
// with the first one the start request selects (by sequence or by time).
// The server may end a batch early (maxBatch, maxBatchBytes); each further
// request restarts at the last record read and must get it back first,
// which proves nothing between them was trimmed meanwhile. If it is gone,
// reading stops there, so the records returned never have a hole.
// until, if set, ends the read before the first record it accepts.
func (b *Bus) readForward(ctx context.Context, ref roomRef, start getRequest, max int, until func(*record) (bool, error)) (span, error) {
	var sp span
	req := start
	var anchor uint64
	for {
		req.NextFor = ref.subject
		want := max - len(sp.recs)
		if anchor != 0 {
			want++
		}
		req.Batch = min(want, maxBatch)
		recs, pending, err := b.getBatch(ctx, ref.part, &req)
		if err != nil {
			return sp, err
		}
		if anchor != 0 {
			if len(recs) == 0 || recs[0].seq != anchor {
				sp.more = true
				return sp, nil
			}
			recs = recs[1:]
		}
		for i := range recs {
			if until != nil {
				stop, err := until(&recs[i])
				if err != nil {
					return sp, err
				}
				if stop {
					sp.more = true
					return sp, nil
				}
			}
			sp.recs = append(sp.recs, recs[i])
		}
		sp.pending = pending
		sp.more = pending > 0
		if pending == 0 || len(sp.recs) >= max || len(recs) == 0 {
			return sp, nil
		}
		anchor = sp.recs[len(sp.recs)-1].seq
		req = getRequest{Seq: anchor}
	}
}

// chain turns consecutive records into messages, the first with prev and
// each later one with its predecessor's offset. Every history read ends
// here, so all of them carry Type and TS as SubscribeRoom does.
func chain(recs []record, prev uint64) []protocol.Stored {
	if len(recs) == 0 {
		return nil
	}
	msgs := make([]protocol.Stored, len(recs))
	for i, r := range recs {
		msgs[i] = protocol.Stored{Offset: r.seq, Prev: prev, Body: r.body, Type: r.typ, TS: r.ts}
		prev = r.seq
	}
	return msgs
}

package bench

import (
	"bytes"
	"errors"
	"math"
)

// A batch frame as the server builds it (protocol.AppendBatch):
//
//	{"op":"batch","room":"R","msgs":[{"offset":N,"prev":P,…,"data":{"t":T,"via":A,"seq":S}},…]}
//
// Viewers read it without a JSON decoder: the offsets, prevs and publish
// times are found by position. A JSON string cannot hold an unescaped '"',
// so the markers below cannot appear inside a message's text.
var (
	batchPrefix  = []byte(`{"op":"batch","room":"`)
	msgsMarker   = []byte(`","msgs":[`)
	offsetMarker = []byte(`{"offset":`)
	prevMarker   = []byte(`,"prev":`)
	tMarker      = []byte(`"data":{"t":`)
	viaMarker    = []byte(`,"via":`)

	errMalformedBatch = errors.New("malformed batch frame")
)

// parsedBatch is what viewers need from one batch frame. It is shared,
// read-only, by every viewer of a worker that receives the same frame.
type parsedBatch struct {
	first   uint64 // offset of the first message
	size    int    // payload length: with first, identifies the frame
	offsets []uint64
	prevs   []uint64
	ts      []int64 // publish time (unix ns) from data.t; 0 when absent
	via     []int32 // the publisher's API URL index from data.via; -1 when absent
}

// splitBatch returns the room name of a batch payload and the messages
// array that follows it.
func splitBatch(p []byte) (room, msgs []byte, err error) {
	rest, ok := bytes.CutPrefix(p, batchPrefix)
	if !ok {
		return nil, nil, errMalformedBatch
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 {
		return nil, nil, errMalformedBatch
	}
	room = rest[:i]
	msgs, ok = bytes.CutPrefix(rest[i:], msgsMarker)
	if !ok {
		return nil, nil, errMalformedBatch
	}
	return room, msgs, nil
}

// firstOffset reads the offset of the first message of a messages array.
func firstOffset(msgs []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(msgs, offsetMarker)
	if !ok {
		return 0, false
	}
	v, _, ok := readUint(rest)
	return v, ok
}

// parseMessages reads every message's offset, prev and data.t.
func parseMessages(msgs []byte, size int) (*parsedBatch, error) {
	pb := &parsedBatch{size: size}
	pos := 0
	for {
		if !bytes.HasPrefix(msgs[pos:], offsetMarker) {
			return nil, errMalformedBatch
		}
		off, n, ok := readUint(msgs[pos+len(offsetMarker):])
		if !ok {
			return nil, errMalformedBatch
		}
		pos += len(offsetMarker) + n
		rest, ok := bytes.CutPrefix(msgs[pos:], prevMarker)
		if !ok {
			return nil, errMalformedBatch
		}
		prev, n, ok := readUint(rest)
		if !ok {
			return nil, errMalformedBatch
		}
		pos += len(prevMarker) + n
		end := bytes.Index(msgs[pos:], offsetMarker)
		if end < 0 {
			end = len(msgs)
		} else {
			end += pos
		}
		var t int64
		via := int32(-1)
		if i := bytes.Index(msgs[pos:end], tMarker); i >= 0 {
			rest := msgs[pos+i+len(tMarker) : end]
			v, n, ok := readUint(rest)
			if ok {
				t = int64(v)
				// The server keeps data as sent, compacted, so via follows t.
				if r, ok := bytes.CutPrefix(rest[n:], viaMarker); ok {
					if a, _, ok := readUint(r); ok && a < 1<<16 {
						via = int32(a)
					}
				}
			}
		}
		if len(pb.offsets) == 0 {
			pb.first = off
		}
		pb.offsets = append(pb.offsets, off)
		pb.prevs = append(pb.prevs, prev)
		pb.ts = append(pb.ts, t)
		pb.via = append(pb.via, via)
		if end == len(msgs) {
			return pb, nil
		}
		pos = end
	}
}

// readUint parses the decimal digits at the start of b.
func readUint(b []byte) (v uint64, n int, ok bool) {
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		d := uint64(b[n] - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, 0, false
		}
		v = v*10 + d
		n++
	}
	return v, n, n > 0
}

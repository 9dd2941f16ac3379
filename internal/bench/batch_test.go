package bench

import (
	"bytes"
	"testing"

	"github.com/danmaku/danmaku/protocol"
)

func TestParseBatchFrame(t *testing.T) {
	msgs := []protocol.Stored{
		{Offset: 7, Prev: 3, Body: []byte(`{"id":"a","type":"danmaku","text":"he said \"{\\\"offset\\\":1}\"","ts":1,"data":{"t":1763900000123456789,"seq":1}}`)},
		{Offset: 9, Prev: 7, Body: []byte(`{"id":"b","type":"danmaku","text":"x","ts":2}`)},
		{Offset: 12, Prev: 9, Body: []byte(`{"id":"c","type":"danmaku","text":"y","ts":3,"data":{"t":42,"via":2,"seq":3}}`)},
	}
	p := protocol.AppendBatch(nil, "room-1", msgs)
	room, rest, err := splitBatch(p)
	if err != nil || string(room) != "room-1" {
		t.Fatalf("splitBatch: %q, %v", room, err)
	}
	if first, ok := firstOffset(rest); !ok || first != 7 {
		t.Fatalf("firstOffset = %d, %v", first, ok)
	}
	pb, err := parseMessages(rest, len(p))
	if err != nil {
		t.Fatal(err)
	}
	wantOff, wantPrev, wantT, wantVia := []uint64{7, 9, 12}, []uint64{3, 7, 9}, []int64{1763900000123456789, 0, 42}, []int32{-1, -1, 2}
	for i := range wantOff {
		if pb.offsets[i] != wantOff[i] || pb.prevs[i] != wantPrev[i] || pb.ts[i] != wantT[i] || pb.via[i] != wantVia[i] {
			t.Errorf("msg %d: offset %d prev %d t %d via %d; want %d %d %d %d", i, pb.offsets[i], pb.prevs[i], pb.ts[i], pb.via[i], wantOff[i], wantPrev[i], wantT[i], wantVia[i])
		}
	}
	if len(pb.offsets) != 3 {
		t.Fatalf("%d messages, want 3", len(pb.offsets))
	}
	for _, bad := range [][]byte{
		[]byte(`{"op":"online","room":"r","count":3}`),
		[]byte(`{"op":"batch","room":"r","msgs":[{"offset":x}]}`),
		[]byte(`{"op":"batch","room":"r"`),
	} {
		if _, rest, err := splitBatch(bad); err == nil {
			if _, err := parseMessages(rest, len(bad)); err == nil {
				t.Errorf("%s parsed without error", bad)
			}
		}
	}
}

func TestFrameHeaderAndClientFrame(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		payload := bytes.Repeat([]byte("a"), n)
		f := clientFrame(opText, payload)
		fin, op, h, l, ok := frameHeader(f)
		if !ok || !fin || op != opText || l != uint64(n) || len(f) != h+n {
			t.Fatalf("n=%d: fin %v op %d header %d len %d ok %v (frame %d bytes)", n, fin, op, h, l, ok, len(f))
		}
		mask := f[h-4 : h]
		for i := range n {
			if f[h+i]^mask[i&3] != 'a' {
				t.Fatalf("n=%d: byte %d not masked correctly", n, i)
			}
		}
		if _, _, _, _, ok := frameHeader(f[:1]); ok {
			t.Fatal("one byte parsed as a header")
		}
	}
}

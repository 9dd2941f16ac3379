package protocol

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeClient: any input either decodes to a message with a known op
// or fails with one of the documented errors; it never panics.
func FuzzDecodeClient(f *testing.F) {
	for _, s := range []string{
		`{"op":"ping"}`, `{"op":"ping","t":{"a":[1,2]}}`, `{"op":"join","room":"lobby","since":12,"epoch":"e"}`,
		`{"op":"send","room":"r","id":"1","text":"hi","mode":"top","color":"#fff000","size":"large","videoTimeMs":5}`,
		`{"op":"auth","token":"x.y.z"}`, `{"op":"leave","room":"r"}`, `{"op":"nope"}`, `[]`, `"str"`, `{`, ``, `null`,
		`{"op":"join","since":-1}`, `{"op":"join","since":1e30}`, "{\"op\":\"send\",\"text\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeClient(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotObject) && !errors.Is(err, ErrNoOp) && !errors.Is(err, ErrUnknownOp) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		switch m.Op {
		case OpAuth, OpJoin, OpLeave, OpSend, OpPing, OpModerate:
		default:
			t.Fatalf("decoded unknown op %q", m.Op)
		}
		// A pong echoing t is always valid JSON.
		if !json.Valid(Marshal(Pong{Op: OpPong, T: m.T})) {
			t.Fatalf("pong for %q is not valid JSON", data)
		}
	})
}

// FuzzAppendBatch: a batch spliced from any stored JSON object bodies is
// valid JSON that decodes back to the same offsets.
func FuzzAppendBatch(f *testing.F) {
	f.Add(uint64(1), uint64(0), `{"id":"a","type":"danmaku","text":"hi","ts":1}`, "lobby")
	f.Add(uint64(9), uint64(3), `{}`, "r.1:x")
	f.Add(uint64(1<<63), uint64(7), `{"id":"\u2028","type":"x","text":"\"","ts":1,"data":{"k":[1]}}`, "a")
	f.Fuzz(func(t *testing.T, off, prev uint64, body, room string) {
		var obj map[string]any
		if json.Unmarshal([]byte(body), &obj) != nil || !ValidRoom(room) {
			return
		}
		if _, ok := obj["offset"]; ok {
			return // stored bodies never carry offset or prev
		}
		if _, ok := obj["prev"]; ok {
			return
		}
		frame := AppendBatch(nil, room, []Stored{{Offset: off, Prev: prev, Body: []byte(body)}, {Offset: off, Prev: prev, Body: []byte(body)}})
		m, err := DecodeServer(frame)
		if err != nil {
			t.Fatalf("batch %s: %v", frame, err)
		}
		if m.Op != OpBatch || m.Room != room || len(m.Msgs) != 2 || m.Msgs[0].Offset != off || m.Msgs[1].Prev != prev {
			t.Fatalf("round trip of %s gave %+v", frame, m)
		}
	})
}

package logic

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

// FuzzPublishRequest: any body either decodes and validates into stored
// bodies that are JSON objects with an id, a type and a ts, which the
// record's metadata repeats, or fails with a protocol error; it never
// panics.
func FuzzPublishRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"text":"hi"}]}`,
		`{"messages":[{"type":"gift","text":"","data":{"gift":"rocket","n":3},"user":{"id":"u1","name":"bob"}}]}`,
		`{"messages":[{"text":"x","mode":"top","color":"#ABCDEF","size":"small","videoTimeMs":12,"replyTo":"m1"}]}`,
		`{"messages":[]}`, `{"messages":[{"text":"a"}]} trailing`, `{"messages":[{"text":"a","extra":1}]}`,
		`{"messages":[{"text":"\u0000\n\t"}]}`, `{"messages":[{"text":"x","data":[1]}]}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	l := &Logic{cfg: Config{MaxTextRunes: 100, MaxDataBytes: 2048, Now: fixedNow}, metrics: metrics.New()}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodePublish(data)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) {
				t.Fatalf("error without status: %v", err)
			}
			return
		}
		recs, ids, err := l.records(req)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) {
				t.Fatalf("error without status: %v", err)
			}
			return
		}
		for i, rec := range recs {
			b := rec.Body
			var body protocol.Body
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("stored body %s is not JSON: %v", b, err)
			}
			if body.ID != ids[i] || body.Type == "" || body.TS == 0 {
				t.Fatalf("stored body %s misses id, type or ts", b)
			}
			if rec.Type != body.Type || rec.TS != body.TS {
				t.Fatalf("record metadata %q %d differs from body %s", rec.Type, rec.TS, b)
			}
			wire := protocol.AppendMessage(nil, protocol.Stored{Offset: 1, Body: b})
			if !json.Valid(wire) {
				t.Fatalf("wire form %s is not JSON", wire)
			}
		}
	})
}

package protocol

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeClientErrors(t *testing.T) {
	for in, want := range map[string]error{
		`{"op":`:                 ErrMalformed,
		`[1]`:                    ErrNotObject,
		`12`:                     ErrNotObject,
		`{}`:                     ErrNoOp,
		`{"op":"dance"}`:         ErrUnknownOp,
		`{"op":"join","room":1}`: ErrMalformed,
	} {
		if _, err := DecodeClient([]byte(in)); !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", in, err, want)
		}
	}
	m, err := DecodeClient([]byte(`{"op":"join","room":"r","since":0,"epoch":"e"}`))
	if err != nil || m.Since == nil || *m.Since != 0 || m.Epoch != "e" {
		t.Fatalf("join with since 0: %+v %v", m, err)
	}
}

func TestValidators(t *testing.T) {
	for room, ok := range map[string]bool{"a": true, "A-z_0.9:x": true, "": false, "a b": false, "é": false,
		"0123456789012345678901234567890123456789012345678901234567890123":  true,
		"01234567890123456789012345678901234567890123456789012345678901234": false} {
		if ValidRoom(room) != ok {
			t.Errorf("ValidRoom(%q) = %v", room, !ok)
		}
	}
	for c, ok := range map[string]bool{"": true, "#ffFFff": true, "#fff": false, "ffffff": false, "#gggggg": false} {
		if ValidColor(c) != ok {
			t.Errorf("ValidColor(%q) = %v", c, !ok)
		}
	}
	if !Reconnectable(4000) || !Reconnectable(4499) || Reconnectable(4500) || Reconnectable(4503) || !Reconnectable(1006) {
		t.Error("Reconnectable classes are wrong")
	}
}

func TestMessageWireForm(t *testing.T) {
	b := Body{ID: "x", Type: TypeDanmaku, Text: "hi", Mode: ModeScroll, Color: "#FFFFFF", Size: SizeNormal, TS: 5}
	b.Normalize()
	body, _ := json.Marshal(b)
	got := string(AppendMessage(nil, Stored{Offset: 7, Prev: 3, Body: body}))
	want := `{"offset":7,"prev":3,"id":"x","type":"danmaku","text":"hi","ts":5}`
	if got != want {
		t.Fatalf("wire form\n got %s\nwant %s", got, want)
	}
	// The body already holds type and ts; the metadata beside it must not
	// be written a second time.
	if got := string(AppendMessage(nil, Stored{Offset: 7, Prev: 3, Body: body, Type: TypeDanmaku, TS: 5})); got != want {
		t.Fatalf("wire form with metadata\n got %s\nwant %s", got, want)
	}
	nack := (&CodeError{Code: CodeRateLimited, Message: "slow down", RetryAfter: 1500e6}).NackFor("c1")
	if string(Marshal(nack)) != `{"op":"nack","id":"c1","code":"rate_limited","message":"slow down","retryAfterMs":1500}` {
		t.Fatalf("nack = %s", Marshal(nack))
	}
	j := string(Marshal(Joined{Op: OpJoined, Room: "r", Epoch: "e"}))
	if j != `{"op":"joined","room":"r","epoch":"e","offset":0,"online":0,"recovered":false}` {
		t.Fatalf("joined = %s", j)
	}
}

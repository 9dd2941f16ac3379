package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/internal/stacktest"
)

type roomCount struct {
	viewers  int64
	messages uint64
}

func eachRoom(s *stacktest.Stack) map[string]roomCount {
	got := map[string]roomCount{}
	s.Server().Gateway().EachRoom(func(room string, viewers int64, messages uint64) {
		got[room] = roomCount{viewers, messages}
	})
	return got
}

// EachRoom reports every room's viewers on the gateway and the messages it
// batched for the room since the room opened here.
func TestEachRoomCountsViewersAndMessages(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	a1, a2, b := dial(t, s.WSURL, nil), dial(t, s.WSURL, nil), dial(t, s.WSURL, nil)
	a1.join("a")
	a2.join("a")
	b.join("b")
	s.Publish(t, "a", "1", "2", "3")
	s.Publish(t, "b", "x")
	a1.collect("a", 3)
	b.collect("b", 1)
	if got := fmt.Sprint(eachRoom(s)); got != "map[a:{2 3} b:{1 1}]" {
		t.Fatalf("rooms %s, want a with 2 viewers and 3 messages, b with 1 and 1", got)
	}
	// The room closes with its last viewer and opens anew from 0.
	_ = b.ws.CloseNow()
	waitRooms(t, s, func(m map[string]roomCount) bool { _, ok := m["b"]; return !ok })
	b2 := dial(t, s.WSURL, nil)
	b2.join("b")
	if got := eachRoom(s)["b"]; got != (roomCount{1, 0}) {
		t.Fatalf("reopened room b: %+v, want 1 viewer and no messages yet", got)
	}
}

// waitRooms polls EachRoom until cond holds: a close reaches the gateway
// over the socket.
func waitRooms(t *testing.T, s *stacktest.Stack, cond func(map[string]roomCount) bool) {
	t.Helper()
	clustertest.WaitFor(t, "the rooms to change", 10*time.Second, func() bool { return cond(eachRoom(s)) })
}

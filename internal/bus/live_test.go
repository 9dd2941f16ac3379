package bus

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// collector gathers what a subscription delivers.
type collector[T any] struct {
	mu    sync.Mutex
	items []T
}

func (c *collector[T]) add(v T) {
	c.mu.Lock()
	c.items = append(c.items, v)
	c.mu.Unlock()
}

func (c *collector[T]) snapshot() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.items)
}

func (c *collector[T]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func TestSubscribeRoomMatchesHistory(t *testing.T) {
	b := open(t, Config{})
	var live collector[protocol.Stored]
	unsubscribe, err := b.SubscribeRoom("r.1", live.add)
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	var other collector[protocol.Stored]
	unsubscribeOther, err := b.SubscribeRoom("r:1", other.add)
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribeOther()

	offs := appendN(t, b, "r.1", 3)
	appendN(t, b, "r:1", 2)
	offs = append(offs, appendN(t, b, "r.1", 4)...)
	waitFor(t, "live messages", func() bool { return live.len() == len(offs) && other.len() == 2 })

	got := live.snapshot()
	checkChain(t, got, offs, 0)
	hist, complete, err := b.After(ctxT(t), "r.1", 0, 0)
	if err != nil || !complete {
		t.Fatalf("After: complete=%v err=%v", complete, err)
	}
	for i := range hist {
		if hist[i].Offset != got[i].Offset || hist[i].Prev != got[i].Prev || !bytes.Equal(hist[i].Body, got[i].Body) {
			t.Fatalf("message %d: live %+v, history %+v", i, got[i], hist[i])
		}
	}

	unsubscribe()
	unsubscribe() // idempotent
	appendN(t, b, "r.1", 1)
	appendN(t, b, "r:1", 1)
	waitFor(t, "other room's message", func() bool { return other.len() == 3 })
	if n := live.len(); n != len(offs) {
		t.Fatalf("delivered after unsubscribe: %d messages", n)
	}
}

func TestBroadcast(t *testing.T) {
	b := open(t, Config{})
	var got collector[[]byte]
	unsubscribe, err := b.SubscribeBroadcast(func(bodies [][]byte) {
		for _, body := range bodies {
			got.add(body)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()

	sent := bodies(3)
	// Bodies too large to share one NATS message are split over several.
	big := []byte(`{"id":"big","text":"` + strings.Repeat("x", int(b.Conn().MaxPayload())/2) + `"}`)
	sent = append(sent, big, big, big)
	if err := b.PublishBroadcast(ctxT(t), sent); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "broadcast", func() bool { return got.len() == len(sent) })
	for i, body := range got.snapshot() {
		if !bytes.Equal(body, sent[i]) {
			t.Fatalf("body %d differs", i)
		}
	}
}

func TestPublishUser(t *testing.T) {
	b := open(t, Config{})
	type push struct {
		user   string
		bodies [][]byte
	}
	var got collector[push]
	unsubscribe, err := b.SubscribeUsers(func(user string, bodies [][]byte) { got.add(push{user, bodies}) })
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()

	users := []string{"alice", "a.b.*>", "ü 用户", "x/y+z="}
	sent := map[string][][]byte{}
	for _, u := range users {
		sent[u] = bodies(2)
		if err := b.PublishUser(ctxT(t), u, sent[u]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "user pushes", func() bool { return got.len() == len(users) })
	for _, p := range got.snapshot() {
		want, ok := sent[p.user]
		if !ok || len(p.bodies) != len(want) {
			t.Fatalf("push for %q: %d bodies", p.user, len(p.bodies))
		}
		for i := range want {
			if !bytes.Equal(p.bodies[i], want[i]) {
				t.Fatalf("push for %q body %d differs", p.user, i)
			}
		}
	}
	if err := b.PublishUser(ctxT(t), "", bodies(1)); err == nil {
		t.Fatal("PublishUser with empty user succeeded")
	}
}

// Room subscriptions share a few dispatcher goroutines instead of one each
// (a gateway holds a subscription per room), and every subscription still
// gets each of its room's messages once, in order, even two on one room.
func TestRoomSubscriptionsShareDispatchers(t *testing.T) {
	b := open(t, Config{})
	ctx := context.Background()
	before := runtime.NumGoroutine()
	const rooms = 500
	type seen struct {
		mu      sync.Mutex
		offsets []uint64
	}
	got := make([]*seen, rooms+1)
	var unsubs []func()
	for i := range rooms + 1 {
		room := fmt.Sprintf("room-%d", i%rooms) // the last one subscribes to room-0 again
		s := &seen{}
		got[i] = s
		unsub, err := b.SubscribeRoom(room, func(m protocol.Stored) {
			s.mu.Lock()
			s.offsets = append(s.offsets, m.Offset)
			s.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		unsubs = append(unsubs, unsub)
	}
	if grown := runtime.NumGoroutine() - before; grown > 20 {
		t.Fatalf("%d room subscriptions started %d goroutines", rooms+1, grown)
	}
	want := map[int][]uint64{}
	for round := range 3 {
		for i := range rooms {
			offsets, err := b.Append(ctx, fmt.Sprintf("room-%d", i), records(1))
			if err != nil {
				t.Fatalf("round %d room %d: %v", round, i, err)
			}
			want[i] = append(want[i], offsets...)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for i, s := range got {
		w := want[i%rooms]
		for {
			s.mu.Lock()
			n := len(s.offsets)
			same := n == len(w) && fmt.Sprint(s.offsets) == fmt.Sprint(w)
			s.mu.Unlock()
			if same {
				break
			}
			if n > len(w) || time.Now().After(deadline) {
				t.Fatalf("subscription %d got %v, want %v", i, s.offsets, w)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, u := range unsubs {
		u()
	}
	// After unsubscribe, nothing more arrives.
	if _, err := b.Append(ctx, "room-0", records(1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	got[0].mu.Lock()
	defer got[0].mu.Unlock()
	if len(got[0].offsets) != 3 {
		t.Fatalf("after unsubscribe room-0's subscriber got %d messages, want 3", len(got[0].offsets))
	}
}

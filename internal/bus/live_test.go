package bus

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"

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

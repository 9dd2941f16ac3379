package moderation

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openBus starts a bus with an embedded server listening on 127.0.0.1 (so
// that a second connection can play another node) and stores its data in
// dir ("" for a temporary one). It is closed when the test ends, unless the
// test closes it first.
func openBus(t testing.TB, dir string) *bus.Bus {
	t.Helper()
	b, err := bus.Open(ctxT(t), bus.Config{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("bus.Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// dial opens a second client connection to b's server: another node.
func dial(t testing.TB, b *bus.Bus) *nats.Conn {
	t.Helper()
	conn, err := nats.Connect(b.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// openStore opens a Store on conn, closed when the test ends. clock may be
// nil for the real time.
func openStore(t testing.TB, conn *nats.Conn, clock *fakeClock) *Store {
	t.Helper()
	cfg := Config{Conn: conn}
	if clock != nil {
		cfg.Now = clock.Now
	}
	s, err := Open(ctxT(t), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

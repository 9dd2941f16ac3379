// Package natstest starts what the tests of the NATS plumbing (presence,
// relay, overview) run on: a real embedded NATS with JetStream through
// internal/bus, listening on loopback so that a test can open more client
// connections to it, each its own node.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/internal/bus"
)

// Bus opens a bus on an embedded server listening on 127.0.0.1 and closes it
// when the test ends.
func Bus(t testing.TB) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Connect opens one more client connection to b's server, closed when the
// test ends.
func Connect(t testing.TB, b *bus.Bus) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(b.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

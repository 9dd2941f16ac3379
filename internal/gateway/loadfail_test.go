package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/protocol"
)

// flakyHistory is the real bus whose first Latest fails with err.
type flakyHistory struct {
	*bus.Bus
	err    error
	failed atomic.Bool
}

func (h *flakyHistory) Latest(ctx context.Context, room string, n int) ([]protocol.Stored, error) {
	if h.failed.CompareAndSwap(false, true) {
		return nil, h.err
	}
	return h.Bus.Latest(ctx, room, n)
}

// startFlaky runs a gateway whose history's first Latest fails with err.
func startFlaky(t *testing.T, err error) *gateway.Gateway {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, openErr := bus.Open(ctx, bus.Config{})
	if openErr != nil {
		t.Fatal(openErr)
	}
	t.Cleanup(func() { _ = b.Close() })
	l, lErr := logic.New(logic.Config{Store: b})
	if lErr != nil {
		t.Fatal(lErr)
	}
	g, gErr := gateway.New(gateway.Config{History: &flakyHistory{Bus: b, err: err}, Sender: l, Logger: slog.New(slog.DiscardHandler)})
	if gErr != nil {
		t.Fatal(gErr)
	}
	t.Cleanup(func() { _ = g.Close() })
	mux := http.NewServeMux()
	mux.Handle("/ws", g)
	if err := g.Start("127.0.0.1:0", mux); err != nil {
		t.Fatal(err)
	}
	return g
}

// A join whose room cannot load its history is refused with unavailable;
// the retry it is asked for works, on the same connection.
func TestJoinRetryAfterTheRoomFailedToLoad(t *testing.T) {
	g := startFlaky(t, errors.New("store unavailable"))
	v := dial(t, "ws://"+g.Addr().String()+"/ws", nil)
	v.send(map[string]any{"op": "join", "room": "r"})
	if m := v.expect(protocol.OpError); m.Code != protocol.CodeUnavailable {
		t.Fatalf("first join: %+v, want unavailable", m)
	}
	if j := v.join("r"); j.Room != "r" {
		t.Fatalf("retried join: %+v", j)
	}
	if n := g.Online("r"); n != 1 {
		t.Fatalf("online after the retry: %d, want 1", n)
	}
}

// A store that answers nothing for a moment (a clustered stream still
// starting, or electing a leader) does not fail the join: the room's load
// tries again.
func TestJoinWaitsOutAStreamThatIsNotThereYet(t *testing.T) {
	g := startFlaky(t, fmt.Errorf("latest: %w", bus.ErrNoStream))
	v := dial(t, "ws://"+g.Addr().String()+"/ws", nil)
	if j := v.join("r"); j.Room != "r" {
		t.Fatalf("join: %+v", j)
	}
}

package gateway_test

import (
	"context"
	"errors"
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

// flakyHistory is the real bus whose first Latest fails, as a store that
// is briefly unavailable would.
type flakyHistory struct {
	*bus.Bus
	failed atomic.Bool
}

func (h *flakyHistory) Latest(ctx context.Context, room string, n int) ([]protocol.Stored, error) {
	if h.failed.CompareAndSwap(false, true) {
		return nil, errors.New("store unavailable")
	}
	return h.Bus.Latest(ctx, room, n)
}

// A join whose room cannot load its history is refused with unavailable;
// the retry it is asked for works, on the same connection.
func TestJoinRetryAfterTheRoomFailedToLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := logic.New(logic.Config{Store: b})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{History: &flakyHistory{Bus: b}, Sender: l, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	mux := http.NewServeMux()
	mux.Handle("/ws", g)
	if err := g.Start("127.0.0.1:0", mux); err != nil {
		t.Fatal(err)
	}
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

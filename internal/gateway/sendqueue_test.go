package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/protocol"
)

// heldSender is the real logic tier behind a gate, as a logic tier that is
// slow to answer would be.
type heldSender struct {
	*logic.Logic
	entered chan struct{}
	gate    chan struct{}
}

func (h heldSender) Send(ctx context.Context, u protocol.User, m *protocol.ClientMessage) (uint64, string, error) {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	select {
	case <-h.gate:
	case <-ctx.Done():
		return 0, "", ctx.Err()
	}
	return h.Logic.Send(ctx, u, m)
}

// While a viewer's sends wait for a slow logic tier, the connection's other
// ops are answered at once; the sends are acked in order when logic
// answers, and past 16 waiting a send is refused with rate_limited.
func TestSendsWaitOffTheConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := logic.New(logic.Config{Store: b, SendRate: -1, DuplicateWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := heldSender{Logic: l, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	g, err := gateway.New(gateway.Config{History: b, Sender: h, Logger: slog.New(slog.DiscardHandler), MessageBurst: 40})
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
	v.join("r")
	for i := range 17 { // one with the Sender, 16 waiting
		v.send(map[string]any{"op": "send", "room": "r", "id": fmt.Sprint(i), "text": fmt.Sprintf("m%d", i)})
		if i == 0 {
			<-h.entered
		}
	}
	v.send(map[string]any{"op": "send", "room": "r", "id": "17", "text": "one too many"})
	if m := v.expect(protocol.OpNack); m.ID != "17" || m.Code != protocol.CodeRateLimited {
		t.Fatalf("the 18th send: %+v, want nack rate_limited", m)
	}
	v.send(map[string]any{"op": "ping", "t": 1})
	if m := v.expect(protocol.OpPong); m.Op != protocol.OpPong {
		t.Fatalf("ping while sends wait: %+v", m)
	}
	close(h.gate)
	for i := range 17 {
		if m := v.expect(protocol.OpAck); m.ID != fmt.Sprint(i) {
			t.Fatalf("ack %d is for send %q: out of order", i, m.ID)
		}
	}
}

package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/protocol"
)

// gatedHistory is the real bus whose After waits for the test to open the
// gate, so that the test can act while a store read is in progress.
type gatedHistory struct {
	*bus.Bus
	entered chan struct{}
	gate    chan struct{}
}

func (h gatedHistory) After(ctx context.Context, room string, after uint64, limit int) ([]protocol.Stored, bool, error) {
	h.entered <- struct{}{}
	<-h.gate
	return h.Bus.After(ctx, room, after, limit)
}

// A gap in the live messages is read back from the store without holding
// the room's lock: live messages keep arriving during the read, and viewers
// get the missed ones and the new ones once each, in order.
func TestGapFilledOutsideTheRoomLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var recs []bus.Record
	for i := range 5 {
		body := fmt.Sprintf(`{"id":"m%d","type":"danmaku","text":"t","ts":1}`, i)
		recs = append(recs, bus.Record{Body: []byte(body), Type: protocol.TypeDanmaku, TS: 1})
	}
	if _, err := b.Append(ctx, "r", recs); err != nil {
		t.Fatal(err)
	}
	stored, _, err := b.After(ctx, "r", 0, 10)
	if err != nil || len(stored) != 5 {
		t.Fatalf("After: %d messages, %v", len(stored), err)
	}

	r, bs := testRoom(0, 500, 1)
	h := gatedHistory{Bus: b, entered: make(chan struct{}), gate: make(chan struct{})}
	r.env.history = h
	defer func() { r.env.workers.cancel(); r.env.workers.wait() }()
	r.last, r.flushedLast = stored[0].Offset, stored[0].Offset // the viewers have the first

	r.onLive(stored[3]) // the second and third were lost on the live path
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the gap was not read from the store")
	}
	accepted := make(chan struct{})
	go func() { r.onLive(stored[4]); close(accepted) }()
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("a live message waited for the store read: the room's lock is held during it")
	}
	if got := queued(t, bs[0]); len(got) != 0 {
		t.Fatalf("flushed %v before the gap was filled", sizes(t, got))
	}
	close(h.gate)

	var got []uint64
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 4 && time.Now().Before(deadline) {
		for _, tk := range queued(t, bs[0]) {
			m, err := protocol.DecodeServer(tk.frame.payload())
			if err != nil {
				t.Fatal(err)
			}
			for _, msg := range m.Msgs {
				got = append(got, msg.Offset)
			}
			tk.room.frameWritten()
		}
		time.Sleep(time.Millisecond)
	}
	want := []uint64{stored[1].Offset, stored[2].Offset, stored[3].Offset, stored[4].Offset}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered offsets %v, want %v", got, want)
	}
	r.close()
}

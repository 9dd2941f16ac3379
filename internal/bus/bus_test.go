package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/leaktest"
	"github.com/danmaku/danmaku/protocol"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// open starts a Bus with an embedded, memory-backed server and closes it
// when the test ends.
func open(t testing.TB, cfg Config) *Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

var bodySeq atomic.Int64

// records returns n distinct messages, with the metadata a writer sets.
func records(n int) []Record {
	out := make([]Record, n)
	for i := range out {
		id := bodySeq.Add(1)
		b := protocol.Body{
			ID: fmt.Sprintf("m%d", id), Type: protocol.TypeDanmaku,
			Text: fmt.Sprintf("hello %d", id), TS: time.Now().UnixMilli(),
		}
		data, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		out[i] = Record{Body: data, Type: b.Type, TS: b.TS}
	}
	return out
}

// bodies returns n distinct message bodies.
func bodies(n int) [][]byte {
	out := make([][]byte, n)
	for i, r := range records(n) {
		out[i] = r.Body
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func appendN(t testing.TB, b *Bus, room string, n int) []uint64 {
	t.Helper()
	offsets, err := b.Append(ctxT(t), room, records(n))
	if err != nil {
		t.Fatalf("Append(%q, %d): %v", room, n, err)
	}
	if len(offsets) != n {
		t.Fatalf("Append(%q, %d) returned %d offsets", room, n, len(offsets))
	}
	return offsets
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkChain verifies that msgs hold exactly offsets, in order, with each
// prev the previous offset and msgs[0].Prev == firstPrev.
func checkChain(t testing.TB, msgs []protocol.Stored, offsets []uint64, firstPrev uint64) {
	t.Helper()
	if len(msgs) != len(offsets) {
		t.Fatalf("got %d messages %v, want %d %v", len(msgs), offsetsOf(msgs), len(offsets), offsets)
	}
	prev := firstPrev
	for i, m := range msgs {
		if m.Offset != offsets[i] || m.Prev != prev {
			t.Fatalf("message %d: offset %d prev %d, want offset %d prev %d", i, m.Offset, m.Prev, offsets[i], prev)
		}
		if !json.Valid(m.Body) || len(m.Body) == 0 || m.Body[0] != '{' {
			t.Fatalf("message %d: body %q is not a JSON object", i, m.Body)
		}
		prev = m.Offset
	}
}

func offsetsOf(msgs []protocol.Stored) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Offset
	}
	return out
}

func concat(parts ...[]uint64) []uint64 {
	var out []uint64
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestCloseIdempotent(t *testing.T) {
	b, err := Open(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Epoch("r") == "" {
		t.Fatal("empty epoch")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := b.Append(ctx, "r", records(1)); err != ErrClosed {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, _, err := b.After(ctx, "r", 0, 10); err != ErrClosed {
		t.Fatalf("After after Close: %v, want ErrClosed", err)
	}
	if _, err := b.SubscribeRoom("r", func(protocol.Stored) {}); err != ErrClosed {
		t.Fatalf("SubscribeRoom after Close: %v, want ErrClosed", err)
	}
	if err := b.PublishBroadcast(ctx, bodies(1)); err != ErrClosed {
		t.Fatalf("PublishBroadcast after Close: %v, want ErrClosed", err)
	}
}

func TestOpenInvalidConfig(t *testing.T) {
	for _, cfg := range []Config{
		{HistorySize: -1},
		{Replicas: 9},
		{Partitions: -1},
		{Partitions: maxPartitions + 1},
		{ClusterName: "c"},
		{Listen: "nonsense"},
	} {
		if b, err := Open(context.Background(), cfg); err == nil {
			_ = b.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

func TestCloseDuringAppends(t *testing.T) {
	b, err := Open(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		appended atomic.Int64
	)
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				if _, err := b.Append(context.Background(), "r", records(10)); err != nil {
					errs <- err
					return
				}
				appended.Add(1)
			}
		})
	}
	waitFor(t, "appends", func() bool { return appended.Load() > 20 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Append during Close: %v, want ErrClosed", err)
		}
	}
}

// SyncAlways reaches the embedded server's JetStream: every stored message
// is written to disk before it is acknowledged.
func TestSyncAlwaysReachesTheServer(t *testing.T) {
	for _, always := range []bool{false, true} {
		b := open(t, Config{DataDir: t.TempDir(), SyncAlways: always})
		if got := b.server.JetStreamConfig().SyncAlways; got != always {
			t.Fatalf("SyncAlways %v: the server's JetStream has %v", always, got)
		}
	}
}

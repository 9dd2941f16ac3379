package bus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/danmaku/danmaku/protocol"
)

// The assignment of rooms to partitions decides where existing history is
// found, so these values are pinned: a change to partitionOf that moves any
// of them loses every deployment's history.
func TestPartitionOfPinned(t *testing.T) {
	for _, tc := range []struct {
		room    string
		n, want int
	}{
		{"lobby", 4, 3}, {"show", 4, 0}, {"r", 4, 1}, {"a.b:c", 4, 3},
		{"room-3", 4, 2}, {"show", 16, 12}, {"room-6", 16, 9}, {"shared", 16, 4},
		{"anything", 1, 0},
	} {
		if got := partitionOf(tc.room, tc.n); got != tc.want {
			t.Errorf("partitionOf(%q, %d) = %d, want %d", tc.room, tc.n, got, tc.want)
		}
	}
	// And they are what doc.go says: FNV-1a 32 of the name, mod n.
	for i := range 200 {
		room := fmt.Sprintf("room-%d", i)
		h := fnv.New32a()
		h.Write([]byte(room))
		if got, want := partitionOf(room, 7), int(h.Sum32()%7); got != want {
			t.Fatalf("partitionOf(%q, 7) = %d, FNV-1a says %d", room, got, want)
		}
	}
}

// streamInfo returns the named stream's configuration and state.
func streamInfo(t *testing.T, b *Bus, name string) *jetstream.StreamInfo {
	t.Helper()
	stream, err := b.js.Stream(ctxT(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := stream.Info(ctxT(t))
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	return info
}

func TestPartitionedHistory(t *testing.T) {
	b := open(t, Config{Partitions: 4})
	rooms := []string{"room-1", "room-2", "room-3", "room-4", "room-5", "a.b:c"}
	var live collector[protocol.Stored]
	unsubscribe, err := b.SubscribeRoom("a.b:c", live.add)
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()

	// Interleaved appends: every stream holds several rooms, and its
	// sequence is shared by them.
	offs := make(map[string][]uint64)
	for round := range 5 {
		for _, room := range rooms {
			offs[room] = append(offs[room], appendN(t, b, room, 1+round%3)...)
		}
	}
	ctx := ctxT(t)
	for _, room := range rooms {
		msgs, complete, err := b.After(ctx, room, 0, 0)
		if err != nil || !complete {
			t.Fatalf("After(%q, 0): complete=%v err=%v", room, complete, err)
		}
		checkChain(t, msgs, offs[room], 0)
		mid := offs[room][3]
		msgs, complete, err = b.After(ctx, room, mid, 0)
		if err != nil || !complete {
			t.Fatalf("After(%q, %d): complete=%v err=%v", room, mid, complete, err)
		}
		checkChain(t, msgs, offs[room][4:], mid)
		latest, err := b.Latest(ctx, room, 2)
		if err != nil {
			t.Fatal(err)
		}
		n := len(offs[room])
		checkChain(t, latest, offs[room][n-2:], offs[room][n-3])
		if last, err := b.LastOffset(ctx, room); err != nil || last != offs[room][n-1] {
			t.Fatalf("LastOffset(%q) = %d, %v; want %d", room, last, err, offs[room][n-1])
		}
		// Each room is stored on its partition's subject, in its stream.
		p := partitionOf(room, 4)
		stream, err := b.js.Stream(ctx, fmt.Sprintf("DANMAKU-%d", p))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := stream.GetMsg(ctx, offs[room][0])
		token, _ := roomToken(room)
		if err != nil || msg.Subject != fmt.Sprintf("room.%d.%s", p, token) {
			t.Fatalf("%q's first message in stream %d: %v, %v", room, p, msg, err)
		}
	}
	// The live subject is live.room.<token> whatever the partition.
	waitFor(t, "live messages", func() bool { return live.len() == len(offs["a.b:c"]) })
	checkChain(t, live.snapshot(), offs["a.b:c"], 0)

	holding := 0
	for i := range 4 {
		if streamInfo(t, b, fmt.Sprintf("DANMAKU-%d", i)).State.Msgs > 0 {
			holding++
		}
	}
	if holding < 2 {
		t.Fatalf("%d of 4 streams hold messages", holding)
	}

	// A resume across a partition's messages of other rooms.
	from := time.Now().Add(-time.Minute)
	msgs, err := b.Range(ctx, "room-1", from, time.Now().Add(time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, msgs, offs["room-1"], 0)

	// Delete finds the message in the room's stream; another room's offset
	// (same partition: room-5 and room-1 share stream 0) is not the room's.
	if partitionOf("room-1", 4) != partitionOf("room-5", 4) {
		t.Fatal("room-1 and room-5 should share a partition")
	}
	if err := b.Delete(ctx, "room-1", offs["room-5"][0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete of another room's offset: %v", err)
	}
	if err := b.Delete(ctx, "room-1", offs["room-1"][1]); err != nil {
		t.Fatal(err)
	}
	msgs, _, err = b.After(ctx, "room-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, msgs, slices.Delete(slices.Clone(offs["room-1"]), 1, 2), 0)
}

// session opens a Bus on cfg, runs fn with it and closes it again: one run
// of a process on a data directory.
func session(t *testing.T, cfg Config, fn func(*Bus)) {
	t.Helper()
	b, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open(Partitions %d): %v", cfg.Partitions, err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	fn(b)
}

// refused checks that Open refuses cfg for its partition count, and
// returns the refusal.
func refused(t *testing.T, cfg Config) error {
	t.Helper()
	b, err := Open(context.Background(), cfg)
	if err == nil {
		_ = b.Close()
	}
	if !errors.Is(err, ErrPartitionsChanged) {
		t.Fatalf("Open(Partitions %d): %v, want ErrPartitionsChanged", cfg.Partitions, err)
	}
	return err
}

func TestPartitionEpochsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	var epochs []string
	var offs []uint64
	session(t, Config{DataDir: dir, Partitions: 4}, func(b *Bus) {
		epochs = b.Epochs()
		if len(epochs) != 4 || len(slices.Compact(slices.Sorted(slices.Values(epochs)))) != 4 {
			t.Fatalf("epochs %v, want 4 distinct", epochs)
		}
		for _, room := range []string{"room-1", "room-2", "room-3", "room-4"} {
			if got, want := b.Epoch(room), epochs[partitionOf(room, 4)]; got != want {
				t.Fatalf("Epoch(%q) = %s, its partition's is %s", room, got, want)
			}
		}
		offs = appendN(t, b, "room-3", 3)
		for i := range 4 {
			info := streamInfo(t, b, fmt.Sprintf("DANMAKU-%d", i))
			if info.Config.Metadata[partitionsKey] != "4" || info.Config.Metadata[epochKey] != epochs[i] {
				t.Fatalf("stream %d metadata %v", i, info.Config.Metadata)
			}
			// As the server stores it, so that the next Open skips the
			// update (which matters when clustered nodes start together).
			if !sameConfig(info.Config, b.streamConfig(&b.parts[i])) {
				t.Fatalf("stream %d config %+v differs from what Open asks for", i, info.Config)
			}
		}
	})

	b := open(t, Config{DataDir: dir, Partitions: 4, HistorySize: 50})
	if !slices.Equal(b.Epochs(), epochs) {
		t.Fatalf("epochs changed across restart: %v → %v", epochs, b.Epochs())
	}
	msgs, complete, err := b.After(ctxT(t), "room-3", 0, 0)
	if err != nil || !complete {
		t.Fatalf("After: complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, offs, 0)
	if got := streamInfo(t, b, "DANMAKU-2").Config.MaxMsgsPerSubject; got != 50 {
		t.Fatalf("updated limit %d, want 50", got)
	}
}

func TestPartitionsChangeRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		created int
		tries   []int
	}{
		{"from one", 1, []int{4, 2}},
		{"from four", 4, []int{1, 2, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var offs []uint64
			session(t, Config{DataDir: dir, Partitions: tc.created}, func(b *Bus) { offs = appendN(t, b, "room-1", 2) })
			for _, n := range tc.tries {
				msg := refused(t, Config{DataDir: dir, Partitions: n}).Error()
				if !strings.Contains(msg, fmt.Sprintf("partitions=%d,", tc.created)) ||
					!strings.Contains(msg, fmt.Sprintf("but partitions=%d ", n)) ||
					!strings.Contains(msg, "new data directory") {
					t.Fatalf("refusal does not say what to do: %s", msg)
				}
			}
			// Refusals changed nothing: the old count opens the old history.
			b := open(t, Config{DataDir: dir, Partitions: tc.created})
			msgs, complete, err := b.After(ctxT(t), "room-1", 0, 0)
			if err != nil || !complete {
				t.Fatalf("history after refusals: complete=%v err=%v", complete, err)
			}
			checkChain(t, msgs, offs, 0)
			if names := streamNames(t, b); len(names) != tc.created {
				t.Fatalf("streams %v after refusals", names)
			}
		})
	}
}

// A stream of an old layout is found even when the first one is gone, and
// nothing is created before the refusal.
func TestPartitionsChangeRefusedPartlyDeleted(t *testing.T) {
	dir := t.TempDir()
	session(t, Config{DataDir: dir, Partitions: 4}, func(b *Bus) {
		if err := b.js.DeleteStream(ctxT(t), "DANMAKU-0"); err != nil {
			t.Fatal(err)
		}
	})
	err := refused(t, Config{DataDir: dir, Partitions: 2})
	if !strings.Contains(err.Error(), "stream DANMAKU-1 holds history laid out with partitions=4") {
		t.Fatalf("refusal names the wrong stream: %v", err)
	}
	b := open(t, Config{DataDir: dir, Partitions: 4})
	if names := streamNames(t, b); len(names) != 4 {
		t.Fatalf("streams %v", names)
	}
}

func streamNames(t *testing.T, b *Bus) []string {
	t.Helper()
	var names []string
	lister := b.js.StreamNames(ctxT(t))
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// One partition is the layout from before partitions existed, and adopts
// such a stream: same name, subjects and epoch, with the count recorded.
func TestOnePartitionIsLegacyLayout(t *testing.T) {
	dir := t.TempDir()
	var epoch string
	var offs []uint64
	session(t, Config{DataDir: dir}, func(b *Bus) {
		epoch = b.Epoch("r")
		offs = appendN(t, b, "r", 2)
		cfg := streamInfo(t, b, DefaultConfig().Stream).Config
		if !slices.Equal(cfg.Subjects, []string{"room.*"}) || cfg.RePublish == nil ||
			cfg.RePublish.Source != "room.>" || cfg.RePublish.Destination != "live.room.>" {
			t.Fatalf("stream config %+v", cfg)
		}
		// What a stream made before partitions looks like: no count.
		cfg.Metadata = map[string]string{epochKey: epoch}
		stream, err := b.js.UpdateStream(ctxT(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if count, ok := stream.CachedInfo().Config.Metadata[partitionsKey]; ok {
			t.Fatalf("count %q still recorded", count)
		}
	})

	refused(t, Config{DataDir: dir, Partitions: 4})
	b := open(t, Config{DataDir: dir, Partitions: 1})
	if b.Epoch("r") != epoch {
		t.Fatalf("epoch %s, legacy stream had %s", b.Epoch("r"), epoch)
	}
	if got := streamInfo(t, b, DefaultConfig().Stream).Config.Metadata[partitionsKey]; got != "1" {
		t.Fatalf("count recorded as %q", got)
	}
	msgs, complete, err := b.After(ctxT(t), "r", 0, 0)
	if err != nil || !complete {
		t.Fatalf("After: complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, offs, 0)
}

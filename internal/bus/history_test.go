package bus

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestAppendOffsetsIncrease(t *testing.T) {
	b := open(t, Config{})
	var a, c []uint64
	for range 5 {
		a = append(a, appendN(t, b, "a", 3)...)
		c = append(c, appendN(t, b, "c", 2)...)
	}
	for name, offs := range map[string][]uint64{"a": a, "c": c} {
		for i := 1; i < len(offs); i++ {
			if offs[i] <= offs[i-1] {
				t.Fatalf("room %s offsets not increasing: %v", name, offs)
			}
		}
	}
	if offs, err := b.Append(ctxT(t), "a", nil); err != nil || offs != nil {
		t.Fatalf("empty Append = %v, %v", offs, err)
	}
	if _, err := b.Append(ctxT(t), "bad room", records(1)); !errors.Is(err, ErrInvalidRoom) {
		t.Fatalf("Append to invalid room: %v", err)
	}
}

func TestAppendConcurrentOneRoom(t *testing.T) {
	b := open(t, Config{})
	const workers, calls = 8, 10
	var (
		mu  sync.Mutex
		all []uint64
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for range calls {
				offs, err := b.Append(ctxT(t), "busy", records(5))
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.IsSorted(offs) {
					t.Errorf("offsets of one call not ascending: %v", offs)
				}
				mu.Lock()
				all = append(all, offs...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != workers*calls*5 {
		t.Fatalf("duplicate offsets among %d", len(all))
	}
	msgs, complete, err := b.After(ctxT(t), "busy", 0, 0)
	if err != nil || !complete {
		t.Fatalf("After(0) complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, all, 0)
}

func TestAfter(t *testing.T) {
	b := open(t, Config{})
	ctx := ctxT(t)
	first := appendN(t, b, "r", 3)
	other := appendN(t, b, "other", 1)
	second := appendN(t, b, "r", 2)
	all := concat(first, second)
	last := all[len(all)-1]

	msgs, complete, err := b.After(ctx, "r", 0, 100)
	if err != nil || !complete {
		t.Fatalf("After(0): complete=%v err=%v, want complete (first message is marked)", complete, err)
	}
	checkChain(t, msgs, all, 0)

	msgs, complete, err = b.After(ctx, "r", all[1], 100)
	if err != nil || !complete {
		t.Fatalf("After(%d): complete=%v err=%v", all[1], complete, err)
	}
	checkChain(t, msgs, all[2:], all[1])

	// limit
	msgs, complete, err = b.After(ctx, "r", all[0], 2)
	if err != nil || !complete {
		t.Fatalf("After limit: complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, all[1:3], all[0])
	msgs, complete, err = b.After(ctx, "r", 0, 2)
	if err != nil || !complete {
		t.Fatalf("After(0) limit: complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, all[:2], 0)

	// Up to date: nothing after the last offset, and provably so.
	msgs, complete, err = b.After(ctx, "r", last, 100)
	if err != nil || !complete || len(msgs) != 0 {
		t.Fatalf("After(last): %d msgs complete=%v err=%v", len(msgs), complete, err)
	}
	// Beyond the last offset: not this history.
	msgs, complete, err = b.After(ctx, "r", last+100, 100)
	if err != nil || complete || len(msgs) != 0 {
		t.Fatalf("After(beyond): %d msgs complete=%v err=%v", len(msgs), complete, err)
	}
	// An offset of another room proves nothing about this one.
	msgs, complete, err = b.After(ctx, "r", other[0], 100)
	if err != nil || complete {
		t.Fatalf("After(other room's offset): complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, second, first[2])

	// Empty room: complete from 0, not from anything else.
	msgs, complete, err = b.After(ctx, "empty", 0, 100)
	if err != nil || !complete || len(msgs) != 0 {
		t.Fatalf("After(empty, 0): %d msgs complete=%v err=%v", len(msgs), complete, err)
	}
	if _, complete, _ = b.After(ctx, "empty", 5, 100); complete {
		t.Fatal("After(empty, 5) complete")
	}
}

func TestAfterTrimmed(t *testing.T) {
	b := open(t, Config{HistorySize: 3})
	ctx := ctxT(t)
	offs := appendN(t, b, "r", 10)
	kept := offs[7:]

	// The message at offs[2] is gone, and with it offs[3..6].
	msgs, complete, err := b.After(ctx, "r", offs[2], 100)
	if err != nil || complete {
		t.Fatalf("After(trimmed): complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, kept, 0) // its predecessor is gone too: prev unknown

	// From the start: the marked first message was trimmed.
	msgs, complete, err = b.After(ctx, "r", 0, 100)
	if err != nil || complete {
		t.Fatalf("After(0) with first message trimmed: complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, kept, 0)

	// From a retained message: complete.
	msgs, complete, err = b.After(ctx, "r", offs[7], 100)
	if err != nil || !complete {
		t.Fatalf("After(retained): complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, offs[8:], offs[7])

	if last, err := b.LastOffset(ctx, "r"); err != nil || last != offs[9] {
		t.Fatalf("LastOffset = %d, %v; want %d", last, err, offs[9])
	}
	if last, err := b.LastOffset(ctx, "nobody"); err != nil || last != 0 {
		t.Fatalf("LastOffset(empty) = %d, %v", last, err)
	}
}

func TestAfterExpired(t *testing.T) {
	b := open(t, Config{HistoryTTL: 300 * time.Millisecond})
	ctx := ctxT(t)
	old := appendN(t, b, "r", 2)
	waitFor(t, "expiry", func() bool {
		last, err := b.LastOffset(ctx, "r")
		return err == nil && last == 0
	})
	fresh := appendN(t, b, "r", 2)
	// The room was empty again, so the new message is a first message again:
	// live would have said prev 0, and history agrees.
	msgs, complete, err := b.After(ctx, "r", 0, 10)
	if err != nil || !complete {
		t.Fatalf("After(0): complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, fresh, 0)
	// A viewer that saw the old messages cannot resume.
	if _, complete, _ := b.After(ctx, "r", old[1], 10); complete {
		t.Fatal("After(expired offset) complete")
	}
}

func TestAfterLongRead(t *testing.T) {
	b := open(t, Config{HistorySize: 3000})
	var offs []uint64
	for range 3 {
		offs = append(offs, appendN(t, b, "long", 900)...)
	}
	// More than maxBatch: read in several anchored requests.
	msgs, complete, err := b.After(ctxT(t), "long", offs[10], 0)
	if err != nil || !complete {
		t.Fatalf("complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, offs[11:], offs[10])
}

func TestSecondWriterFirstMessage(t *testing.T) {
	// Two processes share a stream: the second's first append to a room the
	// first already wrote is refused as a "first message" and stored plainly.
	b1 := open(t, Config{Listen: "127.0.0.1:0"})
	b2 := open(t, Config{URL: b1.ClientURL()})
	if b1.Epoch("shared") != b2.Epoch("shared") {
		t.Fatalf("epochs differ: %s vs %s", b1.Epoch("shared"), b2.Epoch("shared"))
	}
	o1 := appendN(t, b1, "shared", 2)
	o2 := appendN(t, b2, "shared", 2)
	msgs, complete, err := b2.After(ctxT(t), "shared", 0, 10)
	if err != nil || !complete {
		t.Fatalf("complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, concat(o1, o2), 0)
	// Only the first message carries the marker.
	recs, _, err := b2.getBatch(ctxT(t), &b2.parts[0], &getRequest{NextFor: "room.shared", Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.first != (i == 0) {
			t.Fatalf("record %d first=%v", i, r.first)
		}
	}
}

func TestLatest(t *testing.T) {
	b := open(t, Config{})
	ctx := ctxT(t)
	var offs []uint64
	for range 10 {
		offs = append(offs, appendN(t, b, "r", 1)...)
		appendN(t, b, "noise", 3)
	}
	msgs, err := b.Latest(ctx, "r", 3)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, msgs, offs[7:], offs[6])
	msgs, err = b.Latest(ctx, "r", 50)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, msgs, offs, 0)
	if msgs, err := b.Latest(ctx, "empty", 5); err != nil || len(msgs) != 0 {
		t.Fatalf("Latest(empty) = %v, %v", msgs, err)
	}
	if msgs, err := b.Latest(ctx, "r", 0); err != nil || len(msgs) != 0 {
		t.Fatalf("Latest(0) = %v, %v", msgs, err)
	}
}

func TestLatestSearch(t *testing.T) {
	// Rooms far larger than a Latest read, with the room's messages spread
	// unevenly among other traffic, exercise the interpolation search.
	b := open(t, Config{HistorySize: 5000})
	ctx := ctxT(t)
	var offs []uint64
	offs = append(offs, appendN(t, b, "hot", 700)...)
	appendN(t, b, "noise", 3000)
	for range 40 {
		offs = append(offs, appendN(t, b, "hot", 5)...)
		appendN(t, b, "noise", 17)
	}
	offs = append(offs, appendN(t, b, "hot", 300)...)
	appendN(t, b, "noise", 50)
	for _, n := range []int{1, 10, 100, 250, 400, 1000, 1500} {
		msgs, err := b.Latest(ctx, "hot", n)
		if err != nil {
			t.Fatalf("Latest(%d): %v", n, err)
		}
		if n >= len(offs) {
			checkChain(t, msgs, offs, 0)
			continue
		}
		checkChain(t, msgs, offs[len(offs)-n:], offs[len(offs)-n-1])
	}
}

func TestRange(t *testing.T) {
	b := open(t, Config{})
	ctx := ctxT(t)
	tick := func() time.Time {
		// Store times come from the same clock; make the boundaries
		// distinct from every message's time.
		time.Sleep(3 * time.Millisecond)
		now := time.Now()
		time.Sleep(3 * time.Millisecond)
		return now
	}
	start := tick()
	a := appendN(t, b, "r", 3)
	t1 := tick()
	mid := appendN(t, b, "r", 4)
	appendN(t, b, "noise", 2)
	t2 := tick()
	appendN(t, b, "r", 2)

	msgs, err := b.Range(ctx, "r", t1, t2, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, msgs, mid, a[2])
	msgs, err = b.Range(ctx, "r", t1, t2, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, msgs, mid[:2], a[2])
	msgs, err = b.Range(ctx, "r", start, t1, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, msgs, a, 0)
	if msgs, err := b.Range(ctx, "r", t2, t1, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("inverted range = %v, %v", msgs, err)
	}
	if msgs, err := b.Range(ctx, "r", time.Now().Add(time.Hour), time.Now().Add(2*time.Hour), 0); err != nil || len(msgs) != 0 {
		t.Fatalf("future range = %v, %v", msgs, err)
	}
}

func TestRoomNames(t *testing.T) {
	b := open(t, Config{})
	ctx := ctxT(t)
	names := []string{"a.b", "a:b", "a-b", "a_b", "ab", "live.room.x", "A.B.C:d-e_f.0"}
	want := map[string][]uint64{}
	for _, name := range names {
		want[name] = appendN(t, b, name, 2)
	}
	for _, name := range names {
		msgs, complete, err := b.After(ctx, name, 0, 10)
		if err != nil || !complete {
			t.Fatalf("After(%q): complete=%v err=%v", name, complete, err)
		}
		checkChain(t, msgs, want[name], 0)
	}
	for _, bad := range []string{"", "a b", "a*", "a>", "a~b", "ü", string(make([]byte, 65))} {
		if _, err := roomToken(bad); !errors.Is(err, ErrInvalidRoom) {
			t.Errorf("roomToken(%q) = %v", bad, err)
		}
	}
	if tok, _ := roomToken("a.b:c"); tok != "a~b:c" {
		t.Errorf("roomToken(a.b:c) = %q", tok)
	}
}

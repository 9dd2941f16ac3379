package bus

import (
	"context"
	"testing"
)

func TestEpochSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	b, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	epoch := b.Epoch("r")
	offs := appendN(t, b, "r", 3)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// Same DataDir, changed limits: the stream is updated, not recreated.
	b, err = Open(ctx, Config{DataDir: dir, HistorySize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if b.Epoch("r") != epoch {
		t.Fatalf("epoch changed across restart: %s → %s", epoch, b.Epoch("r"))
	}
	msgs, complete, err := b.After(ctxT(t), "r", 0, 0)
	if err != nil || !complete {
		t.Fatalf("After: complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, offs, 0)
	// This process has not written "r" yet: its append must not mark a
	// second first message.
	more := appendN(t, b, "r", 1)
	msgs, complete, err = b.After(ctxT(t), "r", 0, 0)
	if err != nil || !complete {
		t.Fatalf("After: complete=%v err=%v", complete, err)
	}
	checkChain(t, msgs, concat(offs, more), 0)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// A new store, or a new stream, starts a new history with a new epoch.
	other := open(t, Config{DataDir: t.TempDir()})
	if other.Epoch("r") == epoch {
		t.Fatal("new stream reused the epoch")
	}
	named := open(t, Config{Stream: "OTHER"})
	if named.Epoch("r") == epoch || named.Epoch("r") == other.Epoch("r") {
		t.Fatal("new stream reused an epoch")
	}
}

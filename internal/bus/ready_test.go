package bus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Ready answers nil while the history streams answer, ErrNotReady naming
// the stream once one does not (here: deleted under the node), reuses its
// answer for readyFor, and ErrClosed after Close.
func TestReady(t *testing.T) {
	b := open(t, Config{Partitions: 2})
	if err := b.Ready(ctxT(t)); err != nil {
		t.Fatalf("healthy bus: %v", err)
	}
	if err := b.js.DeleteStream(ctxT(t), b.parts[1].stream); err != nil {
		t.Fatal(err)
	}
	if err := b.Ready(ctxT(t)); err != nil {
		t.Fatalf("within readyFor the last answer is reused, got %v", err)
	}
	b.ready.mu.Lock()
	b.ready.at = time.Now().Add(-readyFor)
	b.ready.mu.Unlock()
	err := b.Ready(ctxT(t))
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), b.parts[1].stream) {
		t.Fatalf("a deleted stream: %v, want ErrNotReady naming %s", err, b.parts[1].stream)
	}
	_ = b.Close()
	if err := b.Ready(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// An Append that no stream answers stored nothing, so it is tried again
// until a stream answers (here: the deleted stream is made again while it
// waits) or its context ends with ErrNoStream.
func TestAppendRetriesWhileNoStreamAnswers(t *testing.T) {
	b := open(t, Config{})
	stream := b.parts[0].stream
	if err := b.js.DeleteStream(ctxT(t), stream); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
	defer cancel()
	if _, err := b.Append(short, "r", records(1)); !errors.Is(err, ErrNoStream) {
		t.Fatalf("no stream until the deadline: %v, want ErrNoStream", err)
	}

	sent := b.conn.Stats().OutMsgs
	type result struct {
		offsets []uint64
		err     error
	}
	done := make(chan result, 1)
	go func() {
		offsets, err := b.Append(ctxT(t), "r", records(2))
		done <- result{offsets, err}
	}()
	waitFor(t, "a second attempt", func() bool { return b.conn.Stats().OutMsgs >= sent+4 })
	if err := b.ensureStreams(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || len(res.offsets) != 2 {
		t.Fatalf("after the stream came back: %v, %v", res.offsets, res.err)
	}
	msgs, _, err := b.After(ctxT(t), "r", 0, 0)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored %d messages (%v), want the 2 of the retried append once", len(msgs), err)
	}
}

package bus

import (
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

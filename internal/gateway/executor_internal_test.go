package gateway

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A callback runs on the goroutine the last one ran on while that one
// waits (within executorIdle), which then ends after executorIdle without
// work; a panic is logged and the goroutine goes on; close ends the
// waiting ones.
func TestExecutorKeepsGoroutinesForTheNextCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newExecutor(4, slog.New(slog.DiscardHandler))
		var ran atomic.Int64
		for range 3 {
			e.Go(func() { ran.Add(1) })
			synctest.Wait()
		}
		if ran.Load() != 3 || e.n.Load() != 1 {
			t.Fatalf("3 callbacks one after the other ran %d times on %d goroutines, want 3 on 1", ran.Load(), e.n.Load())
		}
		e.Go(func() { panic("boom") })
		synctest.Wait()
		e.Go(func() { ran.Add(1) })
		synctest.Wait()
		if ran.Load() != 4 || e.n.Load() != 1 {
			t.Fatalf("after a panic: ran %d on %d goroutines, want 4 on 1", ran.Load(), e.n.Load())
		}
		time.Sleep(executorIdle - time.Millisecond)
		synctest.Wait()
		if e.n.Load() != 1 {
			t.Fatal("the goroutine ended before executorIdle")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if e.n.Load() != 0 {
			t.Fatalf("%d goroutines still wait after executorIdle without work", e.n.Load())
		}
		e.Go(func() { ran.Add(1) })
		synctest.Wait()
		e.close()
		if e.n.Load() != 0 || ran.Load() != 5 {
			t.Fatalf("after close: %d goroutines, %d runs", e.n.Load(), ran.Load())
		}
	})
}

// Callbacks that block take a goroutine each, up to max; the next waits
// for the first to finish.
func TestExecutorGrowsToMaxThenWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newExecutor(2, slog.New(slog.DiscardHandler))
		gate := make(chan struct{})
		var ran atomic.Int64
		block := func() { <-gate; ran.Add(1) }
		e.Go(block)
		e.Go(block)
		synctest.Wait()
		if e.n.Load() != 2 {
			t.Fatalf("two blocking callbacks on %d goroutines", e.n.Load())
		}
		queued := make(chan struct{})
		go func() {
			e.Go(func() { ran.Add(1) })
			close(queued)
		}()
		synctest.Wait()
		select {
		case <-queued:
			t.Fatal("a third callback started with max 2 busy")
		default:
		}
		close(gate)
		<-queued
		synctest.Wait()
		if ran.Load() != 3 || e.n.Load() != 2 {
			t.Fatalf("ran %d on %d goroutines, want 3 on 2", ran.Load(), e.n.Load())
		}
		e.close()
	})
}

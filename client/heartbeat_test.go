package client

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestHeartbeatPingsEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		activity := make(chan struct{}, 1)
		pings := 0
		done := make(chan error)
		go func() {
			done <- heartbeat(ctx, 25*time.Second, 10*time.Second, activity, func() {
				pings++
				activity <- struct{}{} // the server answers every ping
			})
		}()
		time.Sleep(25*time.Second*4 + time.Second)
		synctest.Wait()
		if pings != 4 {
			t.Fatalf("pings after 101s: %d, want 4", pings)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("heartbeat after cancel: %v", err)
		}
	})
}

func TestHeartbeatTimesOutWhenSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		pings := 0
		err := heartbeat(t.Context(), 25*time.Second, 10*time.Second, make(chan struct{}), func() { pings++ })
		if !errors.Is(err, ErrHeartbeatTimeout) {
			t.Fatalf("err = %v, want ErrHeartbeatTimeout", err)
		}
		if took := time.Since(start); took != 35*time.Second {
			t.Fatalf("timed out after %v, want 35s (interval + timeout)", took)
		}
		if pings != 1 {
			t.Fatalf("pings before the timeout: %d, want 1", pings)
		}
	})
}

func TestHeartbeatActivityPostponesTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		activity := make(chan struct{})
		start := time.Now()
		go func() {
			// Frames arrive for a minute, then stop.
			for range 6 {
				time.Sleep(10 * time.Second)
				activity <- struct{}{}
			}
		}()
		err := heartbeat(t.Context(), 25*time.Second, 10*time.Second, activity, func() {})
		if !errors.Is(err, ErrHeartbeatTimeout) {
			t.Fatalf("err = %v, want ErrHeartbeatTimeout", err)
		}
		if took := time.Since(start); took != 60*time.Second+35*time.Second {
			t.Fatalf("timed out after %v, want 95s (last frame at 60s + 35s)", took)
		}
	})
}

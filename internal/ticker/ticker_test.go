package ticker

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/danmaku/danmaku/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// fn runs once per interval, with the tick's time, until stop closes.
func TestEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		stop, done := make(chan struct{}), make(chan struct{})
		var at []time.Duration
		go func() {
			defer close(done)
			Every(stop, time.Second, func(now time.Time) { at = append(at, now.Sub(start)) })
		}()
		time.Sleep(3500 * time.Millisecond)
		close(stop)
		<-done
		if len(at) != 3 || at[0] != time.Second || at[2] != 3*time.Second {
			t.Fatalf("calls at %v, want 1s, 2s, 3s", at)
		}
	})
}

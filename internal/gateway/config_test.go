package gateway

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// A zero Config gets DefaultConfig's values where zero is no useful value,
// and keeps zero where it is a setting: no replay, no caps.
func TestZeroConfigMeansDefaults(t *testing.T) {
	got, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if got.BatchWindow != d.BatchWindow || got.IdleTimeout != d.IdleTimeout || got.MaxRequestBytes != d.MaxRequestBytes ||
		got.RecentPerRoom != d.RecentPerRoom || got.MessageRate != d.MessageRate || got.MessageBurst != d.MessageBurst {
		t.Errorf("zero fields not filled from DefaultConfig: %+v", got)
	}
	if got.ReplayCount != 0 || got.MaxConnsPerIP != 0 || got.MaxConns != 0 || got.ConnRate != 0 {
		t.Errorf("zero settings changed: replay %d, per IP %d, conns %d, rate %v", got.ReplayCount, got.MaxConnsPerIP, got.MaxConns, got.ConnRate)
	}
	if b := got.Buckets; b < 2*runtime.GOMAXPROCS(0) || b&(b-1) != 0 {
		t.Errorf("Buckets %d: want 2×GOMAXPROCS rounded up to a power of two", b)
	}
	if got.Logger == nil || got.Metrics == nil {
		t.Error("no logger or metrics")
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	d := DefaultConfig()
	got, err := d.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.ReplayCount != d.ReplayCount || got.MaxConnsPerIP != d.MaxConnsPerIP || got.ReplayCount == 0 {
		t.Errorf("DefaultConfig's replay %d and per-IP cap %d did not survive", got.ReplayCount, got.MaxConnsPerIP)
	}
}

func TestConfigDerivedValues(t *testing.T) {
	got, err := Config{ReplayCount: 200, RecentPerRoom: 10, Buckets: 5, ConnRate: 3.5, MessageRate: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.RecentPerRoom != 200 {
		t.Errorf("RecentPerRoom %d: a join replays from memory, so it must hold ReplayCount", got.RecentPerRoom)
	}
	if got.Buckets != 8 || got.ConnBurst != 3 || got.MessageRate != float64(rate.Inf) {
		t.Errorf("buckets %d, conn burst %d, message rate %v; want 8, 3, no limit", got.Buckets, got.ConnBurst, got.MessageRate)
	}
}

func TestConfigRefusesNegatives(t *testing.T) {
	for _, c := range []Config{
		{BatchWindow: -time.Millisecond},
		{ReplayCount: -1},
		{MaxConnsPerIP: -1},
		{Buckets: -2},
		{MaxPendingBytes: -1, IdleTimeout: -time.Second},
	} {
		if _, err := c.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
}

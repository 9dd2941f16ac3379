package logic

import (
	"errors"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{}).withDefaults(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no Store: %v, want ErrInvalidConfig", err)
	}
	got, err := Config{Store: storeStub{}, SendRate: -1, DuplicateWindow: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if got.MaxTextRunes != d.MaxTextRunes || got.MaxBodyBytes != d.MaxBodyBytes || got.SendWindow != d.SendWindow {
		t.Errorf("zero fields not filled: %+v", got)
	}
	if got.SendRate != -1 || got.DuplicateWindow != -1 {
		t.Errorf("negative rate %d and window %v (off) were changed", got.SendRate, got.DuplicateWindow)
	}
	if got.Now == nil || got.PublicID == nil || got.Online == nil || got.Logger == nil || got.Metrics == nil {
		t.Error("a nil func, logger or metrics was left")
	}
	if _, err := (Config{Store: storeStub{}, SendWindow: -time.Second}).withDefaults(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative SendWindow: %v, want ErrInvalidConfig", err)
	}
}

// storeStub is a Store for tests that only check that one is given.
type storeStub struct{ Store }

package client

import (
	"errors"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	got, err := Options{MaxBackoff: time.Millisecond, ReadLimit: -5, MessageBuffer: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultOptions()
	if got.DialTimeout != d.DialTimeout || got.PingInterval != d.PingInterval || got.MinBackoff != d.MinBackoff {
		t.Errorf("zero fields not filled from DefaultOptions: %+v", got)
	}
	if got.MaxBackoff != d.MinBackoff {
		t.Errorf("MaxBackoff %v below MinBackoff %v was not raised", got.MaxBackoff, got.MinBackoff)
	}
	if got.ReadLimit != -1 || got.MessageBuffer != 0 {
		t.Errorf("ReadLimit %d, MessageBuffer %d; want -1 (no limit) and 0 (unbuffered)", got.ReadLimit, got.MessageBuffer)
	}
	if z, _ := (Options{}).withDefaults(); z.ReadLimit != d.ReadLimit || z.MessageBuffer != d.MessageBuffer {
		t.Errorf("zero ReadLimit %d, MessageBuffer %d; want the defaults", z.ReadLimit, z.MessageBuffer)
	}
	if _, err := (Options{PingInterval: -time.Second}).withDefaults(); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("negative PingInterval: %v, want ErrInvalidOptions", err)
	}
}

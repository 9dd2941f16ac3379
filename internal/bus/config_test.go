package bus

import (
	"errors"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	got, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if got.HistorySize != d.HistorySize || got.HistoryTTL != d.HistoryTTL || got.Replicas != d.Replicas || got.Stream != d.Stream || got.Logger == nil {
		t.Errorf("zero fields not filled from DefaultConfig: %+v", got)
	}
	for _, c := range []Config{{HistorySize: -1}, {HistoryTTL: -1}, {Replicas: -1}, {Replicas: 6}, {ClusterName: "c"}} {
		if _, err := c.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
}

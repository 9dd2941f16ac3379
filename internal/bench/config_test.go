package bench

import (
	"errors"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	spec, _ := scenarioByName("hot-room")
	got, err := Config{Scenario: "hot-room", URL: "ws://127.0.0.1:1/ws", Warmup: -1, Sources: 1000}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if got.Viewers != spec.Viewers || got.Rate != spec.Rate || got.Duration != d.Duration || got.Publishers != d.Publishers {
		t.Errorf("not filled from the scenario and DefaultConfig: %+v", got)
	}
	if got.Warmup != 0 || got.Sources != sourcesTotal {
		t.Errorf("warmup %v (negative: none), sources %d (capped at %d)", got.Warmup, got.Sources, sourcesTotal)
	}
	for _, c := range []Config{
		{Scenario: "nope", URL: "ws://x"},
		{Scenario: "hot-room"}, // neither URL nor ServerCommand
		{Scenario: "hot-room", URL: "ws://x", Settle: -1},
	} {
		if _, err := c.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
}

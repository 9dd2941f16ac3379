package bench

import (
	"errors"
	"testing"
	"time"
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
	if got.DeflateShare != 1 || got.TextSeed != 1 || got.Text != "" {
		t.Errorf("deflate share %v, text seed %d, text %q; want every viewer to offer deflate and the corpus of seed 1", got.DeflateShare, got.TextSeed, got.Text)
	}
	if got, _ := (Config{Scenario: "hot-room", URL: "ws://x", NoCompression: true}).withDefaults(); got.DeflateShare != 0 {
		t.Errorf("NoCompression leaves a deflate share of %v, want 0", got.DeflateShare)
	}
	for _, c := range []Config{
		{Scenario: "nope", URL: "ws://x"},
		{Scenario: "hot-room"}, // neither URL nor ServerCommand
		{Scenario: "hot-room", URL: "ws://x", Settle: -1},
		{Scenario: "hot-room", URL: "ws://x", DeflateShare: 1.5},
		{Scenario: "hot-room", URL: "ws://x", DeflateShare: -0.5},
		{Scenario: "hot-room", URL: "ws://x", DeflateShare: 0.5, NoCompression: true},
	} {
		if _, err := c.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
}

func TestClusterConfig(t *testing.T) {
	got, err := Config{Scenario: ScenarioCluster, ServerCommand: []string{"danmaku", "serve"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.Nodes != 3 || got.Viewers != 2000 || got.Rooms != 5 || got.Rate != 500 || got.Batch != 10 {
		t.Errorf("cluster defaults: %d nodes, %d viewers, %d rooms, %g msgs/s in %d; want 3, 2000, 5, 500 in 10",
			got.Nodes, got.Viewers, got.Rooms, got.Rate, got.Batch)
	}
	if got, _ := (Config{Scenario: ScenarioHotRoom, URL: "ws://127.0.0.1:1/ws"}).withDefaults(); got.Nodes != 1 {
		t.Errorf("hot-room starts %d nodes, want 1", got.Nodes)
	}
	c := Config{URL: "ws://a:1/ws, ws://b:2/ws", URLs: []string{"ws://c:3/ws,", "ws://d:4/ws"}, ServerPID: 7, ServerPIDs: []int{8}}
	if got := c.targets(); len(got) != 4 || got[0] != "ws://a:1/ws" || got[1] != "ws://b:2/ws" || got[3] != "ws://d:4/ws" {
		t.Errorf("targets = %q", got)
	}
	if got := c.pids(); len(got) != 2 || got[0] != 7 || got[1] != 8 {
		t.Errorf("pids = %v", got)
	}
	for _, c := range []Config{
		{Scenario: ScenarioCluster, URL: "ws://x", Nodes: maxNodes + 1},
		{Scenario: ScenarioCluster, URL: "ws://x", Nodes: -1},
		{Scenario: ScenarioCluster, URL: "ws://x", ServerPIDs: []int{-3}},
	} {
		if _, err := c.withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
}

// Every room is published through every API URL, whatever the numbers of
// rooms and URLs, and a URL marked down is skipped.
func TestPublisherSpreadsOverAPIs(t *testing.T) {
	for _, c := range []struct{ rooms, apis int }{{1, 3}, {5, 3}, {6, 3}, {2, 2}, {4, 2}} {
		p := newPublisher(make([]string, c.apis), "", make([]string, c.rooms), 1, 1, 1, nil)
		seen := map[[2]int]int{}
		for k := range c.rooms * c.apis * 4 {
			seen[[2]int{k % c.rooms, p.apiFor(k)}]++
		}
		if len(seen) != c.rooms*c.apis {
			t.Errorf("%d rooms over %d APIs: %d (room, API) pairs used, want %d", c.rooms, c.apis, len(seen), c.rooms*c.apis)
		}
		for pair, n := range seen {
			if n != 4 {
				t.Errorf("%d rooms over %d APIs: pair %v used %d times, want 4", c.rooms, c.apis, pair, n)
			}
		}
	}
	p := newPublisher(make([]string, 3), "", []string{"r"}, 1, 1, 1, nil)
	p.apis[1].downUntil.Store(time.Now().Add(time.Minute).UnixNano())
	for k := range 9 {
		if a := p.apiFor(k); a == 1 {
			t.Fatalf("request %d went to the URL marked down", k)
		}
	}
	for i := range p.apis {
		p.apis[i].downUntil.Store(time.Now().Add(time.Minute).UnixNano())
	}
	if a := p.apiFor(4); a != 4%3 {
		t.Errorf("with every URL down, request 4 went to %d, want its own (1)", a)
	}
}

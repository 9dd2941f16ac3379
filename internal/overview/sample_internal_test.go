package overview

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/metrics"
)

// The quantiles follow histogram_quantile: linear interpolation inside
// the bucket holding the rank, 0 as the first bucket's lower bound, the
// highest finite bound for a rank in +Inf.
func TestQuantileInterpolatesLikePrometheus(t *testing.T) {
	// 2 observations ≤ 1, 4 more ≤ 2, 2 more ≤ 4, 2 above 4.
	h := histogram{bounds: []float64{1, 2, 4}, counts: []uint64{2, 6, 8}, total: 10}
	for _, c := range []struct{ q, want float64 }{
		{0.1, 0.5},    // rank 1 of the 2 in (0,1]
		{0.2, 1},      // rank 2: the top of the first bucket
		{0.5, 1.75},   // rank 5: 3 of the 4 in (1,2]
		{0.7, 3},      // rank 7: 1 of the 2 in (2,4]
		{0.99, 4},     // rank 9.9: in +Inf, so the highest finite bound
		{1, 4},        //
		{0.6, 2},      // rank 6: exactly the top of (1,2]
		{0.65, 2.5},   // rank 6.5
		{0.55, 1.875}, // rank 5.5
	} {
		got, ok := h.quantile(c.q)
		if !ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, %v; want %v", c.q, got, ok, c.want)
		}
	}
	if _, ok := (histogram{bounds: []float64{1}, counts: []uint64{0}}).quantile(0.5); ok {
		t.Error("a histogram with no observations has a quantile")
	}
}

// A real histogram of the registry, read back from Gather, gives the
// quantiles of what was observed since the previous reading only.
func TestLatencyOfTheIntervalOnly(t *testing.T) {
	m := metrics.New()
	for range 100 {
		m.PublishToWrite.Observe(1.5) // before the interval: in (1, 2]
	}
	prev := gather(t, m, time.Unix(0, 0))
	for range 90 {
		m.PublishToWrite.Observe(0.0015) // in (0.001, 0.002]
	}
	for range 10 {
		m.PublishToWrite.Observe(0.015) // in (0.01, 0.02]
	}
	cur := gather(t, m, time.Unix(1, 0))
	f := figures(prev, cur)
	// p50: rank 50 of the 90 in (1ms, 2ms] → 1 + 50/90 ms, to three
	// decimals.
	if f.PublishToWriteP50Ms == nil || *f.PublishToWriteP50Ms != 1.556 {
		t.Errorf("p50 = %v ms, want 1.556", deref(f.PublishToWriteP50Ms))
	}
	// p99: rank 99, 9 of the 10 in (10ms, 20ms] → 19 ms.
	if f.PublishToWriteP99Ms == nil || *f.PublishToWriteP99Ms != 19 {
		t.Errorf("p99 = %v ms, want 19", deref(f.PublishToWriteP99Ms))
	}
	idle := figures(cur, gather(t, m, time.Unix(2, 0)))
	if idle.PublishToWriteP50Ms != nil || idle.PublishToWriteP99Ms != nil {
		t.Errorf("an interval with no delivery has quantiles %v, %v; want null", deref(idle.PublishToWriteP50Ms), deref(idle.PublishToWriteP99Ms))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func gather(t *testing.T, m *metrics.Metrics, at time.Time) reading {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return read(families, metrics.NameMessagesIn, at)
}

// Rates are the counters' deltas over the time between the samples;
// gauges and the totals by reason are as the registry holds them.
func TestFiguresFromTheRegistry(t *testing.T) {
	m := metrics.New()
	m.MessagesIn.WithLabelValues("api").Add(5)
	m.Deliveries.Add(100)
	prev := gather(t, m, time.Unix(10, 0))
	m.MessagesIn.WithLabelValues("api").Add(3)
	m.MessagesIn.WithLabelValues("ws").Add(4)
	m.Deliveries.Add(70)
	m.BytesOut.Add(10000)
	m.Connections.Add(12)
	m.Rooms.Add(3)
	m.Closed(metrics.CloseClient)
	m.Drop(metrics.DropSlowConsumer)
	m.Drop(metrics.DropSlowConsumer)
	f := figures(prev, gather(t, m, time.Unix(12, 0))) // 2 s later
	if f.MessagesInPerSec != 3.5 || f.DeliveriesPerSec != 35 || f.BytesOutPerSec != 5000 {
		t.Errorf("rates %v, %v, %v; want 3.5, 35, 5000", f.MessagesInPerSec, f.DeliveriesPerSec, f.BytesOutPerSec)
	}
	if f.Connections != 12 || f.Rooms != 3 {
		t.Errorf("connections %d, rooms %d; want 12, 3", f.Connections, f.Rooms)
	}
	if f.Drops["slow_consumer"] != 2 || f.Closes["client"] != 1 {
		t.Errorf("drops %v, closes %v", f.Drops, f.Closes)
	}
	for _, r := range metrics.DropReasons {
		if _, ok := f.Drops[string(r)]; !ok {
			t.Errorf("drop reason %s is missing; every reason is listed, 0 included", r)
		}
	}
	for _, r := range metrics.CloseReasons {
		if _, ok := f.Closes[string(r)]; !ok {
			t.Errorf("close reason %s is missing", r)
		}
	}
	// A gateway-only node counts the messages it batched instead.
	m.MessagesOut.Add(9)
	families, _ := m.Registry.Gather()
	if got := read(families, metrics.NameMessagesOut, time.Unix(13, 0)).messagesIn; got != 9 {
		t.Errorf("a gateway's messages in read %v, want 9", got)
	}
}

// Each room's rate is its count's delta; a room that closed and opened
// again (its count went back) counts from 0.
func TestRoomRates(t *testing.T) {
	counts := map[string]uint64{"a": 10, "b": 100}
	s := roomSampler{maxRooms: 10, each: func(fn func(string, int64, uint64)) {
		for room, n := range counts {
			fn(room, 1, n)
		}
	}}
	s.sample(0)
	counts["a"], counts["b"], counts["c"] = 30, 4, 6
	got := map[string]float64{}
	for _, r := range s.sample(2) {
		got[r.Room] = r.MessagesPerSec
	}
	if want := map[string]float64{"a": 10, "b": 2, "c": 3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rates %v, want %v", got, want)
	}
}

// A snapshot keeps the top n rooms by viewers and the top n by rate, and
// no other.
func TestTopRoomsCap(t *testing.T) {
	var rooms []RoomRate
	for i := range 3000 {
		// online rises with i, rate falls with i for even i; odd i are quiet.
		rate := 0.0
		if i%2 == 0 {
			rate = float64(3000 - i)
		}
		rooms = append(rooms, RoomRate{Room: fmt.Sprintf("r%d", i), Online: int64(i), MessagesPerSec: rate})
	}
	const n = 1000
	byOnline := slices.Clone(rooms)
	sortRooms(byOnline, OrderOnline)
	byRate := slices.Clone(rooms)
	sortRooms(byRate, OrderRate)
	want := map[string]bool{}
	for _, r := range append(byOnline[:n:n], byRate[:n]...) {
		want[r.Room] = true
	}
	got := topRooms(slices.Clone(rooms), n)
	if len(got) != len(want) {
		t.Fatalf("kept %d rooms, want %d", len(got), len(want))
	}
	for _, r := range got {
		if !want[r.Room] {
			t.Fatalf("kept %s (online %d, rate %v), in neither top %d", r.Room, r.Online, r.MessagesPerSec, n)
		}
	}
	if few := topRooms(rooms[:5], n); len(few) != 5 {
		t.Fatalf("a short list lost rooms: %d of 5", len(few))
	}
}

package overview

import (
	"cmp"
	"math"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/danmaku/danmaku/internal/metrics"
)

// reading is what one sample of the registry holds: the counters the rates
// come from, the gauges, and the latency histogram's buckets.
type reading struct {
	at                               time.Time
	messagesIn, deliveries, bytesOut float64
	connections, rooms               float64
	latency                          histogram
	drops, closes                    map[string]uint64
}

// histogram is a cumulative histogram: counts[i] observations were at
// most bounds[i], and total in all (the +Inf bucket).
type histogram struct {
	bounds []float64
	counts []uint64
	total  uint64
}

// read takes the figures out of a Gather. messagesIn names the counter
// family the node's messages in come from (see Figures.MessagesInPerSec).
func read(families []*dto.MetricFamily, messagesIn string, at time.Time) reading {
	r := reading{at: at, drops: map[string]uint64{}, closes: map[string]uint64{}}
	for _, f := range families {
		switch f.GetName() {
		case messagesIn:
			r.messagesIn = sum(f)
		case metrics.NameDeliveries:
			r.deliveries = sum(f)
		case metrics.NameBytesOut:
			r.bytesOut = sum(f)
		case metrics.NameConnections:
			r.connections = sum(f)
		case metrics.NameRooms:
			r.rooms = sum(f)
		case metrics.NameDrops:
			byReason(f, r.drops)
		case metrics.NameCloses:
			byReason(f, r.closes)
		case metrics.NamePublishToWrite:
			if ms := f.GetMetric(); len(ms) == 1 && ms[0].GetHistogram() != nil {
				r.latency = histogramOf(ms[0].GetHistogram())
			}
		}
	}
	return r
}

// sum adds up a counter or gauge family's series.
func sum(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		switch {
		case m.GetCounter() != nil:
			v += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			v += m.GetGauge().GetValue()
		}
	}
	return v
}

// byReason reads a counter family with one label, the reason.
func byReason(f *dto.MetricFamily, into map[string]uint64) {
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) == 1 && m.GetCounter() != nil {
			into[m.GetLabel()[0].GetValue()] += uint64(m.GetCounter().GetValue())
		}
	}
}

func histogramOf(h *dto.Histogram) histogram {
	out := histogram{total: h.GetSampleCount()}
	for _, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), +1) {
			continue // the same as total
		}
		out.bounds = append(out.bounds, b.GetUpperBound())
		out.counts = append(out.counts, b.GetCumulativeCount())
	}
	return out
}

// since is h minus an earlier reading of the same histogram: the
// observations between the two. A histogram whose buckets changed, or one
// that went back (never, for one registry), counts as all new.
func (h histogram) since(prev histogram) histogram {
	if !slices.Equal(h.bounds, prev.bounds) || h.total < prev.total {
		return h
	}
	d := histogram{bounds: h.bounds, counts: make([]uint64, len(h.counts)), total: h.total - prev.total}
	for i := range h.counts {
		d.counts[i] = h.counts[i] - min(prev.counts[i], h.counts[i])
	}
	return d
}

// quantile estimates the q-quantile (0 ≤ q ≤ 1) of the observations as
// Prometheus' histogram_quantile does: it finds the bucket that holds the
// rank q × total and interpolates linearly between the bucket's bounds,
// taking 0 as the lower bound of the first bucket; a rank in the +Inf
// bucket is the highest finite bound. ok is false when there are no
// observations.
func (h histogram) quantile(q float64) (v float64, ok bool) {
	if h.total == 0 {
		return 0, false
	}
	rank := q * float64(h.total)
	i, _ := slices.BinarySearchFunc(h.counts, rank, func(c uint64, r float64) int { return cmp.Compare(float64(c), r) })
	if i == len(h.bounds) { // in the +Inf bucket
		if i == 0 {
			return 0, false // no finite bucket to name
		}
		return h.bounds[i-1], true
	}
	lower, below := 0.0, uint64(0)
	if i > 0 {
		lower, below = h.bounds[i-1], h.counts[i-1]
	} else if h.bounds[0] <= 0 {
		return h.bounds[0], true
	}
	inBucket := float64(h.counts[i] - below)
	if inBucket == 0 {
		return h.bounds[i], true
	}
	return lower + (h.bounds[i]-lower)*(rank-float64(below))/inBucket, true
}

// figures turns two readings into the node's figures: rates over the time
// between them, latency over the observations between them, the rest as
// cur holds them.
func figures(prev, cur reading) Figures {
	f := Figures{
		Connections: int64(cur.connections),
		Rooms:       int64(cur.rooms),
		Drops:       cur.drops,
		Closes:      cur.closes,
	}
	secs := cur.at.Sub(prev.at).Seconds()
	if secs <= 0 {
		return f
	}
	rate := func(c, p float64) float64 { return round(max(c-p, 0) / secs) }
	f.MessagesInPerSec = rate(cur.messagesIn, prev.messagesIn)
	f.DeliveriesPerSec = rate(cur.deliveries, prev.deliveries)
	f.BytesOutPerSec = rate(cur.bytesOut, prev.bytesOut)
	d := cur.latency.since(prev.latency)
	f.PublishToWriteP50Ms = quantileMs(d, 0.5)
	f.PublishToWriteP99Ms = quantileMs(d, 0.99)
	return f
}

func quantileMs(h histogram, q float64) *float64 {
	v, ok := h.quantile(q)
	if !ok {
		return nil
	}
	ms := round(v * 1000)
	return &ms
}

// round keeps three decimals: rates and milliseconds finer than that are
// noise of the sampling, and they read better without it.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// roomSampler turns a gateway's per-room message counts into rates and
// keeps the busiest rooms.
type roomSampler struct {
	each     func(fn func(room string, viewers int64, messages uint64))
	maxRooms int
	prev     map[string]uint64 // each room's count at the previous sample
}

// sample lists the rooms with their rates since the previous sample, secs
// ago, capped to the top maxRooms by viewers and the top maxRooms by rate.
func (s *roomSampler) sample(secs float64) []RoomRate {
	if s.each == nil {
		return nil
	}
	var rooms []RoomRate
	counts := make(map[string]uint64, len(s.prev))
	s.each(func(room string, viewers int64, messages uint64) {
		counts[room] = messages
		delta := messages
		if p, ok := s.prev[room]; ok && p <= messages {
			delta = messages - p
		} // else the room is new, or closed and opened again since: its count started at 0
		rate := 0.0
		if secs > 0 {
			rate = round(float64(delta) / secs)
		}
		rooms = append(rooms, RoomRate{Room: room, Online: viewers, MessagesPerSec: rate})
	})
	s.prev = counts
	return topRooms(rooms, s.maxRooms)
}

// topRooms keeps the top n rooms by viewers and the top n by rate, each
// room once: the first by viewers, then the others by rate.
func topRooms(rooms []RoomRate, n int) []RoomRate {
	if len(rooms) <= n {
		return rooms
	}
	byRate := slices.Clone(rooms)
	sortRooms(byRate, OrderRate)
	sortRooms(rooms, OrderOnline)
	keep := rooms[:n:n]
	kept := make(map[string]bool, n)
	for _, r := range keep {
		kept[r.Room] = true
	}
	for _, r := range byRate[:n] {
		if !kept[r.Room] {
			keep = append(keep, r)
		}
	}
	return keep
}

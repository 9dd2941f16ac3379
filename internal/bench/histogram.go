package bench

import (
	"math"
	"math/bits"
	"time"
)

// A Histogram counts durations in log-linear buckets: 64 buckets per power
// of two, so any value is reported within about 1.6% of itself. It covers
// 0 to about 18 minutes; larger values land in the last bucket. The zero
// value is ready to use. It is not safe for concurrent use; each goroutine or
// shard keeps its own and they are merged.
type Histogram struct {
	Counts   [histBuckets]uint64
	N        uint64
	Sum      int64 // nanoseconds
	Min, Max int64 // nanoseconds; meaningful when N > 0
}

const (
	subBits     = 6
	subBuckets  = 1 << subBits
	maxExponent = 40 // 2^40 ns ≈ 18 minutes
	histBuckets = (maxExponent-subBits+1)*subBuckets + subBuckets
)

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) // > subBits
	if e > maxExponent {
		return histBuckets - 1
	}
	shift := e - subBits - 1 // v>>shift is in [subBuckets, 2*subBuckets)
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (low, width uint64) {
	if i < subBuckets {
		return uint64(i), 1
	}
	shift := uint(i/subBuckets - 1)
	m := uint64(i%subBuckets + subBuckets)
	return m << shift, 1 << shift
}

// Record adds one duration (negative values count as 0).
func (h *Histogram) Record(d time.Duration) { h.RecordN(int64(d), 1) }

// RecordN adds n observations of v nanoseconds.
func (h *Histogram) RecordN(v int64, n uint64) {
	if n == 0 {
		return
	}
	if v < 0 {
		v = 0
	}
	h.Counts[bucketOf(uint64(v))] += n
	if h.N == 0 || v < h.Min {
		h.Min = v
	}
	if v > h.Max {
		h.Max = v
	}
	h.N += n
	h.Sum += v * int64(n)
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.N == 0 {
		return
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	if h.N == 0 || o.Min < h.Min {
		h.Min = o.Min
	}
	if o.Max > h.Max {
		h.Max = o.Max
	}
	h.N += o.N
	h.Sum += o.Sum
}

// Quantile returns the q-quantile (0–1) by the nearest-rank method: the
// middle of the bucket holding observation ⌈q·N⌉, clamped to the observed
// minimum and maximum. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.N == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.Min)
	}
	if q >= 1 {
		return time.Duration(h.Max)
	}
	rank := uint64(math.Ceil(q * float64(h.N))) // 1-based
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			v := int64(low + width/2)
			v = max(v, h.Min)
			v = min(v, h.Max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.Max)
}

// Mean returns the average observation, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.N == 0 {
		return 0
	}
	return time.Duration(h.Sum / int64(h.N))
}

// sparse is a Histogram's JSON form for the worker pipe: only the non-empty
// buckets, as [index, count] pairs.
type sparse struct {
	Buckets  [][2]uint64 `json:"b,omitempty"`
	N        uint64      `json:"n"`
	Sum      int64       `json:"sum"`
	Min, Max int64
}

func (h *Histogram) sparse() sparse {
	s := sparse{N: h.N, Sum: h.Sum, Min: h.Min, Max: h.Max}
	for i, c := range h.Counts {
		if c > 0 {
			s.Buckets = append(s.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return s
}

func (s sparse) histogram() *Histogram {
	h := &Histogram{N: s.N, Sum: s.Sum, Min: s.Min, Max: s.Max}
	for _, b := range s.Buckets {
		if b[0] < histBuckets {
			h.Counts[b[0]] += b[1]
		}
	}
	return h
}

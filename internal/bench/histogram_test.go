package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketOfIsMonotonicAndContiguous(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<16; v++ {
		i := bucketOf(v)
		if i != prev && i != prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d: not contiguous", v, i, prev)
		}
		low, width := bucketRange(i)
		if v < low || v >= low+width {
			t.Fatalf("value %d outside its bucket %d [%d, %d)", v, i, low, low+width)
		}
		prev = i
	}
	if got := bucketOf(1 << 62); got != histBuckets-1 {
		t.Fatalf("huge value in bucket %d, want the last (%d)", got, histBuckets-1)
	}
}

func TestQuantilesWithinPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var vals []int64
	for range 100_000 {
		v := int64(r.ExpFloat64() * float64(10*time.Millisecond))
		vals = append(vals, v)
		h.RecordN(v, 1)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := int64(h.Quantile(q))
		if diff := float64(got-want) / float64(want); diff > 0.02 || diff < -0.02 {
			t.Errorf("q%.3f = %v, exact %v (%.2f%% off)", q, time.Duration(got), time.Duration(want), 100*diff)
		}
	}
	if h.Quantile(0) != time.Duration(vals[0]) || h.Quantile(1) != time.Duration(vals[len(vals)-1]) {
		t.Errorf("q0/q1 = %v/%v, want min/max %v/%v", h.Quantile(0), h.Quantile(1), vals[0], vals[len(vals)-1])
	}
}

func TestQuantileSmallCounts(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram should report 0")
	}
	h.Record(3 * time.Millisecond)
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := h.Quantile(q); got != 3*time.Millisecond {
			t.Errorf("one value: q%v = %v, want 3ms", q, got)
		}
	}
	// 99 fast and 1 slow: p50 fast, p99 fast (rank 99), max slow.
	h = Histogram{}
	h.RecordN(int64(time.Millisecond), 99)
	h.Record(time.Second)
	if p := h.Quantile(0.5); p < 990*time.Microsecond || p > 1010*time.Microsecond {
		t.Errorf("p50 = %v, want about 1ms", p)
	}
	if p := h.Quantile(0.999); p < 990*time.Millisecond {
		t.Errorf("p99.9 = %v, want about 1s", p)
	}
	h.Record(-time.Second) // clock skew counts as 0
	if h.Min != 0 {
		t.Errorf("min = %d, want 0", h.Min)
	}
}

func TestMergeAndSparseRoundTrip(t *testing.T) {
	var a, b Histogram
	for i := range 1000 {
		a.Record(time.Duration(i) * time.Microsecond)
		b.Record(time.Duration(i) * time.Millisecond)
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	if m.N != 2000 || m.Min != 0 || m.Max != int64(999*time.Millisecond) {
		t.Fatalf("merged N=%d min=%d max=%d", m.N, m.Min, m.Max)
	}
	back := m.sparse().histogram()
	if *back != m {
		t.Fatal("sparse round trip changed the histogram")
	}
	if got := m.Quantile(0.25); got > time.Millisecond {
		t.Errorf("p25 of merged = %v, want under 1ms", got)
	}
}

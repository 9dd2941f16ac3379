package bus

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures storing bodies through the embedded server: one
// caller at a time, and (parallel) as many callers as the logic layer's
// concurrent sends would make.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("bodies=%d", size), func(b *testing.B) {
			bus := open(b, Config{HistorySize: 1000})
			batch := records(size)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if _, err := bus.Append(ctx, "bench", batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "msgs/s")
		})
	}
	b.Run("bodies=1/parallel", func(b *testing.B) {
		bus := open(b, Config{HistorySize: 1000})
		batch := records(1)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetParallelism(32)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bus.Append(ctx, "bench", batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
}

// BenchmarkAfter measures a resume read of 100 messages.
func BenchmarkAfter(b *testing.B) {
	bus := open(b, Config{HistorySize: 1000})
	offs := appendN(b, bus, "bench", 1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		msgs, complete, err := bus.After(ctx, "bench", offs[899], 100)
		if err != nil || !complete || len(msgs) != 100 {
			b.Fatal(err, complete, len(msgs))
		}
	}
}

// BenchmarkLatest measures a fresh join's read of the newest 50 messages of
// a full room that shares the stream with other rooms.
func BenchmarkLatest(b *testing.B) {
	bus := open(b, Config{HistorySize: 1000})
	for range 10 {
		appendN(b, bus, "bench", 100)
		appendN(b, bus, "noise", 300)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if msgs, err := bus.Latest(ctx, "bench", 50); err != nil || len(msgs) != 50 {
			b.Fatal(err, len(msgs))
		}
	}
}

// BenchmarkAppendParallel measures ingress by partition count: many
// callers (SetParallelism(32) per core, as concurrent sends would make)
// append single messages to 256 rooms, which hash over the partitions. Each
// partition is a stream with its own ordering goroutine, so more partitions
// should store more messages a second where cores allow.
func BenchmarkAppendParallel(b *testing.B) {
	rooms := make([]string, 256)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("room-%d", i)
	}
	for _, storage := range []string{"memory", "file", "file-sync-always"} {
		for _, partitions := range []int{1, 4} {
			b.Run(fmt.Sprintf("storage=%s/partitions=%d", storage, partitions), func(b *testing.B) {
				cfg := Config{HistorySize: 1000, Partitions: partitions}
				if storage != "memory" {
					cfg.DataDir = b.TempDir()
					cfg.SyncAlways = storage == "file-sync-always"
				}
				bus := open(b, cfg)
				ctx := context.Background()
				var next atomic.Int64
				b.ReportAllocs()
				b.SetParallelism(32)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					batch := records(1)
					for pb.Next() {
						room := rooms[next.Add(1)%int64(len(rooms))]
						if _, err := bus.Append(ctx, room, batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}

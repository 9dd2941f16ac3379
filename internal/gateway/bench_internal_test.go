package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/danmaku/danmaku/internal/bench/corpus"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/protocol"
)

func benchBatch(n int) []protocol.Stored {
	msgs := make([]protocol.Stored, n)
	for i := range msgs {
		msgs[i] = protocol.Stored{
			Offset: uint64(1000 + i), Prev: uint64(999 + i),
			Body: []byte(fmt.Sprintf(`{"id":"Z5BrD2u27sIh6Q7JFapn%02d","type":"danmaku","user":{"id":"u_5f2c9a","name":"alice","role":"viewer"},"text":"%s %d","ts":1763900000123}`, i%100, strings.Repeat("弹幕", 8), i)),
		}
	}
	return msgs
}

// BenchmarkBatchEncode measures encoding one batch of 50 stored messages
// into a finished WebSocket frame: done once per batch, never per viewer.
func BenchmarkBatchEncode(b *testing.B) {
	msgs := benchBatch(50)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		fb := newFrameBuilder(8192)
		fb.buf = protocol.AppendBatch(fb.buf, "lobby", msgs)
		f := fb.finish()
		size = len(f.plain)
	}
	b.SetBytes(int64(size))
}

// BenchmarkFrameDeflate measures building the shared permessage-deflate copy
// of a 50-message batch frame.
func BenchmarkFrameDeflate(b *testing.B) {
	fb := newFrameBuilder(8192)
	fb.buf = protocol.AppendBatch(fb.buf, "lobby", benchBatch(50))
	payload := fb.finish().payload()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		f := newTextFrame(payload)
		f.bytesFor(flate.BestSpeed)
	}
}

// corpusBatches builds k batches of n stored messages each, shaped as the
// logic tier stores a viewer's send (nuid ids: a fixed prefix and a rising
// sequence; public user ids of 200 senders; millisecond timestamps), with
// the texts of internal/bench/corpus in order.
func corpusBatches(k, n int) [][]protocol.Stored {
	c := corpus.New(1)
	r := rand.New(rand.NewPCG(1, 2))
	users := make([]string, 200)
	for i := range users {
		users[i] = fmt.Sprintf("u_%022x", r.Uint64())[:24]
	}
	seq, ts := uint64(1e15), int64(1763900000000)
	out := make([][]protocol.Stored, k)
	for b := range out {
		out[b] = make([]protocol.Stored, n)
		for i := range out[b] {
			off := uint64(b*n + i + 1)
			seq += 33 + r.Uint64N(300)
			ts += r.Int64N(20)
			text, _ := json.Marshal(c.Text(off))
			out[b][i] = protocol.Stored{Offset: off, Prev: off - 1, Body: fmt.Appendf(nil,
				`{"id":"Z5BrD2u27sIh%010d","type":"danmaku","user":{"id":"%s"},"text":%s,"ts":%d}`,
				seq%1e10, users[r.IntN(len(users))], text, ts)}
		}
	}
	return out
}

// BenchmarkFrameDeflateLevels measures building the shared deflated copy of
// a batch frame at the levels --compression-level allows, on batches of
// 1, 10 and 100 corpus messages: ns/op and allocs/op are the CPU per frame
// (paid once, whatever the viewers), B/msg the compressed bytes each
// viewer then receives per message (WebSocket header included), against
// plain-B/msg without deflate. Each op compresses the next of 64 batches.
func BenchmarkFrameDeflateLevels(b *testing.B) {
	const k = 64
	for _, n := range []int{1, 10, 100} {
		frames := make([]*frame, k)
		for i, batch := range corpusBatches(k, n) {
			fb := newFrameBuilder(8192)
			fb.buf = protocol.AppendBatch(fb.buf, "lobby", batch)
			frames[i] = fb.finish()
		}
		for _, level := range []deflateLevel{1, 2, 4, 6, 9} {
			b.Run(fmt.Sprintf("msgs=%d/level=%d", n, level), func(b *testing.B) {
				var plain, deflated int
				for _, f := range frames {
					f.compress(level)
					plain += len(f.plain)
					deflated += len(f.deflated)
				}
				b.ReportAllocs()
				b.SetBytes(int64(plain / k))
				i := 0
				for b.Loop() {
					frames[i%k].compress(level)
					i++
				}
				b.ReportMetric(float64(deflated)/float64(k*n), "B/msg")
				b.ReportMetric(float64(plain)/float64(k*n), "plain-B/msg")
			})
		}
	}
}

// BenchmarkFanOut measures one bucket delivering a shared 50-message frame
// to 1,000 viewers over real loopback TCP sockets (drained by readers). The
// goal is zero allocations per viewer: allocs/op must stay 0.
func BenchmarkFanOut(b *testing.B) {
	const viewers = 1000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	m := metrics.New()
	policy := newConnPolicy(1<<30, m)
	bk := newBucket(0, nil, newBucketMetrics(m), newWriteCost())
	r := &room{name: "lobby"}
	set := newMemberSet()
	var readers sync.WaitGroup
	var servers []net.Conn
	for range viewers {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		servers = append(servers, server)
		readers.Add(1)
		go func() {
			defer readers.Done()
			_, _ = io.Copy(io.Discard, client)
			client.Close()
		}()
		c := &conn{policy: policy, raw: server}
		set.put(c, &membership{room: r})
	}
	bk.members[r] = set
	fb := newFrameBuilder(8192)
	fb.buf = protocol.AppendBatch(fb.buf, "lobby", benchBatch(50))
	t := task{kind: taskBatch, room: r, frame: fb.finish(), lastOffset: 1049}
	b.ReportAllocs()
	b.ResetTimer()
	writes := 0
	for b.Loop() {
		// Each op is the room's next frame: a member that has a frame's
		// offsets already is skipped (catchUp), so the offsets move on.
		t.lastOffset += 50
		bk.deliver(&t)
		writes += viewers
	}
	b.StopTimer()
	if got := testutil.ToFloat64(m.Deliveries); int(got) != writes {
		b.Fatalf("%v frames written, want %d: the benchmark measured skips", got, writes)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/delivery")
	for _, s := range servers {
		s.Close()
	}
	readers.Wait()
}

func TestFanOutAllocatesNothingPerViewer(t *testing.T) {
	res := testing.Benchmark(BenchmarkFanOut)
	if res.N == 0 {
		t.Fatal("benchmark did not run")
	}
	// Allocations per deliver call, across 1,000 viewers: the prometheus
	// counter updates are per task, so anything above a handful means a
	// per-viewer allocation crept in.
	if a := res.AllocsPerOp(); a > 5 {
		t.Fatalf("fan-out allocates %d times per 1,000-viewer delivery", a)
	}
}

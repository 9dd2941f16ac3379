package gateway

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

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
		f.bytesFor(true)
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
	set := make(map[*conn]*membership, viewers)
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
		set[c] = &membership{room: r}
	}
	bk.members[r] = set
	fb := newFrameBuilder(8192)
	fb.buf = protocol.AppendBatch(fb.buf, "lobby", benchBatch(50))
	t := task{kind: taskBatch, room: r, frame: fb.finish(), lastOffset: 1049}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		bk.deliver(&t)
	}
	b.StopTimer()
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

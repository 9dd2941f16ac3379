package gateway_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

// A viewer that never reads is closed with 4008 once its unsent bytes pass
// the limit, and a reading viewer in the same room gets every message.
func TestSlowConsumerIsolated(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.MaxPendingBytes = 256 << 10 })})
	good := dial(t, s.WSURL, nil)
	good.join("slow")

	// A small receive buffer, set before connecting so that the window is
	// small from the start.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	c, err := d.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := rawUpgrade(t, c)
	join := []byte(`{"op":"join","room":"slow"}`)
	mask := []byte{9, 8, 7, 6}
	frame := append([]byte{0x81, 0x80 | byte(len(join))}, mask...)
	for i, b := range join {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}

	for round := 0; round < 300 && !closedSlow(t, s); round++ {
		s.Publish(t, "slow", texts(strings.Repeat("很长的弹幕", 18), 200)...)
		good.collect("slow", 200)
	}
	if !closedSlow(t, s) {
		t.Fatal("the non-reading viewer was never closed as a slow consumer")
	}
	// Draining what was queued ends with a close frame carrying 4008.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	frames := 0
	for {
		op, payload, err := readServerFrame(br)
		if err != nil {
			t.Fatalf("no close frame before the connection ended (%d frames, %s): %v", frames, time.Since(start), err)
		}
		frames++
		if op == 0x8 {
			if code := binary.BigEndian.Uint16(payload); code != protocol.CloseSlowConsumer {
				t.Fatalf("close code %d, want 4008", code)
			}
			break
		}
	}
	// The good viewer is unaffected.
	more := s.Publish(t, "slow", "after")
	if got := good.collect("slow", 1)[0]; got.Offset != more[0] {
		t.Fatalf("good viewer got %d, want %d", got.Offset, more[0])
	}
}

func closedSlow(t *testing.T, s *stacktest.Stack) bool {
	_, body := s.Do(t, "GET", "/metrics", nil)
	return strings.Contains(string(body), `danmaku_drops_total{reason="slow_consumer"} 1`)
}

// readServerFrame reads one unmasked server frame.
func readServerFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return h[0] & 0x0f, p, err
}

func TestHeartbeatTimeout(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.IdleTimeout = 300 * time.Millisecond })})
	silent := dial(t, s.WSURL, nil)
	alive := dial(t, s.WSURL, nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = alive.ws.Write(ctx, websocket.MessageText, []byte(`{"op":"ping"}`))
				cancel()
			}
		}
	}()
	code := silent.closeCode(5 * time.Second)
	close(stop)
	<-done
	if code != protocol.CloseHeartbeatTimeout {
		t.Fatalf("silent viewer closed with %d, want 4012", code)
	}
	// The pinging viewer outlived the timeout and still works.
	alive.send(map[string]any{"op": "ping", "t": "still here"})
	alive.expect(protocol.OpPong)
}

func TestDrain(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	vs := make([]*viewer, 20)
	for i := range vs {
		vs[i] = dial(t, s.WSURL, nil)
		vs[i].join("d")
	}
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drained <- s.Server().Gateway().Drain(ctx, 200*time.Millisecond)
	}()
	for i, v := range vs {
		if code := v.closeCode(5 * time.Second); code != protocol.CloseDraining {
			t.Fatalf("viewer %d closed with %d, want 4000", i, code)
		}
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d", resp.StatusCode)
	}
	_, resp2, err := websocket.Dial(t.Context(), s.WSURL, nil)
	if err == nil || resp2 == nil || resp2.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial while draining: err=%v resp=%v", err, resp2)
	}
}

// A viewer that negotiated permessage-deflate gets compressed frames (RSV1
// set) that inflate to the same batch a plain viewer gets. A second viewer
// shares the room: a room's only viewer gets small frames plain
// (frame.solo).
func TestDeflatedFramesOnTheWire(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	dial(t, s.WSURL, nil).join("dz")
	br := deflateViewer(t, s, "dz")
	s.Publish(t, "dz", texts(strings.Repeat("compressible ", 6), 30)...)
	payload, inflated := nextDeflatedBatch(t, br)
	m, err := protocol.DecodeServer(inflated)
	if err != nil || m.Op != protocol.OpBatch || len(m.Msgs) == 0 {
		t.Fatalf("inflated frame %q: %v", inflated, err)
	}
	if len(payload) >= len(inflated) {
		t.Fatalf("compressed %d bytes into %d", len(inflated), len(payload))
	}
}

package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

// slowViewers are viewers that read slower than their room sends: each
// reads at most readRate bytes a second through a 4 KiB socket receive
// buffer, so the server's queue for it grows until --max-pending-bytes
// closes it with 4008 (after the kernel's send buffer, up to tcp_wmem's
// max, has filled). They show what a slow viewer costs the others: the
// regular viewers' delivery and latency and the publish requests' round
// trip are measured in the same run. They are not counted in the delivery
// totals; the summary says how each ended.
type slowViewers struct {
	readRate int // bytes per second per viewer

	wg sync.WaitGroup
	// draining ends the pauses: at the end of the run every slow viewer
	// reads the rest of its stream at full speed, since the server's close
	// frame comes behind everything the kernel still holds for it (up to
	// tcp_wmem's max).
	draining atomic.Bool
	mu       sync.Mutex // guards conns, closes and bytes
	conns    []net.Conn
	// closes counts how the viewers ended, by closeName or a plain end.
	closes map[string]int
	bytes  int64
}

// slowChunk is what a slow viewer reads at a time, sleeping between
// chunks to keep to its rate.
const slowChunk = 1024

// startSlowViewers connects n slow viewers, viewer i to room i mod
// len(rooms), none offering permessage-deflate. They read until stop.
func startSlowViewers(ctx context.Context, wsURL string, rooms []string, n, readRate int) (*slowViewers, error) {
	up, host, err := newUpgrade(wsURL, false)
	if err != nil {
		return nil, err
	}
	s := &slowViewers{readRate: readRate, closes: map[string]int{}}
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	for i := range n {
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("bench: slow viewer %d: %w", i, err)
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		rest, _, err := up.do(c)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("bench: slow viewer %d: %w", i, err)
		}
		join := protocol.Marshal(protocol.ClientMessage{Op: protocol.OpJoin, Room: rooms[i%len(rooms)]})
		if _, err := c.Write(clientFrame(opText, join)); err != nil {
			s.stop()
			return nil, fmt.Errorf("bench: slow viewer %d: %w", i, err)
		}
		s.wg.Go(func() { s.read(c, rest) })
	}
	return s, nil
}

// read consumes c at the viewer's rate until it ends, noting how: the close
// code the server sent, or an end without one.
func (s *slowViewers) read(c net.Conn, rest []byte) {
	var fr frameScanner
	code := fr.scan(rest)
	pause := time.Duration(float64(slowChunk) / float64(s.readRate) * float64(time.Second))
	buf := make([]byte, slowChunk)
	var total int64
	var err error
	for code < 0 && err == nil {
		var n int
		n, err = c.Read(buf)
		total += int64(n)
		code = fr.scan(buf[:n])
		if err == nil && code < 0 && !s.draining.Load() {
			time.Sleep(pause)
		}
	}
	end := closeName(code)
	if code < 0 {
		end = "open at the end"
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			// The close frame was queued behind bytes the socket never
			// sent: the server dropped them with the connection.
			end = "closed by the server, no close frame"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes += total
	s.closes[end]++
}

// slowDrainFor bounds the full-speed read at the end of a run.
const slowDrainFor = 5 * time.Second

// stop lets every slow viewer read what is left of its stream for up to
// slowDrainFor, then closes it; the ones the server had not closed by then
// count as open at the end.
func (s *slowViewers) stop() SlowStats {
	s.draining.Store(true)
	s.mu.Lock()
	for _, c := range s.conns {
		_ = c.SetReadDeadline(time.Now().Add(slowDrainFor))
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SlowStats{Viewers: len(s.conns), ReadBytesPerSec: s.readRate, BytesRead: s.bytes, Closes: map[string]int{}}
	maps.Copy(st.Closes, s.closes)
	return st
}

// closeName is a close code as the summary shows it.
func closeName(code int) string {
	switch code {
	case protocol.CloseSlowConsumer:
		return "4008 slow consumer"
	}
	return fmt.Sprint(code)
}

// frameScanner follows the server's frames through the bytes read, without
// keeping their payloads, to find a close frame.
type frameScanner struct {
	head []byte // a frame header read in part
	skip uint64 // payload bytes of the current frame still to come
	// closing collects the close frame's payload (its first two bytes are
	// the code).
	closing []byte
	inClose bool
}

// scan takes the next bytes of the stream and returns the close code once
// a whole close frame was seen (1005 for one without a code), else -1.
func (f *frameScanner) scan(b []byte) int {
	for len(b) > 0 {
		if f.skip > 0 {
			n := min(f.skip, uint64(len(b)))
			if f.inClose {
				f.closing = append(f.closing, b[:n]...)
			}
			b, f.skip = b[n:], f.skip-n
			if f.skip == 0 && f.inClose {
				return closeCode(f.closing)
			}
			continue
		}
		f.head = append(f.head, b[0])
		b = b[1:]
		_, op, h, n, ok := frameHeader(f.head)
		if !ok || len(f.head) < h {
			continue
		}
		f.head, f.skip, f.inClose = f.head[:0], n, op&0x0f == opClose
		if f.inClose && n == 0 {
			return closeCode(nil)
		}
	}
	return -1
}

func closeCode(payload []byte) int {
	if len(payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(payload))
}

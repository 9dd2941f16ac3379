package gateway_test

import (
	"bufio"
	"bytes"
	stdflate "compress/flate"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/danmaku/danmaku/internal/bench/corpus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/stacktest"
)

// deflateViewer opens a raw WebSocket connection that negotiates
// permessage-deflate and joins room, so that a test sees the bytes of the
// frames it gets. It returns once the joined reply is read.
func deflateViewer(t *testing.T, s *stacktest.Stack, room string) *bufio.Reader {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("deflate not agreed: %q", ext)
	}
	if _, err := c.Write(maskedText([]byte(`{"op":"join","room":"` + room + `"}`))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if op, _, err := readServerFrame(br); err != nil || op != 0x1 {
		t.Fatalf("joined frame: op %x, %v", op, err) // small replies go uncompressed
	}
	return br
}

// maskedText is a client's text frame of p (under 126 bytes), masked as
// clients must.
func maskedText(p []byte) []byte {
	mask := []byte{1, 2, 3, 4}
	frame := append([]byte{0x81, 0x80 | byte(len(p))}, mask...)
	for i, b := range p {
		frame = append(frame, b^mask[i%4])
	}
	return frame
}

// nextDeflatedBatch reads frames until a compressed one and returns its
// payload and what it inflates to, by the standard library's inflater
// rather than the gateway's. A batch frame sent uncompressed fails t.
func nextDeflatedBatch(t *testing.T, br *bufio.Reader) (payload, inflated []byte) {
	t.Helper()
	for {
		var h [1]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatal(err)
		}
		_ = br.UnreadByte()
		first := h[0]
		op, payload, err := readServerFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		if op != 0x1 {
			continue
		}
		if first&0x40 == 0 {
			if strings.Contains(string(payload), `"op":"batch"`) {
				t.Fatal("batch frame sent uncompressed to a deflate viewer")
			}
			continue // an online update
		}
		inflated, err := io.ReadAll(stdflate.NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("inflate: %v", err)
		}
		return payload, inflated
	}
}

// CompressionLevel reaches the wire: a gateway at level 9 sends the bytes
// that level makes of each batch, not those of the default level.
func TestCompressionLevelOnTheWire(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.CompressionLevel = flate.BestCompression })})
	dial(t, s.WSURL, nil).join("levels") // not alone: a room's only viewer gets small frames plain
	br := deflateViewer(t, s, "levels")
	c := corpus.New(1)
	texts := make([]string, 40)
	for i := range texts {
		texts[i] = c.Text(uint64(i))
	}
	s.Publish(t, "levels", texts...)
	payload, inflated := nextDeflatedBatch(t, br)
	best, fast := gateway.DeflatedAt(t, flate.BestCompression, inflated), gateway.DeflatedAt(t, flate.BestSpeed, inflated)
	if bytes.Equal(best, fast) {
		t.Fatal("levels 9 and 1 make the same bytes of this batch: the test cannot tell them apart")
	}
	if !bytes.Equal(payload, best) {
		t.Errorf("the batch came in %d bytes, not the %d of level 9 (level 1: %d)", len(payload), len(best), len(fast))
	}
}

// A room's only viewer gets a small batch plain even with permessage-deflate
// (deflating it would cost more than its write and save ~10%), and a big
// one deflated.
func TestSoloViewerGetsSmallFramesPlain(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	br := deflateViewer(t, s, "solo")
	s.Publish(t, "solo", "short")
	for {
		var h [1]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatal(err)
		}
		_ = br.UnreadByte()
		_, payload, err := readServerFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		if h[0]&0x40 != 0 {
			t.Fatalf("a %d-byte frame for a room's only viewer was deflated", len(payload))
		}
		if strings.Contains(string(payload), `"op":"batch"`) {
			break
		}
	}
	// One message of over a kilobyte, with a big data object.
	big := `{"messages":[{"text":"big","data":{"pad":"` + strings.Repeat("compressible ", 100) + `"}}]}`
	if status, body := s.Do(t, "POST", "/v1/rooms/solo/messages", big); status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	if payload, inflated := nextDeflatedBatch(t, br); len(payload) >= len(inflated) || !strings.Contains(string(inflated), "compressible") {
		t.Fatalf("a %d-byte batch for the only viewer: %d bytes on the wire", len(inflated), len(payload))
	}
}

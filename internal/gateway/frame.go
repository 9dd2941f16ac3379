package gateway

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/klauspost/compress/flate"
)

// maxHeader is the largest server-to-client WebSocket frame header: two bytes
// plus a 64-bit length, no mask.
const maxHeader = 10

// frame is one WebSocket text message, built once and written as raw bytes to
// every viewer that should get it. The deflated form is built lazily, once,
// the first time a viewer that negotiated permessage-deflate needs it, at
// that viewer's level: a frame belongs to one gateway, whose viewers all
// have its CompressionLevel.
type frame struct {
	plain []byte // header + payload

	deflateOnce sync.Once
	deflated    []byte // header (RSV1 set) + compressed payload
	payloadAt   int    // offset of the payload in plain
	// solo marks a frame for a room with one viewer here: its deflated
	// copy serves nobody else, so it is built only for payloads of at
	// least minSoloDeflatePayload.
	solo bool
}

// frameBuilder encodes a payload directly after reserved header space, so
// that the finished frame needs no copy.
type frameBuilder struct {
	buf []byte
}

func newFrameBuilder(sizeHint int) frameBuilder {
	b := make([]byte, maxHeader, maxHeader+sizeHint)
	return frameBuilder{buf: b}
}

// finish writes the header in front of the payload and returns the frame.
func (fb frameBuilder) finish() *frame {
	payloadLen := len(fb.buf) - maxHeader
	var hdr [maxHeader]byte
	n := putHeader(hdr[:], 0x81, payloadLen)
	start := maxHeader - n
	copy(fb.buf[start:], hdr[:n])
	return &frame{plain: fb.buf[start:], payloadAt: n}
}

// newTextFrame builds an uncompressed frame around payload (copied).
func newTextFrame(payload []byte) *frame {
	fb := newFrameBuilder(len(payload))
	fb.buf = append(fb.buf, payload...)
	return fb.finish()
}

// putHeader writes a FIN frame header with the given first byte and payload
// length into dst and returns its length.
func putHeader(dst []byte, first byte, n int) int {
	dst[0] = first
	switch {
	case n < 126:
		dst[1] = byte(n)
		return 2
	case n <= 0xffff:
		dst[1] = 126
		binary.BigEndian.PutUint16(dst[2:], uint16(n))
		return 4
	default:
		dst[1] = 127
		binary.BigEndian.PutUint64(dst[2:], uint64(n))
		return 10
	}
}

// payload returns the frame's uncompressed payload.
func (f *frame) payload() []byte { return f.plain[f.payloadAt:] }

// deflateLevel is what a viewer gets: 0 plain frames (it did not
// negotiate permessage-deflate), 1–9 frames deflated at that flate level.
type deflateLevel int8

// viewerDeflate is the deflateLevel of a viewer that negotiated
// permessage-deflate or not, on a gateway of level (Config.CompressionLevel,
// already checked to be 1–9).
func viewerDeflate(negotiated bool, level int) deflateLevel {
	if !negotiated {
		return 0
	}
	return deflateLevel(level)
}

// minDeflatePayload is the smallest payload worth deflating. Below it
// (online counts, notices, a one-message batch with a short text) a fresh
// deflate stream's block header and Huffman table cost about what the
// compression saves, for the ~7 µs of building them.
const minDeflatePayload = 128

// minSoloDeflatePayload is the smallest payload deflated for a room's only
// viewer. A one-message frame of ~220 bytes deflates by ~10% (20 bytes) for
// ~7 µs, half again the cost of its write, when nobody shares it; from a
// few messages on (a kilobyte) deflate saves most of the frame.
const minSoloDeflatePayload = 1024

// bytesFor returns the bytes to write to a viewer: the deflated form when the
// viewer negotiated permessage-deflate and deflating made the frame smaller,
// else the plain one. RFC 7692 lets a sender leave any message of a
// deflate connection uncompressed (RSV1 clear), so a frame never grows.
func (f *frame) bytesFor(d deflateLevel) []byte {
	if n := len(f.plain) - f.payloadAt; d == 0 || n < minDeflatePayload || f.solo && n < minSoloDeflatePayload {
		return f.plain
	}
	f.deflateOnce.Do(func() {
		f.compress(d)
		if len(f.deflated) >= len(f.plain) {
			f.deflated = f.plain
		}
	})
	return f.deflated
}

// flaters keeps idle flate writers by level (a writer is built for one):
// a gateway uses one level, tests and benchmarks several.
var flaters [flate.BestCompression + 1]sync.Pool

// deflateTail is the empty stored block that ends every flushed deflate
// stream; RFC 7692 §7.2.1 has senders drop it.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// compress builds the permessage-deflate form at level (no context
// takeover: every message is compressed on its own, so one copy serves
// every viewer).
func (f *frame) compress(level deflateLevel) {
	p := f.payload()
	var out bytes.Buffer
	out.Grow(maxHeader + len(p)/2 + 16)
	out.Write(make([]byte, maxHeader))
	pool := &flaters[level]
	w, _ := pool.Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(nil, int(level)) // 1–9 are valid levels
	}
	w.Reset(&out)
	_, _ = w.Write(p) // writes to a bytes.Buffer cannot fail
	_ = w.Flush()
	pool.Put(w)
	b := out.Bytes()
	b = bytes.TrimSuffix(b, deflateTail)
	var hdr [maxHeader]byte
	n := putHeader(hdr[:], 0xC1, len(b)-maxHeader)
	start := maxHeader - n
	copy(b[start:], hdr[:n])
	f.deflated = b[start:]
}

// closeFrame builds a close frame with code and reason (reason cut to fit the
// 125-byte control frame limit).
func closeFrame(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	b := make([]byte, 4+len(reason))
	b[0] = 0x88
	b[1] = byte(2 + len(reason))
	binary.BigEndian.PutUint16(b[2:], uint16(code))
	copy(b[4:], reason)
	return b
}

package gateway

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/danmaku/danmaku/protocol"
)

func TestCompressionLevelConfig(t *testing.T) {
	got, err := Config{}.withDefaults()
	if err != nil || got.CompressionLevel != flate.BestSpeed || DefaultConfig().CompressionLevel != flate.BestSpeed {
		t.Errorf("zero CompressionLevel became %d (%v), want BestSpeed", got.CompressionLevel, err)
	}
	if got, err := (Config{CompressionLevel: 9}).withDefaults(); err != nil || got.CompressionLevel != 9 {
		t.Errorf("level 9 became %d, %v", got.CompressionLevel, err)
	}
	for _, level := range []int{-1, 10} {
		if _, err := (Config{CompressionLevel: level}).withDefaults(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("level %d: %v, want ErrInvalidConfig", level, err)
		}
	}
	if viewerDeflate(false, 6) != 0 || viewerDeflate(true, 6) != 6 {
		t.Error("a viewer's deflate level is not the gateway's when negotiated, or not 0 when not")
	}
}

// DeflatedAt is what a fresh writer at level makes of p, as
// permessage-deflate sends it (the flush's empty block dropped); exported
// for the wire tests of package gateway_test.
func DeflatedAt(t testing.TB, level int, p []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := flate.NewWriter(&out, level)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(p)
	_ = w.Flush()
	return bytes.TrimSuffix(out.Bytes(), deflateTail)
}

// Each level's deflated copy inflates back to the frame and is what that
// level makes, so the pools never hand out another level's writer (the
// second round takes every level's writer from its pool), and level 9 is
// smaller than level 1.
func TestDeflatedFrameAtEachLevel(t *testing.T) {
	batches := corpusBatches(2, 100)
	for round, batch := range batches {
		size := map[int]int{}
		for level := flate.BestSpeed; level <= flate.BestCompression; level++ {
			fb := newFrameBuilder(8192)
			fb.buf = protocol.AppendBatch(fb.buf, "lobby", batch)
			f := fb.finish()
			got := f.bytesFor(deflateLevel(level))
			if got[0] != 0xC1 || got[1] != 126 {
				t.Fatalf("level %d: header %#x %d, want FIN, RSV1, text and a 16-bit length", level, got[0], got[1])
			}
			body := got[4:]
			if want := DeflatedAt(t, level, f.payload()); !bytes.Equal(body, want) {
				t.Fatalf("level %d, round %d: %d bytes, not what a fresh level-%d writer makes (%d bytes)", level, round, len(body), level, len(want))
			}
			inflated, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(body), bytes.NewReader(deflateTail))))
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatal(err)
			}
			if !bytes.Equal(inflated, f.payload()) {
				t.Fatalf("level %d does not inflate to the frame", level)
			}
			size[level] = len(body)
		}
		if size[9] >= size[1] {
			t.Errorf("round %d: level 9 made %d bytes, level 1 %d", round, size[9], size[1])
		}
	}
}

// A frame is sent plain to a deflate viewer when it is under
// minDeflatePayload or when deflating would not make it smaller; then the
// viewer gets the plain frame, RSV1 clear, which RFC 7692 allows.
func TestDeflateNeverGrowsAFrame(t *testing.T) {
	tiny := newTextFrame([]byte(`{"op":"online","room":"lobby","count":12}`))
	if got := tiny.bytesFor(1); !bytes.Equal(got, tiny.plain) {
		t.Errorf("a %d-byte payload was deflated", len(tiny.payload()))
	}
	// 200 bytes of base64 of random bytes: deflate cannot shrink it.
	noise := make([]byte, 150)
	for i := range noise {
		noise[i] = byte(i*7919 + i*i*104729>>3)
	}
	incompressible := newTextFrame([]byte(`"` + base64.StdEncoding.EncodeToString(noise) + `"`))
	if got := incompressible.bytesFor(1); got[0] != 0x81 || !bytes.Equal(got, incompressible.plain) {
		t.Errorf("an incompressible payload was sent deflated (%d bytes against %d plain)", len(got), len(incompressible.plain))
	}
	big := newTextFrame(bytes.Repeat([]byte(`{"text":"哈哈哈哈"}`), 20))
	if got := big.bytesFor(1); got[0] != 0xC1 || len(got) >= len(big.plain) {
		t.Errorf("a compressible %d-byte payload: first byte %#x, %d bytes", len(big.payload()), got[0], len(got))
	}
	// For a room's only viewer, the same payload (under a kilobyte) goes
	// plain, and a bigger one is deflated.
	solo := newTextFrame(big.payload())
	solo.solo = true
	if got := solo.bytesFor(1); !bytes.Equal(got, solo.plain) {
		t.Errorf("a %d-byte frame for one viewer was deflated", len(solo.payload()))
	}
	soloBig := newTextFrame(bytes.Repeat([]byte(`{"text":"哈哈哈哈"}`), 60))
	soloBig.solo = true
	if got := soloBig.bytesFor(1); got[0] != 0xC1 {
		t.Errorf("a %d-byte frame for one viewer went plain", len(soloBig.payload()))
	}
}

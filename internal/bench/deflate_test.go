package bench

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/danmaku/danmaku/internal/bench/corpus"
)

// The share of viewers that offer deflate holds over all viewers, over
// each room's and over the sample viewers, so that a run's two kinds see
// the same frames.
func TestDeflateShareIsSpreadEvenly(t *testing.T) {
	count := func(n, step, from int, share float64) (offer, all int) {
		for i := from; i < n; i += step {
			all++
			if offersDeflate(i, share) {
				offer++
			}
		}
		return offer, all
	}
	for _, share := range []float64{0, 0.1, 0.5, 0.75, 1} {
		for _, c := range []struct{ n, step, from int }{
			{40, 1, 0}, {10000, 1, 0}, // everyone
			{10000, 2, 1}, {10000, 5, 3}, // a room of 2 and of 5
			{10000, 100, 0}, {2000, 10, 0}, // sample viewers
		} {
			offer, all := count(c.n, c.step, c.from, share)
			if d := math.Abs(float64(offer) - share*float64(all)); d > 2 {
				t.Errorf("share %.2f, viewers %d, %d…: %d of %d offer deflate, want %.1f ± 2", share, c.from, c.step, offer, all, share*float64(all))
			}
		}
	}
}

func TestHandshakeReadsTheDeflateAnswer(t *testing.T) {
	up, _, err := newUpgrade("ws://127.0.0.1:1/ws", true)
	if err != nil {
		t.Fatal(err)
	}
	head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + up.accept
	for _, c := range []struct {
		ext  string
		want bool
	}{
		{"", false},
		{"\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover", true},
		{"\r\nsec-websocket-extensions: Permessage-Deflate", true},
		{"\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame", false},
	} {
		got, err := up.check([]byte(head + c.ext))
		if err != nil || got != c.want {
			t.Errorf("answer with %q: deflate %v, %v; want %v", c.ext, got, err, c.want)
		}
	}
	if _, err := up.check([]byte("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Extensions: permessage-deflate")); err == nil {
		t.Error("an answer without Sec-WebSocket-Accept was taken")
	}
}

func TestPublishedTexts(t *testing.T) {
	fixed := texts(&Config{Text: `say "hi"`})
	if got := string(fixed(1)); got != `"say \"hi\""` || string(fixed(99)) != got {
		t.Errorf("fixed text = %s, want the same JSON string for every message", got)
	}
	varied := texts(&Config{TextSeed: 3})
	c := corpus.New(3)
	distinct := map[string]bool{}
	for seq := range uint64(200) {
		var s string
		if err := json.Unmarshal(varied(seq), &s); err != nil || s != c.Text(seq) {
			t.Fatalf("message %d: %s (%v), want corpus text %q", seq, varied(seq), err, c.Text(seq))
		}
		distinct[s] = true
	}
	if len(distinct) < 50 {
		t.Errorf("%d distinct texts in 200 messages", len(distinct))
	}
}

func TestBytesStats(t *testing.T) {
	var plain, deflate WireBytes
	plain.add(wireReport{Viewers: 3, Msgs: 300, Frames: 30, BatchBytes: 60_000, Bytes: 61_000})
	plain.add(wireReport{Viewers: 1, Msgs: 100, Frames: 10, BatchBytes: 20_000, Bytes: 20_200})
	deflate.add(wireReport{Viewers: 4, Msgs: 400, Frames: 40, BatchBytes: 20_000, Bytes: 21_000})
	b := newBytesStats(plain, deflate)
	if b.Plain.Viewers != 4 || b.Plain.BatchBytesPerMsg != 200 || b.Plain.WireBytesPerMsg != 203 || b.Deflate.BatchBytesPerMsg != 50 {
		t.Errorf("bytes = %+v", b)
	}
	if b.DeflateSaving != 0.75 {
		t.Errorf("saving = %v, want 0.75", b.DeflateSaving)
	}
	if one := newBytesStats(plain, WireBytes{}); one.DeflateSaving != 0 || one.Deflate.BatchBytesPerMsg != 0 {
		t.Errorf("without deflate viewers: %+v", one)
	}
}

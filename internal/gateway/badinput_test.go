package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

func TestMalformedMessagesGetErrorsAndConnectionStays(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	cases := []string{
		`{"op":`,                 // malformed JSON
		`[1,2,3]`,                // not an object
		`"join"`,                 // not an object
		`{"room":"x"}`,           // no op
		`{"op":"dance"}`,         // unknown op
		`{"op":"join","room":7}`, // wrong type
		`{"op":"join","room":"has space"}`,
		`{"op":"join","room":""}`,
		`{"op":"join","room":"` + strings.Repeat("a", 65) + `"}`,
	}
	for _, c := range cases {
		v.sendRaw(websocket.MessageText, []byte(c))
		m := v.expect(protocol.OpError)
		if m.Code != protocol.CodeBadRequest || m.Message == "" {
			t.Fatalf("%s: got %+v", c, m)
		}
	}
	v.sendRaw(websocket.MessageBinary, []byte{1, 2, 3})
	if m := v.expect(protocol.OpError); m.Code != protocol.CodeBadRequest {
		t.Fatalf("binary: %+v", m)
	}
	// Still usable.
	v.send(map[string]any{"op": "ping", "t": 42})
	if m := v.expect(protocol.OpPong); string(m.T) != "42" {
		t.Fatalf("pong = %+v", m)
	}
}

func TestRepeatedGarbageCloses4400(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.MaxBadMessages = 3 })})
	v := dial(t, s.WSURL, nil)
	for range 5 {
		if err := v.ws.Write(t.Context(), websocket.MessageText, []byte("garbage")); err != nil {
			break
		}
	}
	if code := v.closeCode(5 * time.Second); code != protocol.CloseProtocolError {
		t.Fatalf("close code %d, want 4400", code)
	}
}

func TestRoomLimitsAndNotJoined(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.MaxRoomsPerConn = 2 })})
	v := dial(t, s.WSURL, nil)
	v.join("a")
	v.join("b")
	v.send(map[string]any{"op": "join", "room": "c"})
	if m := v.expect(protocol.OpError); m.Code != protocol.CodeTooManyRooms {
		t.Fatalf("third room: %+v", m)
	}
	v.send(map[string]any{"op": "send", "room": "c", "id": "1", "text": "x"})
	if m := v.expect(protocol.OpNack); m.Code != protocol.CodeNotJoined || m.ID != "1" {
		t.Fatalf("send to unjoined room: %+v", m)
	}
	v.send(map[string]any{"op": "leave", "room": "c"})
	if m := v.expect(protocol.OpError); m.Code != protocol.CodeNotJoined {
		t.Fatalf("leave unjoined: %+v", m)
	}
	v.send(map[string]any{"op": "leave", "room": "a"})
	if m := v.expect(protocol.OpLeft); m.Room != "a" {
		t.Fatalf("left = %+v", m)
	}
	v.join("c")
}

func TestSendValidation(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	v.join("v")
	cases := []struct {
		msg  map[string]any
		code string
	}{
		{map[string]any{"text": strings.Repeat("长", 101)}, protocol.CodeTooLong},
		{map[string]any{"text": "   "}, protocol.CodeBadRequest},
		{map[string]any{"text": "x", "mode": "sideways"}, protocol.CodeBadRequest},
		{map[string]any{"text": "x", "color": "red"}, protocol.CodeBadRequest},
		{map[string]any{"text": "x", "size": "huge"}, protocol.CodeBadRequest},
		{map[string]any{"text": "x", "id": strings.Repeat("i", 65)}, protocol.CodeBadRequest},
	}
	for i, c := range cases {
		c.msg["op"], c.msg["room"] = "send", "v"
		if _, ok := c.msg["id"]; !ok {
			c.msg["id"] = "n"
		}
		v.send(c.msg)
		if m := v.expect(protocol.OpNack); m.Code != c.code {
			t.Fatalf("case %d: nack %+v, want %s", i, m, c.code)
		}
	}
	v.send(map[string]any{"op": "send", "room": "v", "id": "ok", "text": strings.Repeat("长", 100)})
	v.expect(protocol.OpAck)
}

func TestOversizedMessageCloses1009(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	_ = v.ws.Write(t.Context(), websocket.MessageText, []byte(`{"op":"ping","t":"`+strings.Repeat("x", 5000)+`"}`))
	if code := v.closeCode(5 * time.Second); code != websocket.StatusMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestDeflateBombCloses1009(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, &websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover, CompressionThreshold: 1})
	// 1 MiB of one byte compresses to about 1 KiB on the wire.
	_ = v.ws.Write(t.Context(), websocket.MessageText, []byte(`{"op":"ping","t":"`+strings.Repeat("x", 1<<20)+`"}`))
	if code := v.closeCode(5 * time.Second); code != websocket.StatusMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestInvalidUTF8Closes1007(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := rawUpgrade(t, c)
	// A masked text frame holding 0xff 0xfe (never valid UTF-8).
	payload := []byte{0xff, 0xfe}
	mask := []byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 4)
	if _, err := ioReadFull(br, hdr); err != nil {
		t.Fatalf("reading close frame: %v", err)
	}
	if hdr[0] != 0x88 || int(hdr[2])<<8|int(hdr[3]) != protocol.CloseInvalidPayload {
		t.Fatalf("got frame % x, want close 1007", hdr)
	}
}

func TestGarbageInsteadOfUpgradeIsClosed(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("\x16\x03\x01garbage garbage garbage\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("connection left open after garbage")
			}
			return // closed (possibly after a 400)
		}
	}
}

func TestHalfOpenConnectionTimesOut(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.HandshakeTimeout = 300 * time.Millisecond })})
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Half a request line, then nothing.
	_, _ = c.Write([]byte("GET /ws HT"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("half-open connection not closed by the handshake timeout")
			}
			return
		}
	}
}

// When the server closes, the viewer's close frame ends the closing
// handshake: the server then closes the socket and sends nothing more. A
// second close frame makes browsers report 1006 instead of the code.
func TestServerCloseHandshake(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.IdleTimeout = 300 * time.Millisecond })})
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := rawUpgrade(t, c)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 4)
	if _, err := ioReadFull(br, hdr); err != nil {
		t.Fatalf("reading close frame: %v", err)
	}
	if hdr[0] != 0x88 || int(hdr[2])<<8|int(hdr[3]) != protocol.CloseHeartbeatTimeout {
		t.Fatalf("got frame % x, want close 4012", hdr)
	}
	if _, err := ioReadFull(br, make([]byte, int(hdr[1])-2)); err != nil {
		t.Fatalf("reading the close reason: %v", err)
	}
	// The answer: a masked close frame with the same code.
	mask := []byte{9, 8, 7, 6}
	reply := []byte{0x88, 0x82}
	reply = append(reply, mask...)
	reply = append(reply, hdr[2]^mask[0], hdr[3]^mask[1])
	if _, err := c.Write(reply); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("after the close handshake: %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("the server sent % x after the close handshake, want nothing", rest)
	}
}

// rawUpgrade performs a WebSocket handshake by hand on c.
func rawUpgrade(t *testing.T, c net.Conn) *bufio.Reader {
	t.Helper()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status %d", resp.StatusCode)
	}
	return br
}

func TestUnknownOpsNeverClose(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.MaxBadMessages = 2 })})
	v := dial(t, s.WSURL, nil)
	for range 6 {
		v.send(map[string]any{"op": "future-op"})
		if m := v.expect(protocol.OpError); m.Code != protocol.CodeBadRequest {
			t.Fatalf("unknown op: %+v", m)
		}
	}
	v.send(map[string]any{"op": "ping"})
	v.expect(protocol.OpPong)
}

func TestMessageFloodIsRefusedThenClosed(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) {
		c.MessageRate = 1
		c.MessageBurst = 3
	})})
	calm := dial(t, s.WSURL, nil)
	calm.join("flood")
	flooder := dial(t, s.WSURL, nil)
	flooder.join("flood")
	for i := range 3 { // the join used one token
		flooder.send(map[string]any{"op": "send", "room": "flood", "id": fmt.Sprint(i), "text": fmt.Sprint("spam ", i)})
	}
	sawNack := false
	for !sawNack {
		m := flooder.read(5 * time.Second)
		if m.Op == protocol.OpNack {
			if m.Code != protocol.CodeRateLimited || m.RetryAfterMs <= 0 {
				t.Fatalf("nack %+v", m)
			}
			sawNack = true
		}
	}
	for range 20 {
		if err := flooder.ws.Write(t.Context(), websocket.MessageText, []byte(`{"op":"ping"}`)); err != nil {
			break
		}
	}
	if code := flooder.closeCode(5 * time.Second); code != protocol.CloseOverloaded {
		t.Fatalf("flooder closed with %d, want 4013", code)
	}
	// The calm viewer is unaffected.
	calm.send(map[string]any{"op": "ping"})
	calm.expect(protocol.OpPong)
}

func TestWebSocketPingKeepsAlive(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.IdleTimeout = 300 * time.Millisecond })})
	v := dial(t, s.WSURL, nil)
	// coder/websocket answers pongs only while a reader runs.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := v.ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	for range 8 {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := v.ws.Ping(pctx)
		pcancel()
		if err != nil {
			t.Fatalf("ping after staying alive: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-readDone
}

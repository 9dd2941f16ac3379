package gateway_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/internal/stacktest"
)

func dialStatus(t *testing.T, url string, h http.Header) int {
	t.Helper()
	ws, resp, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		t.Cleanup(func() { _ = ws.CloseNow() })
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	return resp.StatusCode
}

func TestOrigins(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	host := s.URL[len("http://"):]
	if got := dialStatus(t, s.WSURL, http.Header{"Origin": {"http://" + host}}); got != 101 {
		t.Fatalf("same origin: %d", got)
	}
	if got := dialStatus(t, s.WSURL, http.Header{"Origin": {"https://evil.example"}}); got != http.StatusForbidden {
		t.Fatalf("foreign origin: %d, want 403", got)
	}
	if got := dialStatus(t, s.WSURL, nil); got != 101 {
		t.Fatalf("no origin (non-browser): %d", got)
	}
	s2 := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.AllowedOrigins = []string{"https://player.example"} })})
	if got := dialStatus(t, s2.WSURL, http.Header{"Origin": {"https://player.example"}}); got != 101 {
		t.Fatalf("listed origin: %d", got)
	}
	if got := dialStatus(t, s2.WSURL, http.Header{"Origin": {"https://other.example"}}); got != http.StatusForbidden {
		t.Fatalf("unlisted origin: %d", got)
	}
	s3 := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.AllowedOrigins = []string{"*"} })})
	if got := dialStatus(t, s3.WSURL, http.Header{"Origin": {"https://anything.example"}}); got != 101 {
		t.Fatalf("* origin: %d", got)
	}
}

func TestConnectionLimits(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.MaxConnsPerIP = 2 })})
	for range 2 {
		if got := dialStatus(t, s.WSURL, nil); got != 101 {
			t.Fatalf("within the per-IP cap: %d", got)
		}
	}
	if got := dialStatus(t, s.WSURL, nil); got != http.StatusServiceUnavailable {
		t.Fatalf("past the per-IP cap: %d, want 503", got)
	}

	s2 := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.MaxConns = 1 })})
	if got := dialStatus(t, s2.WSURL, nil); got != 101 {
		t.Fatalf("first: %d", got)
	}
	_, resp, err := websocket.Dial(t.Context(), s2.WSURL, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past max-conns: %v %v", err, resp)
	}

	s3 := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.ConnRate = 0.001; c.ConnBurst = 2 })})
	for range 2 {
		if got := dialStatus(t, s3.WSURL, nil); got != 101 {
			t.Fatalf("within the burst: %d", got)
		}
	}
	if got := dialStatus(t, s3.WSURL, nil); got != http.StatusServiceUnavailable {
		t.Fatalf("past the connection rate: %d", got)
	}
}

// A handshake sent a byte at a time is cut off by the handshake timeout,
// and a request larger than the request limit is cut off too.
func TestSlowAndOversizedHandshakes(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) {
		c.HandshakeTimeout = 300 * time.Millisecond
		c.MaxRequestBytes = 64 << 10
	})})
	addr := strings.TrimPrefix(s.URL, "http://")

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: " + strings.Repeat("a", 200)
	start := time.Now()
	closed := false
	for i := 0; i < len(req) && time.Since(start) < 5*time.Second; i++ {
		if _, err := slow.Write([]byte{req[i]}); err != nil {
			closed = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !closed {
		_ = slow.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := slow.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("a handshake trickled over %s was not cut off", time.Since(start))
		}
	}

	big, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	header := "GET /ws HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 200<<10) + "\r\n\r\n"
	_, _ = big.Write([]byte(header)) // may fail midway once the server cuts it off
	_ = big.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(big); isTimeout(err) {
		t.Fatal("an oversized request was not cut off")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

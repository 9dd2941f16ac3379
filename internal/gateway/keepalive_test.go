package gateway_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
)

// A request that arrives late in a keep-alive connection's idle time, and
// is answered after that idle time would have ended, still gets its answer:
// the idle timer (HandshakeTimeout) runs from the previous answer, and a
// request in progress holds the connection open for RequestTimeout. The
// test's waits straddle the real socket deadline (synctest cannot hold
// one), with 400 ms of margin each side.
func TestRequestOutlastsKeepAliveIdleTime(t *testing.T) {
	b, err := bus.Open(t.Context(), bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := logic.New(logic.Config{Store: b})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{History: b, Sender: l, Logger: slog.New(slog.DiscardHandler),
		HandshakeTimeout: time.Second, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	entered, gate := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/quick", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "quick") })
	mux.HandleFunc("/held", func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-gate
		_, _ = io.WriteString(w, "held")
	})
	if err := g.Start("127.0.0.1:0", mux); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func(path string) {
		t.Helper()
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(want string) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer to %s: %v", want, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("answer %d %q, want 200 %q", resp.StatusCode, body, want)
		}
	}
	get("/quick")
	answer("quick") // the idle timer starts: 1 s
	time.Sleep(600 * time.Millisecond)
	get("/held")
	<-entered
	time.Sleep(800 * time.Millisecond) // 1.4 s after the first answer
	close(gate)
	answer("held")
}

package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/protocol"
)

// pipeNet is an in-memory network: connections are net.Pipe pairs, so a
// client and server inside a synctest bubble block durably and the fake
// clock can run.
type pipeNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.closed:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (p *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-p.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// pipeHosts is an in-memory network of named hosts, each an HTTP server on
// its own pipeNet. Dialing a host that has no server, or one taken down, is
// refused, as a dead node's port would be.
type pipeHosts struct {
	mu   sync.Mutex
	nets map[string]*pipeNet
}

func newPipeHosts() *pipeHosts { return &pipeHosts{nets: make(map[string]*pipeNet)} }

// serveHTTP serves handler as host until cleanup of the bubble's test.
func (h *pipeHosts) serveHTTP(t *testing.T, host string, handler http.Handler) {
	pn := newPipeNet()
	h.mu.Lock()
	h.nets[host] = pn
	h.mu.Unlock()
	srv := &http.Server{Handler: handler}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(pn) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
}

// serve calls handle for every WebSocket connection to host, and closes the
// connection when it returns.
func (h *pipeHosts) serve(t *testing.T, host string, handle func(ws *websocket.Conn)) {
	var handlers sync.WaitGroup
	t.Cleanup(handlers.Wait) // after the server's cleanup: cleanups run last first
	h.serveHTTP(t, host, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}})
		if err != nil {
			return
		}
		handlers.Add(1)
		defer handlers.Done()
		defer ws.CloseNow()
		handle(ws)
	}))
}

// down makes dials to host fail from now on. Its open connections stay.
func (h *pipeHosts) down(host string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.nets, host)
}

func (h *pipeHosts) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	pn := h.nets[host]
	h.mu.Unlock()
	if pn == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	return pn.dial(ctx, network, addr)
}

// options returns the client options that reach these hosts.
func (h *pipeHosts) options() Options {
	return Options{
		// No keep-alive: a refused handshake's connection would otherwise
		// idle in the pool and outlive the bubble.
		HTTPClient:  &http.Client{Transport: &http.Transport{DialContext: h.dial, DisableKeepAlives: true}},
		Compression: CompressionDisabled,
	}
}

// servePipe serves handle for every WebSocket connection to ws://pipe and
// returns the client options that reach it.
func servePipe(t *testing.T, handle func(ws *websocket.Conn)) Options {
	h := newPipeHosts()
	h.serve(t, "pipe", handle)
	return h.options()
}

// readAll reads until the connection ends.
func readAll(ws *websocket.Conn) {
	for {
		if _, _, err := ws.Read(context.Background()); err != nil {
			return
		}
	}
}

func TestSilentServerIsDetectedAfterPingIntervalPlusPongTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := servePipe(t, readAll) // reads pings, never answers
		start := time.Now()
		c, err := Dial(t.Context(), "ws://pipe/ws", opts) // default 25s + 10s
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for ev := range c.Events() {
			if ev.Kind == EventState && ev.State == StateReconnecting {
				if !errors.Is(ev.Err, ErrHeartbeatTimeout) {
					t.Fatalf("reconnecting because %v", ev.Err)
				}
				if took := time.Since(start); took != 35*time.Second {
					t.Fatalf("declared dead after %v, want exactly 35s", took)
				}
				return
			}
		}
	})
}

func TestPongsKeepTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pings := 0
		opts := servePipe(t, func(ws *websocket.Conn) {
			for {
				_, data, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				if m, err := protocol.DecodeClient(data); err == nil && m.Op == protocol.OpPing {
					pings++
					ws.Write(context.Background(), websocket.MessageText, protocol.Marshal(protocol.Pong{Op: protocol.OpPong, T: m.T}))
				}
			}
		})
		c, err := Dial(t.Context(), "ws://pipe/ws", opts)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if pings != 24 { // one every 25s
			t.Fatalf("%d pings in 10 minutes, want 24", pings)
		}
		c.Close()
		for ev := range c.Events() {
			if ev.Kind == EventState && ev.State == StateReconnecting {
				t.Fatalf("reconnected on a healthy connection: %v", ev.Err)
			}
		}
	})
}

func TestReconnectWaitsForTheAnnouncedDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var connects []time.Time
		opts := servePipe(t, func(ws *websocket.Conn) {
			connects = append(connects, time.Now())
			ws.Close(protocol.CloseDraining, "draining")
		})
		opts.MinBackoff = time.Second
		opts.MaxBackoff = 8 * time.Second
		c, err := Dial(t.Context(), "ws://pipe/ws", opts)
		if err != nil {
			t.Fatal(err)
		}
		var delays []time.Duration
		for ev := range c.Events() {
			if ev.Kind == EventState && ev.State == StateReconnecting {
				if ev.Attempt != 1 {
					t.Fatalf("attempt %d: each reconnect succeeds, so each is a first attempt", ev.Attempt)
				}
				delays = append(delays, ev.Delay)
				if len(delays) == 6 {
					break
				}
			}
		}
		c.Close()
		synctest.Wait()
		// The server accepts then drops at once: the connections never last
		// long enough to reset the backoff, so its ceiling keeps doubling.
		ceilings := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
		for i, d := range delays {
			if d < 0 || d >= ceilings[i] {
				t.Errorf("delay %d = %v, want in [0, %v)", i+1, d, ceilings[i])
			}
			if i+1 < len(connects) {
				if gap := connects[i+1].Sub(connects[i]); gap != d {
					t.Errorf("connect %d came %v after the previous, announced delay %v", i+2, gap, d)
				}
			}
		}
	})
}

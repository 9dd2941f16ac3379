package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/protocol"
)

// fakeServer is a scripted WebSocket server: each test plays the server's
// side frame by frame, to produce what the real server cannot be made to
// do on demand (gaps, lost history, 45xx closes).
type fakeServer struct {
	t      *testing.T
	srv    *httptest.Server
	conns  chan *fakeConn
	closed chan struct{}
	wg     sync.WaitGroup // handlers

	handshakes atomic.Int32
	refuse     atomic.Bool  // answer upgrades with 503
	retryAfter atomic.Int32 // seconds; with refuse, sent as Retry-After unless 0

	mu  sync.Mutex // guards all
	all []*fakeConn
}

// fakeConn is the server's side of one client connection.
type fakeConn struct {
	t  *testing.T
	ws *websocket.Conn
	in chan *protocol.ClientMessage // every frame but pings
}

const fakeTimeout = 5 * time.Second

func newFakeServer(t *testing.T) *fakeServer {
	fs := &fakeServer{t: t, conns: make(chan *fakeConn, 16), closed: make(chan struct{})}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(func() {
		close(fs.closed)
		fs.mu.Lock()
		for _, fc := range fs.all {
			fc.ws.CloseNow()
		}
		fs.mu.Unlock()
		fs.srv.Close()
		fs.wg.Wait()
	})
	return fs
}

func (fs *fakeServer) url() string { return "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/ws" }

func (fs *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.handshakes.Add(1)
	if fs.refuse.Load() {
		if secs := fs.retryAfter.Load(); secs > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(secs)))
		}
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:    []string{protocol.Subprotocol},
		CompressionMode: websocket.CompressionNoContextTakeover,
	})
	if err != nil {
		return
	}
	fs.wg.Add(1)
	defer fs.wg.Done()
	fc := &fakeConn{t: fs.t, ws: ws, in: make(chan *protocol.ClientMessage, 256)}
	fs.mu.Lock()
	fs.all = append(fs.all, fc)
	fs.mu.Unlock()
	select {
	case fs.conns <- fc:
	case <-fs.closed:
		return
	}
	for {
		_, data, err := ws.Read(context.Background())
		if err != nil {
			close(fc.in)
			return
		}
		m, err := protocol.DecodeClient(data)
		if err != nil || m.Op == protocol.OpPing && len(m.T) == 0 {
			continue // heartbeat pings are noise to these scripts
		}
		select {
		case fc.in <- m:
		case <-fs.closed:
			return
		}
	}
}

// accept waits for the client's next connection.
func (fs *fakeServer) accept() *fakeConn {
	fs.t.Helper()
	select {
	case fc := <-fs.conns:
		return fc
	case <-time.After(fakeTimeout):
		fs.t.Fatal("no connection from the client")
		return nil
	}
}

// expect returns the client's next frame and checks its op.
func (fc *fakeConn) expect(op string) *protocol.ClientMessage {
	fc.t.Helper()
	select {
	case m, ok := <-fc.in:
		if !ok {
			fc.t.Fatalf("connection closed while expecting %s", op)
		}
		if m.Op != op {
			fc.t.Fatalf("got op %q (%+v), want %q", m.Op, m, op)
		}
		return m
	case <-time.After(fakeTimeout):
		fc.t.Fatalf("no %s from the client", op)
		return nil
	}
}

// send writes one frame: a string as is, anything else as JSON.
func (fc *fakeConn) send(v any) {
	fc.t.Helper()
	var data []byte
	if s, ok := v.(string); ok {
		data = []byte(s)
	} else {
		var err error
		if data, err = json.Marshal(v); err != nil {
			fc.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), fakeTimeout)
	defer cancel()
	if err := fc.ws.Write(ctx, websocket.MessageText, data); err != nil {
		fc.t.Fatalf("fake server write: %v", err)
	}
}

// batch sends a batch frame of room holding the messages (offset, prev).
func (fc *fakeConn) batch(room string, pairs ...[2]uint64) {
	fc.t.Helper()
	msgs := make([]protocol.Message, len(pairs))
	for i, p := range pairs {
		msgs[i] = protocol.Message{Offset: p[0], Prev: p[1], Body: protocol.Body{ID: "m" + itoa(p[0]), Type: protocol.TypeDanmaku, Text: "t" + itoa(p[0])}}
	}
	fc.send(protocol.ServerMessage{Op: protocol.OpBatch, Room: room, Msgs: msgs})
}

func (fc *fakeConn) joined(room, epoch string, offset uint64, recovered bool) {
	fc.t.Helper()
	fc.send(protocol.Joined{Op: protocol.OpJoined, Room: room, Epoch: epoch, Offset: offset, Recovered: recovered})
}

// closeWith closes with a close code, as the server would.
func (fc *fakeConn) closeWith(code int, reason string) {
	fc.ws.Close(websocket.StatusCode(code), reason)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// joinFresh joins room through fc, which answers as to a first join: at
// offset, with nothing to recover.
func joinFresh(t *testing.T, c *Client, fc *fakeConn, room, epoch string, offset uint64) {
	t.Helper()
	res := joinAsync(t.Context(), c, room)
	fc.expect(protocol.OpJoin)
	fc.joined(room, epoch, offset, false)
	waitResult(t, res)
}

// dialFake connects a client to fs with fast reconnects, closed at cleanup.
func dialFake(t *testing.T, fs *fakeServer, opts Options) *Client {
	t.Helper()
	return dialFakes(t, opts, fs)
}

// dialFakes is dialFake with every server's URL, in order, given to DialAny.
func dialFakes(t *testing.T, opts Options, fss ...*fakeServer) *Client {
	t.Helper()
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 5 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 20 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(t.Context(), fakeTimeout)
	defer cancel()
	urls := make([]string, len(fss))
	for i, fs := range fss {
		urls[i] = fs.url()
	}
	c, err := DialAny(ctx, urls, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextEvent returns the next event accepted by keep, skipping the rest.
func nextEvent(t *testing.T, c *Client, keep func(Event) bool) Event {
	t.Helper()
	timeout := time.After(fakeTimeout)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("events closed (err %v)", c.Err())
			}
			if keep(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("timed out waiting for an event")
		}
	}
}

func isState(st State) func(Event) bool {
	return func(ev Event) bool { return ev.Kind == EventState && ev.State == st }
}

// roomEvents collects the offsets of n message events of room, failing on
// any other room event (a reset, an error) unless allowed.
func roomOffsets(t *testing.T, c *Client, room string, n int) []uint64 {
	t.Helper()
	var out []uint64
	for len(out) < n {
		ev := nextEvent(t, c, func(ev Event) bool { return ev.Room == room && ev.Kind != EventOnline })
		if ev.Kind != EventMessage {
			t.Fatalf("unexpected %s event for %s: %v", ev.Kind, room, ev.Err)
		}
		out = append(out, ev.Message.Offset)
	}
	return out
}

// joinAsync starts a Join and returns where its result arrives.
func joinAsync(ctx context.Context, c *Client, room string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		j, err := c.Join(ctx, room)
		ch <- result{joined: j, err: err}
	}()
	return ch
}

func waitResult(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(fakeTimeout):
		t.Fatal("call did not return")
		return result{}
	}
}

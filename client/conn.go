package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/protocol"
)

// session is one WebSocket connection with its read loop and heartbeat. The
// supervisor starts it, waits for it and ends it; it never outlives its
// connection.
type session struct {
	c        *Client
	conn     *websocket.Conn
	url      string
	log      *slog.Logger // the client's, with the URL
	started  time.Time
	ctx      context.Context // done when the connection ends; its cause says why
	fail     context.CancelCauseFunc
	activity chan struct{} // signalled by the read loop, watched by the heartbeat
	wg       sync.WaitGroup

	// writeMu serializes frames and is held while a request registers its
	// reply slot, so pending requests are in wire order (see doc.go).
	writeMu sync.Mutex
}

// connect dials url and authenticates: one attempt, bounded by DialTimeout.
func (c *Client) connect(ctx context.Context, url string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()

	header := c.opts.HTTPHeader.Clone()
	if c.opts.Origin != "" {
		if header == nil {
			header = http.Header{}
		}
		header.Set("Origin", c.opts.Origin)
	}
	mode := websocket.CompressionNoContextTakeover
	switch c.opts.Compression {
	case CompressionDisabled:
		mode = websocket.CompressionDisabled
	case CompressionContextTakeover:
		mode = websocket.CompressionContextTakeover
	}
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:      c.opts.HTTPClient,
		HTTPHeader:      header,
		Subprotocols:    []string{protocol.Subprotocol},
		CompressionMode: mode,
	})
	if err != nil {
		if resp != nil {
			return nil, &handshakeError{status: resp.Status, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), err: err}
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	conn.SetReadLimit(c.opts.ReadLimit)
	if c.opts.Token != "" {
		if err := c.authenticate(ctx, conn); err != nil {
			conn.CloseNow()
			return nil, err
		}
	}
	c.log.Info("danmaku: connected", "url", url, "subprotocol", conn.Subprotocol())
	return conn, nil
}

// handshakeError is a handshake the server answered with an HTTP status
// instead of 101: a full, draining or rate-limited node answers 503 with
// Retry-After (docs/protocol.md, connection limits).
type handshakeError struct {
	status     string
	retryAfter time.Duration // from Retry-After; 0 if absent
	err        error
}

func (e *handshakeError) Error() string { return fmt.Sprintf("dial: HTTP %s: %v", e.status, e.err) }
func (e *handshakeError) Unwrap() error { return e.err }

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110, section 10.2.3). It returns 0 when there is none or it has
// passed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > int64(time.Duration(math.MaxInt64)/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// authenticate sends auth and waits for authed. It runs before the read
// loop starts, so it reads the connection itself; no room is joined yet, so
// nothing else can arrive that matters.
func (c *Client) authenticate(ctx context.Context, conn *websocket.Conn) error {
	frame, err := (&protocol.ClientMessage{Op: protocol.OpAuth, Token: c.opts.Token}).Encode()
	if err != nil {
		return fmt.Errorf("encode auth: %w", err)
	}
	if err := conn.Write(ctx, websocket.MessageText, frame); err != nil {
		return fmt.Errorf("auth: %w", closeCause(err))
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("auth: %w", closeCause(err))
		}
		m, err := protocol.DecodeServer(data)
		if err != nil {
			continue
		}
		switch m.Op {
		case protocol.OpAuthed:
			c.mu.Lock()
			c.user = m.User
			c.mu.Unlock()
			return nil
		case protocol.OpError:
			refused := codeError(m)
			// The server follows a refusal with a close frame (4501);
			// report its code too when it comes promptly.
			waitCtx, cancel := context.WithTimeout(ctx, time.Second)
			_, _, err := conn.Read(waitCtx)
			cancel()
			var ce *CloseError
			if errors.As(closeCause(err), &ce) {
				return fmt.Errorf("%w: %w (%w)", ErrAuthRefused, &refused, ce)
			}
			return fmt.Errorf("%w: %w", ErrAuthRefused, &refused)
		}
	}
}

// closeCause turns a close frame from the server into a *CloseError and
// leaves other errors alone.
func closeCause(err error) error {
	var wce websocket.CloseError
	if errors.As(err, &wce) {
		return &CloseError{Code: int(wce.Code), Reason: wce.Reason}
	}
	return err
}

// startSession makes conn, connected to url, the live connection: it starts
// the read loop and the heartbeat, and rejoins every room.
func (c *Client) startSession(conn *websocket.Conn, url string) *session {
	s := &session{c: c, conn: conn, url: url, log: c.log.With("url", url), started: time.Now(), activity: make(chan struct{}, 1)}
	s.ctx, s.fail = context.WithCancelCause(c.ctx)
	s.wg.Add(2)
	go s.readLoop()
	go s.heartbeatLoop()
	s.rejoin()
	return s
}

// wait blocks until the connection has ended and both loops have returned,
// and reports why it ended.
func (s *session) wait() error {
	s.wg.Wait()
	s.conn.CloseNow()
	return context.Cause(s.ctx)
}

// end records why the connection ended (the first reason wins) and closes
// it, which stops both loops.
func (s *session) end(cause error) {
	s.fail(cause)
	s.conn.CloseNow()
}

// closeGrace bounds the close handshake of Close: a peer on a dead path
// never answers, and Close should not hang for coder/websocket's 5s.
const closeGrace = time.Second

// closeNormal closes with 1000 and the close handshake, for Close.
func (s *session) closeNormal() {
	// Ending the session cancels the read loop's context, which makes
	// coder/websocket drop the socket and so ends the handshake wait.
	t := time.AfterFunc(closeGrace, func() { s.fail(ErrClosed) })
	defer t.Stop()
	s.conn.Close(websocket.StatusNormalClosure, "")
	s.fail(ErrClosed)
}

// rejoin publishes the session and sends join{room, since, epoch} for every
// room, all under writeMu so no request can slip in between.
func (s *session) rejoin() {
	c := s.c
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.sess = s
	close(c.ready)
	var frames [][]byte
	for _, r := range c.rooms {
		frames = append(frames, c.joinLocked(s, r, false))
	}
	c.mu.Unlock()
	for _, f := range frames {
		if s.writeLocked(f) != nil {
			return
		}
	}
}

// endSession unpublishes s and fails every reply still pending on it.
// Rooms stay: the next connection rejoins them.
func (c *Client) endSession(s *session, cause error) {
	lost := fmt.Errorf("%w: %w", ErrConnectionLost, cause)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == s {
		c.sess = nil
		c.ready = make(chan struct{})
	}
	for id, ch := range c.sends {
		ch <- result{err: lost}
		delete(c.sends, id)
	}
	for t, ch := range c.pings {
		ch <- result{err: lost}
		delete(c.pings, t)
	}
	for _, req := range c.ctrl {
		if req.reply != nil {
			req.reply <- result{err: lost}
		}
	}
	c.ctrl = nil
	for _, r := range c.rooms {
		r.pending = nil
		r.cur.disconnected()
	}
}

// errStale means the session stopped being the live one before a request
// was written; the caller may retry on the next one.
var errStale = errors.New("connection replaced")

// request registers a reply slot and writes frame, atomically with respect
// to other requests. A write error ends the session, which fails the slot,
// so callers only need to wait for it.
func (s *session) request(frame []byte, register func()) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.c.mu.Lock()
	if s.c.sess != s {
		s.c.mu.Unlock()
		return errStale
	}
	register()
	s.c.mu.Unlock()
	s.writeLocked(frame)
	return nil
}

// writeLocked writes one frame; writeMu must be held. A failed or slow write
// ends the connection.
func (s *session) writeLocked(frame []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.c.opts.WriteTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, frame); err != nil {
		err = fmt.Errorf("write: %w", closeCause(err))
		s.end(err)
		return err
	}
	return nil
}

// heartbeatLoop pings and ends the connection if the server goes silent.
func (s *session) heartbeatLoop() {
	defer s.wg.Done()
	ping := []byte(`{"op":"ping"}`)
	err := heartbeat(s.ctx, s.c.opts.PingInterval, s.c.opts.PongTimeout, s.activity, func() {
		s.writeMu.Lock()
		defer s.writeMu.Unlock()
		s.writeLocked(ping)
	})
	if err != nil {
		s.log.Warn("danmaku: server silent, reconnecting", "after", s.c.opts.PingInterval+s.c.opts.PongTimeout)
		s.end(err)
	}
}

// alive tells the heartbeat that the connection made progress.
func (s *session) alive() {
	select {
	case s.activity <- struct{}{}:
	default:
	}
}

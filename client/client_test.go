package client

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/danmaku/danmaku/protocol"
)

func TestAuthComesFirstOnEveryConnectAndRoomsResume(t *testing.T) {
	fs := newFakeServer(t)
	dialed := make(chan error, 1)
	var c *Client
	go func() {
		var err error
		c, err = Dial(t.Context(), fs.url(), Options{Token: "tok", MinBackoff: time.Millisecond})
		dialed <- err
	}()
	fc := fs.accept()
	if m := fc.expect(protocol.OpAuth); m.Token != "tok" {
		t.Fatalf("auth token %q", m.Token)
	}
	fc.send(protocol.Authed{Op: protocol.OpAuthed, User: protocol.User{ID: "u1", Name: "alice"}})
	if err := <-dialed; err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if u, ok := c.User(); !ok || u.ID != "u1" {
		t.Fatalf("User() = %+v, %v", u, ok)
	}

	res := joinAsync(t.Context(), c, "r")
	if m := fc.expect(protocol.OpJoin); m.Room != "r" || m.Since != nil || m.Epoch != "" {
		t.Fatalf("first join = %+v, want no since or epoch", m)
	}
	fc.joined("r", "e1", 0, false)
	if r := waitResult(t, res); r.err != nil || r.joined.Epoch != "e1" {
		t.Fatalf("Join = %+v", r)
	}
	fc.batch("r", [2]uint64{1, 0}, [2]uint64{2, 1})
	if got := roomOffsets(t, c, "r", 2); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("offsets %v", got)
	}

	fc.ws.CloseNow() // abnormal closure
	fc = fs.accept()
	fc.expect(protocol.OpAuth) // before the rejoin
	fc.send(protocol.Authed{Op: protocol.OpAuthed, User: protocol.User{ID: "u1"}})
	m := fc.expect(protocol.OpJoin)
	if m.Room != "r" || m.Since == nil || *m.Since != 2 || m.Epoch != "e1" {
		t.Fatalf("resume join = %+v, want since 2 epoch e1", m)
	}
	fc.joined("r", "e1", 4, true)
	fc.batch("r", [2]uint64{2, 1}, [2]uint64{3, 2}, [2]uint64{4, 3}) // 2 again: dropped
	if got := roomOffsets(t, c, "r", 2); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("offsets after resume %v, want [3 4]", got)
	}
}

func TestAuthRefusedFailsDial(t *testing.T) {
	fs := newFakeServer(t)
	dialed := make(chan error, 1)
	go func() {
		_, err := Dial(t.Context(), fs.url(), Options{Token: "expired"})
		dialed <- err
	}()
	fc := fs.accept()
	fc.expect(protocol.OpAuth)
	fc.send(protocol.Error{Op: protocol.OpError, Code: protocol.CodeUnauthorized, Message: "token expired"})
	go fc.closeWith(protocol.CloseUnauthorized, "unauthorized")
	err := <-dialed
	var ce *CloseError
	var code *protocol.CodeError
	if !errors.Is(err, ErrAuthRefused) || !errors.As(err, &ce) || ce.Code != 4501 || !errors.As(err, &code) || code.Code != protocol.CodeUnauthorized {
		t.Fatalf("Dial = %v, want ErrAuthRefused with code unauthorized and close 4501", err)
	}
}

func TestCloseCode45xxStopsWithoutReconnecting(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()
	nextEvent(t, c, isState(StateConnected))
	fc.closeWith(protocol.CloseBanned, "banned")

	ev := nextEvent(t, c, isState(StateClosed))
	var ce *CloseError
	if !errors.As(ev.Err, &ce) || ce.Code != protocol.CloseBanned || ce.Reason != "banned" {
		t.Fatalf("closed event err = %v, want CloseError 4503", ev.Err)
	}
	<-c.Done()
	if !errors.As(c.Err(), &ce) || ce.Code != protocol.CloseBanned {
		t.Fatalf("Err() = %v", c.Err())
	}
	if _, ok := <-c.Events(); ok {
		t.Fatal("events not closed after StateClosed")
	}
	time.Sleep(50 * time.Millisecond) // many backoff periods
	if n := fs.handshakes.Load(); n != 1 {
		t.Fatalf("%d handshakes, want 1: 45xx must not reconnect", n)
	}
	if _, err := c.Join(t.Context(), "r"); !errors.As(err, &ce) {
		t.Fatalf("Join after stop = %v", err)
	}
}

func TestCloseCode4xxxReconnectsHonouringRetryHint(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()
	nextEvent(t, c, isState(StateConnected))
	fc.closeWith(protocol.CloseOverloaded, "overloaded retry=300")

	ev := nextEvent(t, c, isState(StateReconnecting))
	var ce *CloseError
	if !errors.As(ev.Err, &ce) || ce.Code != protocol.CloseOverloaded {
		t.Fatalf("reconnecting because %v", ev.Err)
	}
	if ev.Delay < 300*time.Millisecond || ev.Attempt != 1 {
		t.Fatalf("delay %v attempt %d, want ≥ 300ms (the server's hint) and attempt 1", ev.Delay, ev.Attempt)
	}
	start := time.Now()
	fs.accept()
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("reconnected after %v, before the hinted 300ms", waited)
	}
	nextEvent(t, c, isState(StateConnected))
}

func TestDisableReconnectStopsOnAnyClose(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{DisableReconnect: true})
	fc := fs.accept()
	fc.closeWith(protocol.CloseDraining, "draining")
	ev := nextEvent(t, c, isState(StateClosed))
	var ce *CloseError
	if !errors.As(ev.Err, &ce) || ce.Code != protocol.CloseDraining {
		t.Fatalf("closed because %v, want 4000", ev.Err)
	}
}

func TestGapRejoinsOnTheSameConnection(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()
	joinFresh(t, c, fc, "r", "e1", 2)
	fc.batch("r", [2]uint64{1, 0}, [2]uint64{2, 1}) // recent history
	fc.batch("r", [2]uint64{3, 2})
	fc.batch("r", [2]uint64{5, 4}) // 4 is missing

	m := fc.expect(protocol.OpJoin)
	if m.Since == nil || *m.Since != 3 || m.Epoch != "e1" {
		t.Fatalf("gap rejoin = %+v, want since 3 epoch e1", m)
	}
	fc.batch("r", [2]uint64{6, 5}) // still arriving live meanwhile
	fc.joined("r", "e1", 6, true)
	fc.batch("r", [2]uint64{4, 3}, [2]uint64{5, 4}, [2]uint64{6, 5})
	fc.batch("r", [2]uint64{7, 6})
	if got := roomOffsets(t, c, "r", 7); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("delivered %v, want 1..7 once each", got)
	}
	if pos := c.Offsets()["r"]; pos != (Position{Epoch: "e1", Offset: 7}) {
		t.Fatalf("position %+v", pos)
	}
}

func TestResetWhenHistoryIsLost(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()
	joinFresh(t, c, fc, "r", "e1", 0)
	fc.batch("r", [2]uint64{1, 0}, [2]uint64{2, 1})
	roomOffsets(t, c, "r", 2)

	fc.ws.CloseNow()
	fc = fs.accept()
	fc.expect(protocol.OpJoin)
	fc.joined("r", "e2", 10, false) // the history was reset
	fc.batch("r", [2]uint64{9, 3}, [2]uint64{10, 9})

	ev := nextEvent(t, c, func(ev Event) bool { return ev.Room == "r" })
	if ev.Kind != EventReset || ev.Epoch != "e2" || ev.Offset != 10 || !errors.Is(ev.Err, ErrHistoryLost) {
		t.Fatalf("first event after rejoin = %+v, want a reset to e2@10", ev)
	}
	if got := roomOffsets(t, c, "r", 2); !slices.Equal(got, []uint64{9, 10}) {
		t.Fatalf("after reset %v, want the recent history [9 10]", got)
	}
}

func TestSendRepliesAndLostConnection(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()

	type sent struct {
		ack protocol.Ack
		err error
	}
	send := func(text string) <-chan sent {
		ch := make(chan sent, 1)
		go func() {
			ack, err := c.Send(t.Context(), "r", Comment{Text: text, Size: protocol.SizeLarge})
			ch <- sent{ack, err}
		}()
		return ch
	}

	first, second := send("a"), send("b")
	m1, m2 := fc.expect(protocol.OpSend), fc.expect(protocol.OpSend)
	if m1.ID == "" || m1.ID == m2.ID || m1.Size != protocol.SizeLarge {
		t.Fatalf("send frames %+v %+v", m1, m2)
	}
	// Replies out of order still reach the right caller.
	fc.send(protocol.Nack{Op: protocol.OpNack, ID: m2.ID, Code: protocol.CodeRateLimited, Message: "slow down", RetryAfterMs: 1500})
	fc.send(protocol.Ack{Op: protocol.OpAck, ID: m1.ID, Offset: 42, MsgID: "srv1"})
	okFor := map[string]<-chan sent{m1.Text: first, m2.Text: second}
	if r := <-okFor["a"]; r.err != nil || r.ack.Offset != 42 || r.ack.MsgID != "srv1" {
		t.Fatalf("ack = %+v", r)
	}
	r := <-okFor["b"]
	var nack *NackError
	if !errors.As(r.err, &nack) || nack.Code != protocol.CodeRateLimited || nack.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("nack = %v", r.err)
	}

	third := send("c")
	fc.expect(protocol.OpSend)
	fc.ws.CloseNow()
	if r := <-third; !errors.Is(r.err, ErrConnectionLost) {
		t.Fatalf("send on a dropped connection: %v, want ErrConnectionLost", r.err)
	}
}

func TestJoinWaitsForReconnect(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()
	fs.refuse.Store(true)
	fc.ws.CloseNow()
	nextEvent(t, c, isState(StateReconnecting))

	res := joinAsync(t.Context(), c, "r")
	time.Sleep(30 * time.Millisecond) // a few refused attempts
	fs.refuse.Store(false)
	fc = fs.accept()
	if m := fc.expect(protocol.OpJoin); m.Room != "r" || m.Since != nil {
		t.Fatalf("join = %+v", m)
	}
	fc.joined("r", "e1", 5, false)
	if r := waitResult(t, res); r.err != nil || r.joined.Offset != 5 {
		t.Fatalf("Join = %+v", r)
	}
}

func TestJoinCancelledIsUndone(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()

	ctx, cancel := context.WithCancel(t.Context())
	res := joinAsync(ctx, c, "r")
	fc.expect(protocol.OpJoin)
	cancel()
	if r := waitResult(t, res); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Join = %+v", r)
	}
	fc.expect(protocol.OpLeave)
	// Like the real server, the leave voids the join: no joined reply.
	fc.send(protocol.Left{Op: protocol.OpLeft, Room: "r"})
	if len(c.Offsets()) != 0 {
		t.Fatalf("Offsets after a cancelled join: %v", c.Offsets())
	}

	// A new join starts afresh: no reset, no stale state.
	res = joinAsync(t.Context(), c, "r")
	if m := fc.expect(protocol.OpJoin); m.Since != nil {
		t.Fatalf("join after cancel = %+v", m)
	}
	fc.joined("r", "e1", 3, false)
	waitResult(t, res)
	fc.batch("r", [2]uint64{3, 2}, [2]uint64{4, 3})
	if got := roomOffsets(t, c, "r", 2); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("offsets %v", got)
	}
}

func TestJoinRefusedAndRejoinRefused(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()

	res := joinAsync(t.Context(), c, "closed")
	fc.expect(protocol.OpJoin)
	fc.send(protocol.Error{Op: protocol.OpError, Code: protocol.CodeRoomClosed, Message: "room is closed"})
	r := waitResult(t, res)
	var ce *protocol.CodeError
	if !errors.As(r.err, &ce) || ce.Code != protocol.CodeRoomClosed {
		t.Fatalf("Join = %v, want room_closed", r.err)
	}

	res = joinAsync(t.Context(), c, "open")
	fc.expect(protocol.OpJoin)
	fc.joined("open", "e1", 0, false)
	waitResult(t, res)
	fc.ws.CloseNow()
	fc = fs.accept()
	fc.expect(protocol.OpJoin)
	fc.send(protocol.Error{Op: protocol.OpError, Code: protocol.CodeForbidden, Message: "banned from room"})
	ev := nextEvent(t, c, func(ev Event) bool { return ev.Kind == EventError })
	if ev.Room != "open" || !errors.As(ev.Err, &ce) || ce.Code != protocol.CodeForbidden {
		t.Fatalf("error event %+v", ev)
	}
	if len(c.Offsets()) != 0 {
		t.Fatalf("refused room kept: %v", c.Offsets())
	}
	if c.Err() != nil {
		t.Fatalf("a refused rejoin stopped the client: %v", c.Err())
	}
}

func TestSlowConsumerBlocksInsteadOfDropping(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{MessageBuffer: 1})
	fc := fs.accept()
	joinFresh(t, c, fc, "r", "e1", 0)
	go func() {
		for i := uint64(1); i <= 200; i++ {
			fc.batch("r", [2]uint64{i, i - 1})
		}
	}()
	time.Sleep(50 * time.Millisecond) // the read loop is blocked on a full channel
	got := roomOffsets(t, c, "r", 200)
	for i, off := range got {
		if off != uint64(i+1) {
			t.Fatalf("message %d has offset %d", i, off)
		}
	}
}

func TestCloseWhileTheConsumerIsStuck(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{MessageBuffer: 1})
	fc := fs.accept()
	joinFresh(t, c, fc, "r", "e1", 0)
	for i := uint64(1); i <= 5; i++ {
		fc.batch("r", [2]uint64{i, i - 1})
	}
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v with a stuck consumer", took)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err = %v", c.Err())
	}
}

func TestHeartbeatPingsAndReconnectsWhenTheServerIsSilent(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{PingInterval: 20 * time.Millisecond, PongTimeout: 30 * time.Millisecond})
	fs.accept() // never answers anything
	ev := nextEvent(t, c, isState(StateReconnecting))
	if !errors.Is(ev.Err, ErrHeartbeatTimeout) {
		t.Fatalf("reconnecting because %v", ev.Err)
	}
	fs.accept()
}

func TestLeaveOvertakingAJoinDoesNotConfuseTheNextJoin(t *testing.T) {
	fs := newFakeServer(t)
	c := dialFake(t, fs, Options{})
	fc := fs.accept()

	first := joinAsync(t.Context(), c, "r")
	fc.expect(protocol.OpJoin)
	left := make(chan error, 1)
	go func() { left <- c.Leave(t.Context(), "r") }()
	fc.expect(protocol.OpLeave)
	if r := waitResult(t, first); !errors.Is(r.err, ErrLeft) {
		t.Fatalf("Join overtaken by Leave = %v, want ErrLeft", r.err)
	}
	// Like the real server, the leave voids the join: only left comes back.
	fc.send(protocol.Left{Op: protocol.OpLeft, Room: "r"})
	if err := <-left; err != nil {
		t.Fatalf("Leave: %v", err)
	}

	second := joinAsync(t.Context(), c, "r")
	fc.expect(protocol.OpJoin)
	fc.joined("r", "e1", 7, false)
	if r := waitResult(t, second); r.err != nil || r.joined.Offset != 7 {
		t.Fatalf("the next Join = %+v", r)
	}
	fc.batch("r", [2]uint64{8, 7})
	if got := roomOffsets(t, c, "r", 1); !slices.Equal(got, []uint64{8}) {
		t.Fatalf("offsets %v", got)
	}
}

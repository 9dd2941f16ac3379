package client_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmaku/danmaku/client"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

// These tests run the client against the real server: gateway, logic and
// embedded NATS with JetStream, in-process on 127.0.0.1.

func TestJoinReceivesBacklogThenLiveInOrder(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	old := st.Publish(t, "lobby", "old-0", "old-1")
	c := dial(t, st.WSURL, client.Options{})
	ev := newStream(t, c)
	ev.state(client.StateConnected)

	j, err := c.Join(ctxT(t), "lobby")
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if j.Room != "lobby" || j.Epoch == "" || j.Offset != old[1] || j.Recovered {
		t.Fatalf("joined = %+v, want room lobby, an epoch, offset %d, not recovered", j, old[1])
	}
	checkStream(t, ev.messages("lobby", 2), []string{"old-0", "old-1"}, old)

	var want []string
	var offsets []uint64
	for batch := range 5 {
		tx := texts("live"+string(rune('a'+batch)), 10)
		want = append(want, tx...)
		offsets = append(offsets, st.Publish(t, "lobby", tx...)...)
	}
	got := ev.messages("lobby", len(want))
	checkStream(t, got, want, offsets)
	if got[0].Prev != old[1] {
		t.Fatalf("first live message: prev %d, want %d", got[0].Prev, old[1])
	}
	if pos := c.Offsets()["lobby"]; pos != (client.Position{Epoch: j.Epoch, Offset: offsets[len(offsets)-1]}) {
		t.Fatalf("Offsets()[lobby] = %+v", pos)
	}
	// Joining again is answered locally with the current position.
	again, err := c.Join(ctxT(t), "lobby")
	if err != nil || again.Offset != offsets[len(offsets)-1] || again.Epoch != j.Epoch {
		t.Fatalf("second Join = %+v, %v", again, err)
	}
}

func TestSendAckNackAndPing(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	c := dial(t, st.WSURL, client.Options{})
	ev := newStream(t, c)
	if _, err := c.Join(ctxT(t), "chat"); err != nil {
		t.Fatal(err)
	}

	ack, err := c.Send(ctxT(t), "chat", client.Comment{Text: "hello", Color: "#FF0000", Mode: protocol.ModeTop})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if ack.Offset == 0 || ack.MsgID == "" || ack.ID == "" {
		t.Fatalf("ack = %+v", ack)
	}
	m := ev.messages("chat", 1)[0]
	if m.Offset != ack.Offset || m.ID != ack.MsgID || m.Text != "hello" || m.EffectiveColor() != "#ff0000" || m.EffectiveMode() != protocol.ModeTop {
		t.Fatalf("delivered %+v for ack %+v", m, ack)
	}

	_, err = c.SendText(ctxT(t), "chat", strings.Repeat("长", 101))
	var nack *client.NackError
	if !errors.As(err, &nack) || nack.Code != protocol.CodeTooLong {
		t.Fatalf("101-rune send: err = %v, want a too_long NackError", err)
	}
	var ce *protocol.CodeError
	if !errors.As(err, &ce) || ce.Code != protocol.CodeTooLong {
		t.Fatalf("a NackError must unwrap to *protocol.CodeError: %v", err)
	}

	_, err = c.SendText(ctxT(t), "elsewhere", "hi")
	if !errors.As(err, &nack) || nack.Code != protocol.CodeNotJoined {
		t.Fatalf("send to a room not joined: err = %v, want a not_joined NackError", err)
	}

	rtt, err := c.Ping(ctxT(t))
	if err != nil || rtt <= 0 || rtt > waitTimeout {
		t.Fatalf("Ping = %v, %v", rtt, err)
	}
}

func TestLeaveStopsTheRoom(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	c := dial(t, st.WSURL, client.Options{})
	ev := newStream(t, c)
	for _, room := range []string{"a", "b"} {
		if _, err := c.Join(ctxT(t), room); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Leave(ctxT(t), "a"); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := c.Leave(ctxT(t), "a"); !errors.Is(err, client.ErrNotJoined) {
		t.Fatalf("second Leave: %v, want ErrNotJoined", err)
	}
	st.Publish(t, "a", "not for us")
	offsets := st.Publish(t, "b", "for us")
	checkStream(t, ev.messages("b", 1), []string{"for us"}, offsets)
	ev.quiet("a", 200*time.Millisecond)
	if _, ok := c.Offsets()["a"]; ok {
		t.Fatal("a left room still has an offset")
	}
}

func TestTooManyRoomsRefusesTheLatestJoins(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{Gateway: gateway.Config{MaxRoomsPerConn: 2}})
	c := dial(t, st.WSURL, client.Options{})
	ev := newStream(t, c)

	// Concurrent joins: the server admits two and refuses two at once,
	// while the admitted ones are still reading history.
	rooms := []string{"r1", "r2", "r3", "r4"}
	errs := make([]error, len(rooms))
	var wg sync.WaitGroup
	for i, room := range rooms {
		wg.Go(func() { _, errs[i] = c.Join(ctxT(t), room) })
	}
	wg.Wait()
	var joined []string
	for i, err := range errs {
		var ce *protocol.CodeError
		switch {
		case err == nil:
			joined = append(joined, rooms[i])
		case errors.As(err, &ce) && ce.Code == protocol.CodeTooManyRooms:
		default:
			t.Fatalf("Join %s: %v", rooms[i], err)
		}
	}
	if len(joined) != 2 {
		t.Fatalf("joined %v, want exactly 2 of 4", joined)
	}
	if got := len(c.Offsets()); got != 2 {
		t.Fatalf("Offsets has %d rooms, want 2", got)
	}
	// The joins that succeeded really are joined on the server.
	for _, room := range joined {
		offsets := st.Publish(t, room, "in "+room)
		checkStream(t, ev.messages(room, 1), []string{"in " + room}, offsets)
	}
}

func TestBroadcastArrives(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	c := dial(t, st.WSURL, client.Options{})
	ev := newStream(t, c)
	ev.state(client.StateConnected)
	if _, err := c.Ping(ctxT(t)); err != nil { // the connection is registered
		t.Fatal(err)
	}
	status, body := st.Do(t, http.MethodPost, "/v1/broadcast", protocol.PublishRequest{
		Messages: []protocol.PublishMessage{{Type: protocol.TypeSystem, Text: "maintenance at noon"}},
	})
	if status != http.StatusOK {
		t.Fatalf("broadcast: HTTP %d %s", status, body)
	}
	got := ev.next("broadcast", func(e client.Event) bool { return e.Kind == client.EventBroadcast })
	if got.Message.Text != "maintenance at noon" || got.Message.Type != protocol.TypeSystem {
		t.Fatalf("broadcast = %+v", got.Message)
	}
}

func TestResumeAfterConnectionCutHasNoDuplicateOrGap(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	p := startProxy(t, strings.TrimPrefix(st.URL, "http://"))
	c := dial(t, p.URL(), client.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ev := newStream(t, c)
	j, err := c.Join(ctxT(t), "live")
	if err != nil {
		t.Fatal(err)
	}
	want := texts("before", 10)
	offsets := st.Publish(t, "live", want...)
	got := ev.messages("live", 10)

	// The server writes these into a dead path, then the path is cut: the
	// client never saw them and must get them from the resume.
	p.freezeAll()
	lost := texts("lost", 10)
	want = append(want, lost...)
	offsets = append(offsets, st.Publish(t, "live", lost...)...)
	time.Sleep(100 * time.Millisecond)
	p.cutAll()
	during := texts("during", 10)
	want = append(want, during...)
	offsets = append(offsets, st.Publish(t, "live", during...)...)

	ev.state(client.StateConnected)
	after := texts("after", 10)
	want = append(want, after...)
	offsets = append(offsets, st.Publish(t, "live", after...)...)
	got = append(got, ev.messages("live", 30)...)
	checkStream(t, got, want, offsets)
	ev.quiet("live", 200*time.Millisecond) // and nothing twice
	if !ev.sawState(client.StateReconnecting, nil) {
		t.Fatal("no reconnecting event")
	}
	if pos := c.Offsets()["live"]; pos.Epoch != j.Epoch || pos.Offset != offsets[len(offsets)-1] {
		t.Fatalf("position after resume = %+v", pos)
	}
}

func TestHeartbeatDetectsADeadPath(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	p := startProxy(t, strings.TrimPrefix(st.URL, "http://"))
	c := dial(t, p.URL(), client.Options{
		PingInterval: 100 * time.Millisecond,
		PongTimeout:  300 * time.Millisecond,
		MinBackoff:   10 * time.Millisecond,
	})
	ev := newStream(t, c)
	ev.state(client.StateConnected)
	if _, err := c.Join(ctxT(t), "hb"); err != nil {
		t.Fatal(err)
	}
	// Pings keep a healthy connection up well past the timeout.
	ev.quiet("hb", 600*time.Millisecond)
	if ev.sawState(client.StateReconnecting, nil) {
		t.Fatalf("reconnected on a healthy connection: %s", describe(ev.skipped))
	}

	start := time.Now()
	p.freezeAll()
	rc := ev.state(client.StateReconnecting)
	if !errors.Is(rc.Err, client.ErrHeartbeatTimeout) {
		t.Fatalf("reconnecting because %v, want ErrHeartbeatTimeout", rc.Err)
	}
	// The silence timer runs from the last frame, so detection takes at most
	// PingInterval+PongTimeout (400ms) plus scheduling.
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("dead path detected after %v, want about 400ms at most", took)
	}
	ev.state(client.StateConnected)
	offsets := st.Publish(t, "hb", "still here")
	checkStream(t, ev.messages("hb", 1), []string{"still here"}, offsets)
}

func TestResumeAcrossServerRestart(t *testing.T) {
	const dead = "ws://127.0.0.1:1/ws" // nothing listens on port 1
	for _, tc := range []struct {
		name string
		urls func(node string) []string
	}{
		{"one URL", func(node string) []string { return []string{node} }},
		// The drain sends the client to the dead URL first: the only other.
		{"beside a dead URL", func(node string) []string { return []string{dead, node} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := stacktest.Start(t, stacktest.Options{DrainTimeout: 100 * time.Millisecond})
			urls := tc.urls(st.WSURL)
			c := dialAny(t, urls, client.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond})
			ev := newStream(t, c)
			j, err := c.Join(ctxT(t), "persist")
			if err != nil {
				t.Fatal(err)
			}
			want := texts("before", 20)
			offsets := st.Publish(t, "persist", want...)
			got := ev.messages("persist", 20)

			st.Restart(t)
			// Published right after the restart: the client may not be back
			// yet, in which case the resume brings them.
			after := texts("after", 20)
			want = append(want, after...)
			offsets = append(offsets, st.Publish(t, "persist", after...)...)
			got = append(got, ev.messages("persist", 20)...)
			checkStream(t, got, want, offsets)
			ev.quiet("persist", 200*time.Millisecond)

			drain := slices.IndexFunc(ev.skipped, func(e client.Event) bool {
				return e.Kind == client.EventState && e.State == client.StateReconnecting && isCloseCode(protocol.CloseDraining)(e.Err)
			})
			if drain < 0 {
				t.Fatalf("want a reconnect caused by 4000 (drain): %s", describe(ev.skipped))
			}
			if e := ev.skipped[drain]; len(urls) > 1 && (e.URL != dead || e.Delay != 0) {
				t.Fatalf("after the drain: next attempt on %s after %v, want the other URL, %s, at once", e.URL, e.Delay, dead)
			}
			if pos := c.Offsets()["persist"]; pos.Epoch != j.Epoch {
				t.Fatalf("epoch changed across restart: %q → %q", j.Epoch, pos.Epoch)
			}
			for _, e := range ev.skipped {
				if e.Kind == client.EventReset {
					t.Fatalf("reset across a restart that kept history: %v", e.Err)
				}
				if e.Kind == client.EventState && e.State == client.StateConnected && e.URL != st.WSURL {
					t.Fatalf("connected to %s", e.URL)
				}
			}
		})
	}
}

func TestCloseStopsTheClient(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	c := dial(t, st.WSURL, client.Options{})
	if _, err := c.Join(ctxT(t), "bye"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	for range c.Events() { // drains, then ends: the channel is closed
	}
	if !errors.Is(c.Err(), client.ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", c.Err())
	}
	if _, err := c.SendText(ctxT(t), "bye", "x"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if _, err := c.Join(ctxT(t), "bye2"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Join after Close: %v", err)
	}
	c.Close() // twice is fine
}

func TestDialErrors(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	// This server does not verify tokens yet and refuses every one; a
	// server that does answers a bad one the same way, plus 4501.
	_, err := client.Dial(ctxT(t), st.WSURL, client.Options{Token: "not-a-jwt"})
	var ce *protocol.CodeError
	if !errors.Is(err, client.ErrAuthRefused) || !errors.As(err, &ce) || ce.Code != protocol.CodeUnauthorized {
		t.Fatalf("Dial with a refused token: %v", err)
	}

	_, err = client.Dial(ctxT(t), "ws://127.0.0.1:1/ws", client.Options{})
	if err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
}

func TestCloseOnADeadPathIsBounded(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	p := startProxy(t, strings.TrimPrefix(st.URL, "http://"))
	c := dial(t, p.URL(), client.Options{})
	if _, err := c.Join(ctxT(t), "x"); err != nil {
		t.Fatal(err)
	}
	p.freezeAll()
	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Close took %v on a dead path", took)
	}
}

package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/client"
	"github.com/danmaku/danmaku/protocol"
)

// waitTimeout bounds every wait for an event; the stack runs in-process, so
// anything slower is a bug.
const waitTimeout = 15 * time.Second

// dial connects a client that logs to the test and is closed at cleanup.
func dial(t *testing.T, url string, opts client.Options) *client.Client {
	t.Helper()
	return dialAny(t, []string{url}, opts)
}

// dialAny is dial with several URLs.
func dialAny(t *testing.T, urls []string, opts client.Options) *client.Client {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	c, err := client.DialAny(ctx, urls, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// stream reads a client's events for a test, remembering the ones it
// skipped so that tests can check them afterwards.
type stream struct {
	t       *testing.T
	c       *client.Client
	skipped []client.Event
}

func newStream(t *testing.T, c *client.Client) *stream { return &stream{t: t, c: c} }

// next returns the next event matching keep, recording the others.
func (s *stream) next(what string, keep func(client.Event) bool) client.Event {
	s.t.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-s.c.Events():
			if !ok {
				s.t.Fatalf("events closed while waiting for %s (client err %v)", what, s.c.Err())
			}
			if keep(ev) {
				return ev
			}
			s.skipped = append(s.skipped, ev)
		case <-timeout.C:
			s.t.Fatalf("no %s within %v; skipped %s", what, waitTimeout, describe(s.skipped))
		}
	}
}

// state waits for a state change to st.
func (s *stream) state(st client.State) client.Event {
	s.t.Helper()
	return s.next("state "+st.String(), func(ev client.Event) bool {
		return ev.Kind == client.EventState && ev.State == st
	})
}

// messages waits for n messages of room. A reset of the room fails the
// test: every test using it expects continuity.
func (s *stream) messages(room string, n int) []protocol.Message {
	s.t.Helper()
	var out []protocol.Message
	for len(out) < n {
		ev := s.next(fmt.Sprintf("message %d of %d in %s", len(out)+1, n, room), func(ev client.Event) bool {
			return ev.Kind == client.EventMessage && ev.Room == room || ev.Kind == client.EventReset
		})
		if ev.Kind == client.EventReset {
			s.t.Fatalf("unexpected reset of %s: %v", ev.Room, ev.Err)
		}
		out = append(out, ev.Message)
	}
	return out
}

// quiet asserts that no message of room arrives within d.
func (s *stream) quiet(room string, d time.Duration) {
	s.t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case ev := <-s.c.Events():
			if ev.Kind == client.EventMessage && ev.Room == room {
				s.t.Fatalf("unexpected message in %s: %+v", room, ev.Message)
			}
			s.skipped = append(s.skipped, ev)
		case <-deadline.C:
			return
		}
	}
}

// sawState reports whether a skipped event was a change to st whose error
// matches match (nil matches anything).
func (s *stream) sawState(st client.State, match func(error) bool) bool {
	for _, ev := range s.skipped {
		if ev.Kind == client.EventState && ev.State == st && (match == nil || match(ev.Err)) {
			return true
		}
	}
	return false
}

func describe(evs []client.Event) string {
	var b strings.Builder
	for i, ev := range evs {
		if i == 20 {
			fmt.Fprintf(&b, " …(%d more)", len(evs)-i)
			break
		}
		fmt.Fprintf(&b, " %s", ev.Kind)
		switch ev.Kind {
		case client.EventState:
			fmt.Fprintf(&b, "(%s %v)", ev.State, ev.Err)
		case client.EventMessage:
			fmt.Fprintf(&b, "(%s@%d)", ev.Room, ev.Message.Offset)
		case client.EventError, client.EventReset:
			fmt.Fprintf(&b, "(%s %v)", ev.Room, ev.Err)
		}
	}
	return "[" + b.String() + " ]"
}

// checkStream fails unless msgs are exactly the published texts at the
// published offsets, in order, each continuing the previous one.
func checkStream(t *testing.T, msgs []protocol.Message, texts []string, offsets []uint64) {
	t.Helper()
	if len(msgs) != len(texts) || len(texts) != len(offsets) {
		t.Fatalf("got %d messages, published %d texts at %d offsets", len(msgs), len(texts), len(offsets))
	}
	for i, m := range msgs {
		if m.Text != texts[i] || m.Offset != offsets[i] {
			t.Fatalf("message %d: %q at %d, want %q at %d", i, m.Text, m.Offset, texts[i], offsets[i])
		}
		if i > 0 && m.Prev != msgs[i-1].Offset {
			t.Fatalf("message %d at %d: prev %d, want %d", i, m.Offset, m.Prev, msgs[i-1].Offset)
		}
	}
}

// texts returns n distinct texts starting with prefix.
func texts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func isCloseCode(code int) func(error) bool {
	return func(err error) bool {
		var ce *client.CloseError
		return errors.As(err, &ce) && ce.Code == code
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

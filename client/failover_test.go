package client

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/protocol"
)

// The tests of DialAny against fake servers on real sockets: which server
// the client lands on, and what it says there.

func TestDrainMovesToAnotherURLAtOnceAndResumes(t *testing.T) {
	a, b, c3 := newFakeServer(t), newFakeServer(t), newFakeServer(t)
	// Start at a. Any wait the backoff chose would outlast the test.
	c := dialFakes(t, Options{random: fixedRandom(0, 0.99), MinBackoff: time.Minute, MaxBackoff: time.Minute}, a, b, c3)
	fc := a.accept()
	joinFresh(t, c, fc, "r", "e1", 0)
	fc.batch("r", [2]uint64{1, 0}, [2]uint64{2, 1})
	if got := roomOffsets(t, c, "r", 2); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("offsets %v", got)
	}

	fc.closeWith(protocol.CloseDraining, "server draining; reconnect")
	ev := nextEvent(t, c, isState(StateReconnecting))
	if ev.Delay != 0 || ev.URL != b.url() {
		t.Fatalf("after a drain: next attempt on %s after %v, want %s at once", ev.URL, ev.Delay, b.url())
	}
	if ev := nextEvent(t, c, isState(StateConnected)); ev.URL != b.url() {
		t.Fatalf("connected to %s, want %s", ev.URL, b.url())
	}
	fc = b.accept()
	m := fc.expect(protocol.OpJoin)
	if m.Room != "r" || m.Since == nil || *m.Since != 2 || m.Epoch != "e1" {
		t.Fatalf("join on the other node = %+v, want since 2 epoch e1", m)
	}
	fc.joined("r", "e1", 4, true)
	fc.batch("r", [2]uint64{2, 1}, [2]uint64{3, 2}, [2]uint64{4, 3})
	if got := roomOffsets(t, c, "r", 2); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("offsets after moving %v, want [3 4]", got)
	}
	if n := a.handshakes.Load(); n != 1 {
		t.Fatalf("the drained node saw %d handshakes, want 1", n)
	}
}

func TestURLRefusingWithRetryAfterIsSkippedWhileItHolds(t *testing.T) {
	a, b, c3 := newFakeServer(t), newFakeServer(t), newFakeServer(t)
	b.refuse.Store(true)
	b.retryAfter.Store(60)
	dialFakes(t, Options{random: fixedRandom(0)}, a, b, c3) // starts at a, no jitter

	a.accept().ws.CloseNow()
	c3.accept().ws.CloseNow() // after b refused
	a.accept().ws.CloseNow()  // round the list again
	c3.accept()               // b still asks to wait: skipped
	if n := b.handshakes.Load(); n != 1 {
		t.Fatalf("b saw %d handshakes, want 1: its Retry-After: 60 holds", n)
	}
}

func TestOverloadCloseHoldsItsURLBackWhileOthersAreTried(t *testing.T) {
	a, b, c3 := newFakeServer(t), newFakeServer(t), newFakeServer(t)
	c := dialFakes(t, Options{random: fixedRandom(0)}, a, b, c3)

	a.accept().closeWith(protocol.CloseOverloaded, "retry=60000 message flood")
	if ev := nextEvent(t, c, isState(StateReconnecting)); ev.URL != b.url() || ev.Delay != 0 {
		t.Fatalf("after 4013 retry=60000: next attempt on %s after %v, want %s, which no hint holds, at once", ev.URL, ev.Delay, b.url())
	}
	b.accept().ws.CloseNow()
	c3.accept().ws.CloseNow()
	b.accept() // a still asks to wait: skipped
	if n := a.handshakes.Load(); n != 1 {
		t.Fatalf("a saw %d handshakes, want 1: its retry=60000 holds", n)
	}
}

func TestDialAnyTriesEveryURLOnceThenFails(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	a.refuse.Store(true)
	b.refuse.Store(true)
	_, err := DialAny(t.Context(), []string{a.url(), b.url()}, Options{random: fixedRandom(0.9)})
	if err == nil || !strings.Contains(err.Error(), a.url()) || !strings.Contains(err.Error(), b.url()) {
		t.Fatalf("DialAny = %v, want an error naming both URLs", err)
	}
	if na, nb := a.handshakes.Load(), b.handshakes.Load(); na != 1 || nb != 1 {
		t.Fatalf("handshakes a=%d b=%d, want one each", na, nb)
	}
	if _, err := DialAny(t.Context(), nil, Options{}); err == nil {
		t.Fatal("DialAny with no URL succeeded")
	}

	b.refuse.Store(false)
	c, err := DialAny(t.Context(), []string{a.url(), b.url()}, Options{random: fixedRandom(0)})
	if err != nil {
		t.Fatalf("DialAny with b up: %v", err)
	}
	defer c.Close()
	b.accept()
	if ev := nextEvent(t, c, isState(StateConnected)); ev.URL != b.url() {
		t.Fatalf("connected to %s, want %s", ev.URL, b.url())
	}
}

// The tests of DialAny's timing, on the fake clock.

// reconnects returns the next n StateReconnecting events of c, each with
// the fake time it came at, and closes c.
func reconnects(t *testing.T, c *Client, n int) (evs []Event, at []time.Time) {
	t.Helper()
	for ev := range c.Events() {
		if ev.Kind == EventState && ev.State == StateReconnecting {
			evs = append(evs, ev)
			at = append(at, time.Now())
			if len(evs) == n {
				break
			}
		}
	}
	c.Close()
	if len(evs) < n {
		t.Fatalf("client stopped after %d reconnects (err %v)", len(evs), c.Err())
	}
	return evs, at
}

func TestReconnectScheduleOverSeveralURLs(t *testing.T) {
	urls := []string{"ws://a/ws", "ws://b/ws", "ws://c/ws"}
	jitter := []float64{0.9, 0.1, 0.5, 0.7, 0.3, 0.99, 0.2, 0.6, 0.4, 0.8, 0.05, 0.5}
	second := time.Second
	// MinBackoff 1s, MaxBackoff 4s: the ceiling doubles after each round of
	// three attempts.
	ceilings := []time.Duration{second, second, second, 2 * second, 2 * second, 2 * second, 4 * second, 4 * second, 4 * second, 4 * second, 4 * second, 4 * second}
	for _, tc := range []struct {
		name string
		// serve sets up the hosts; a is where the client first connects.
		serve func(t *testing.T, h *pipeHosts)
		// hurried is how many reconnects skip the backoff.
		hurried int
		// reconnected: every attempt connects, so each one is attempt 1.
		reconnected bool
	}{{
		name: "every URL down",
		serve: func(t *testing.T, h *pipeHosts) {
			h.serve(t, "a", func(*websocket.Conn) { h.down("a") }) // dies after one connection
		},
	}, {
		name: "every node drains at once",
		serve: func(t *testing.T, h *pipeHosts) {
			for _, host := range []string{"a", "b", "c"} {
				h.serve(t, host, func(ws *websocket.Conn) { ws.Close(protocol.CloseDraining, "server draining; reconnect") })
			}
		},
		// Each drain moves on at once until a whole round has failed.
		hurried:     3,
		reconnected: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newPipeHosts()
				tc.serve(t, h)
				opts := h.options()
				opts.random = fixedRandom(append([]float64{0}, jitter...)...) // start at a
				opts.MinBackoff, opts.MaxBackoff = time.Second, 4*time.Second
				c, err := DialAny(t.Context(), urls, opts)
				if err != nil {
					t.Fatal(err)
				}
				evs, at := reconnects(t, c, len(jitter))
				for k, ev := range evs {
					want := time.Duration(jitter[k] * float64(ceilings[k]))
					if k < tc.hurried {
						want = 0
					}
					attempt := k + 1
					if tc.reconnected {
						attempt = 1
					}
					if next := urls[(k+1)%3]; ev.URL != next || ev.Delay != want || ev.Attempt != attempt {
						t.Errorf("reconnect %d: attempt %d on %s after %v, want attempt %d on %s after %v", k+1, ev.Attempt, ev.URL, ev.Delay, attempt, next, want)
					}
					if k > 0 && at[k].Sub(at[k-1]) != evs[k-1].Delay {
						t.Errorf("reconnect %d came %v after the previous, which announced %v", k+1, at[k].Sub(at[k-1]), evs[k-1].Delay)
					}
				}
			})
		})
	}
}

func TestRetryHintsHoldURLsBackOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var overloaded, refused []time.Time // when a closed with 4013, when b refused
		h := newPipeHosts()
		h.serve(t, "a", func(ws *websocket.Conn) {
			mu.Lock()
			overloaded = append(overloaded, time.Now())
			mu.Unlock()
			ws.Close(protocol.CloseOverloaded, "retry=5000 message flood")
		})
		h.serveHTTP(t, "b", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			refused = append(refused, time.Now())
			mu.Unlock()
			w.Header().Set("Retry-After", "3")
			http.Error(w, "server full", http.StatusServiceUnavailable)
		}))
		// c is down.
		opts := h.options()
		opts.random = fixedRandom(0, 0.5)
		opts.MinBackoff, opts.MaxBackoff = time.Second, 2*time.Second
		start := time.Now()
		c, err := DialAny(t.Context(), []string{"ws://a/ws", "ws://b/ws", "ws://c/ws"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		evs, at := reconnects(t, c, 30)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()

		if len(overloaded) < 3 || len(refused) < 3 {
			t.Fatalf("a was tried %d times and b %d in %v; the hints must delay them, not bar them", len(overloaded), len(refused), at[len(at)-1].Sub(start))
		}
		for _, tc := range []struct {
			name  string
			times []time.Time
			hint  time.Duration
		}{{"a after 4013 retry=5000", overloaded, 5 * time.Second}, {"b after Retry-After: 3", refused, 3 * time.Second}} {
			for i := 1; i < len(tc.times); i++ {
				if gap := tc.times[i].Sub(tc.times[i-1]); gap < tc.hint {
					t.Errorf("%s: tried again after %v", tc.name, gap)
				}
			}
		}
		// While a and b were held, the client kept to c.
		onC := 0
		for k, ev := range evs {
			if ev.URL == "ws://c/ws" && at[k].Add(ev.Delay).Before(overloaded[1]) {
				onC++
			}
		}
		if onC < 2 {
			t.Errorf("%d attempts on c before a's hint ran out, want the free URL tried meanwhile", onC)
		}
	})
}

func TestOneURLRefusedWithRetryAfterWaitsItOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newPipeHosts()
		var accepted atomic.Bool
		h.serveHTTP(t, "lb", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if accepted.Swap(true) {
				w.Header().Set("Retry-After", "7")
				http.Error(w, "server draining", http.StatusServiceUnavailable)
				return
			}
			ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{protocol.Subprotocol}})
			if err == nil {
				ws.CloseNow()
			}
		}))
		opts := h.options()
		opts.random = fixedRandom(0.5)
		opts.MinBackoff, opts.MaxBackoff = time.Second, 20*time.Second
		c, err := Dial(t.Context(), "ws://lb/ws", opts)
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := reconnects(t, c, 2)
		if evs[0].Delay != 500*time.Millisecond || evs[1].Delay != 7*time.Second {
			t.Fatalf("delays %v, %v; want 500ms (jitter), then the 7s of Retry-After", evs[0].Delay, evs[1].Delay)
		}
	})
}

func TestRandomStartSpreadsClientsOverURLs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		urls := []string{"ws://a/ws", "ws://b/ws", "ws://c/ws"}
		h := newPipeHosts()
		for _, host := range []string{"a", "b", "c"} {
			h.serve(t, host, readAll)
		}
		landings := func(random func(i int) func() float64) map[string]int {
			got := make(map[string]int)
			for i := range 100 {
				opts := h.options()
				opts.random = random(i)
				c, err := DialAny(t.Context(), urls, opts)
				if err != nil {
					t.Fatal(err)
				}
				got[(<-c.Events()).URL]++ // StateConnected
				c.Close()
			}
			return got
		}
		seeded := landings(func(i int) func() float64 { return rand.New(rand.NewPCG(1, uint64(i))).Float64 })
		for _, u := range urls {
			if seeded[u] < 20 {
				t.Errorf("seeded: %v; want each of the 3 URLs to get about a third of 100 clients", seeded)
				break
			}
		}
		if got := landings(func(int) func() float64 { return nil }); len(got) < 2 {
			t.Errorf("default source: %v; 100 clients all started at one URL", got)
		}
	})
}

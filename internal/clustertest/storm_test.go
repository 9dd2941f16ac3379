package clustertest_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/danmaku/danmaku/client"
	"github.com/danmaku/danmaku/internal/clustertest"
)

// watched is one SDK client and what it saw.
type watched struct {
	c *client.Client

	mu        sync.Mutex
	url       string    // the node it is connected to
	connected time.Time // when it last connected
	resets    int
	offsets   []uint64
}

func watch(t *testing.T, urls []string, room string) *watched {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The first dial fails if every gateway refuses it (the connection
	// rate of this test is low); a viewer would try again, so does this.
	var c *client.Client
	var err error
	for c == nil {
		c, err = client.DialAny(ctx, urls, client.Options{MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second})
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("dial: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	w := &watched{c: c}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range c.Events() {
			w.mu.Lock()
			switch {
			case ev.Kind == client.EventState && ev.State == client.StateConnected:
				w.url, w.connected = ev.URL, time.Now()
			case ev.Kind == client.EventReset:
				w.resets++
			case ev.Kind == client.EventMessage:
				w.offsets = append(w.offsets, ev.Message.Offset)
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = c.Close(); <-done })
	if _, err := c.Join(ctx, room); err != nil {
		t.Fatalf("join: %v", err)
	}
	return w
}

func (w *watched) state() (string, time.Time, int, []uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.url, w.connected, w.resets, slices.Clone(w.offsets)
}

// The viewers of a killed gateway all come back at once: the survivor's
// connection-rate limit refuses the excess with 503 + Retry-After, the
// clients back off with jitter and land within seconds, each resuming
// without a reset, and the survivor's own viewers see their latency back
// to normal once the storm has passed.
func TestReconnectStormIsAbsorbed(t *testing.T) {
	nats := clustertest.StartNATS(t, 1)
	common := []string{"--nats-url", nats.URL(), "--user-id-key", clustertest.UserIDKey}
	logic := clustertest.StartNode(t, "logic", "logic", append(common, "--api-key", clustertest.APIKey)...)
	limits := []string{"--conn-rate", "50", "--conn-burst", "20", "--max-conns-per-ip", "0"}
	gws := []*clustertest.Node{
		clustertest.StartNode(t, "gateway-0", "gateway", append(common, limits...)...),
		clustertest.StartNode(t, "gateway-1", "gateway", append(common, limits...)...),
	}
	urls := []string{gws[0].WSURL(), gws[1].WSURL()}
	const room, viewers = "storm", 200
	var all []*watched
	for range viewers {
		all = append(all, watch(t, urls, room))
	}
	var probe *clustertest.Viewer
	if err := retry(20*time.Second, func() (err error) {
		probe, err = clustertest.Dial(t, gws[1].WSURL()) // 503 while over the rate
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := probe.Join(room, nil, ""); err != nil {
		t.Fatal(err)
	}
	latency := func(n int) time.Duration { // the probe's median publish→receive
		var ds []time.Duration
		for i := range n {
			// Past the batch window, so that each probe finds the room idle
			// and measures the delivery, not the merge.
			time.Sleep(60 * time.Millisecond)
			before := len(probe.Messages(room))
			start := time.Now()
			if _, err := logic.Publish(t, room, fmt.Sprintf("probe %d", i)); err != nil {
				t.Fatal(err)
			}
			if _, err := probe.WaitMessages(room, before+1, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	baseline := latency(20)

	onVictim := 0
	for _, w := range all {
		if url, _, _, _ := w.state(); url == urls[0] {
			onVictim++
		}
	}
	if onVictim < viewers/5 {
		t.Fatalf("only %d of %d viewers started on gateway-0; the random start should spread them", onVictim, viewers)
	}
	refusedBefore := gws[1].Metric(t, `danmaku_handshake_errors_total{reason="conn_rate"}`)
	gws[0].Kill()
	killed := time.Now()
	// Messages published during the storm must reach every viewer.
	if _, err := logic.Publish(t, room, "during the storm"); err != nil {
		t.Fatal(err)
	}
	var back time.Duration
	for i, w := range all {
		deadline := time.Now().Add(60 * time.Second)
		for {
			url, at, _, _ := w.state()
			if url == urls[1] { // viewers already there count too
				if at.After(killed) {
					back = max(back, at.Sub(killed))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("viewer %d is not back on gateway-1 (on %s)", i, url)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	refused := gws[1].Metric(t, `danmaku_handshake_errors_total{reason="conn_rate"}`) - max(refusedBefore, 0)
	after := latency(20)
	t.Logf("%d viewers of the killed gateway back after %s; the survivor refused %.0f handshakes over its rate; probe latency p50 %s before, %s after",
		onVictim, back.Round(10*time.Millisecond), refused, baseline.Round(100*time.Microsecond), after.Round(100*time.Microsecond))
	if refused <= 0 {
		t.Errorf("the connection-rate limit refused nothing: the storm was not absorbed by it")
	}
	if back > 15*time.Second {
		t.Errorf("the last viewer came back after %s", back)
	}
	if after > 2*baseline+50*time.Millisecond {
		t.Errorf("the survivors' latency did not recover: p50 %s after the storm, %s before", after, baseline)
	}
	// Everyone has every message, once and in order, and no one had to
	// start over: the resumes recovered.
	want := len(probe.Messages(room))
	for i, w := range all {
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, _, resets, offs := w.state()
			if resets > 0 {
				t.Fatalf("viewer %d had %d resets: a resume did not recover", i, resets)
			}
			if len(offs) >= want {
				if !slices.IsSorted(offs) || len(slices.Compact(slices.Clone(offs))) != len(offs) {
					t.Fatalf("viewer %d: offsets out of order or repeated", i)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("viewer %d has %d messages, the probe %d", i, len(offs), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

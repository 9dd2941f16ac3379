package clustertest_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/protocol"
)

// publisher publishes through the nodes in turn until stopped, keeping the
// offsets that were acknowledged.
type publisher struct {
	mu    sync.Mutex
	acked map[uint64]bool
	fails int
	stop  chan struct{}
	done  chan struct{}
}

func startPublisher(t *testing.T, nodes []*clustertest.Node, room string, every time.Duration) *publisher {
	p := &publisher{acked: map[uint64]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			case <-time.After(every):
			}
			n := nodes[i%len(nodes)]
			if n.Exited() {
				continue // a load balancer would not send it there either
			}
			offsets, err := n.Publish(t, room, fmt.Sprintf("m%d-a", i), fmt.Sprintf("m%d-b", i))
			p.mu.Lock()
			if err != nil {
				p.fails++
			}
			for _, o := range offsets {
				p.acked[o] = true
			}
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *publisher) finish() (map[uint64]bool, int) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked, p.fails
}

// SIGKILL one node of three while messages are published through all of
// them: no acknowledged message is lost, and the killed node's viewers
// resume on the others with recovered:true, no gap and no duplicate.
func TestKillOneNodeLosesNothing(t *testing.T) {
	nodes := clustertest.EmbeddedCluster(t, 3)
	const room = "live"
	type watcher struct {
		v    *clustertest.Viewer
		node int
		seen []protocol.Message // messages from connections that ended
	}
	var watchers []*watcher
	for i := range 6 {
		w := &watcher{v: clustertest.MustDial(t, nodes[i%3].WSURL()), node: i % 3}
		if _, err := w.v.Join(room, nil, ""); err != nil {
			t.Fatal(err)
		}
		watchers = append(watchers, w)
	}
	pub := startPublisher(t, nodes, room, 10*time.Millisecond)
	time.Sleep(time.Second)

	victim := nodes[2]
	victim.Kill()
	killed := time.Now()
	survivors := nodes[:2]
	var back time.Duration
	for i, w := range watchers {
		if w.node != 2 {
			continue
		}
		<-w.v.Closed()
		w.seen = w.v.Messages(room)
		since, err := w.v.Last(room)
		if err != nil {
			t.Fatalf("viewer %d got nothing before the kill", i)
		}
		epoch := w.v.Epoch(room)
		w.node = i % 2
		w.v = clustertest.MustDial(t, survivors[w.node].WSURL())
		j, err := w.v.Join(room, &since, epoch)
		if err != nil {
			t.Fatalf("viewer %d rejoining on %s: %v", i, survivors[w.node].Name, err)
		}
		if !j.Recovered {
			t.Fatalf("viewer %d resumed on %s without recovery (epoch %q → %q)", i, survivors[w.node].Name, epoch, j.Epoch)
		}
		back = max(back, time.Since(killed))
	}
	time.Sleep(time.Second)
	acked, fails := pub.finish()
	t.Logf("%d messages acknowledged, %d publish requests failed around the kill; viewers back after %s",
		len(acked), fails, back.Round(10*time.Millisecond))
	if back > 10*time.Second {
		t.Errorf("viewers took %s to come back", back)
	}

	// Wait until every viewer has the newest acknowledged message.
	newest := uint64(0)
	for o := range acked {
		newest = max(newest, o)
	}
	for i, w := range watchers {
		deadline := time.Now().Add(20 * time.Second)
		for {
			// What it got before the kill counts: if nothing was published
			// after it resumed, its new connection has nothing to add.
			last, _ := w.v.Last(room)
			if n := len(w.seen); n > 0 {
				last = max(last, w.seen[n-1].Offset)
			}
			if last >= newest {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("viewer %d stopped at offset %d, newest acknowledged %d", i, last, newest)
			}
			time.Sleep(10 * time.Millisecond)
		}
		all := append(w.seen, w.v.Messages(room)...)
		if err := clustertest.CheckChain(all); err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
		got := map[uint64]bool{}
		for _, m := range all {
			got[m.Offset] = true
		}
		for o := range acked {
			if !got[o] {
				t.Fatalf("viewer %d never got acknowledged offset %d", i, o)
			}
		}
	}
	// The store lost nothing either: every acknowledged offset is in the
	// history that a survivor serves.
	status, body := survivors[0].Do(t, "GET", fmt.Sprintf("/v1/rooms/%s/messages?limit=1000", room), nil)
	if status != 200 {
		t.Fatalf("history: %d %s", status, body)
	}
	var h protocol.HistoryResponse
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	stored := map[uint64]bool{}
	for _, m := range h.Messages {
		stored[m.Offset] = true
	}
	for o := range acked {
		if !stored[o] {
			t.Fatalf("acknowledged offset %d is not in the survivors' history", o)
		}
	}
}

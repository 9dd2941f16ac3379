package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

func texts(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// resumeJoin joins with since/epoch and returns the joined reply and the
// messages replayed before the first live one.
func (v *viewer) resumeJoin(room string, since uint64, epoch string) *protocol.ServerMessage {
	v.t.Helper()
	v.send(map[string]any{"op": "join", "room": room, "since": since, "epoch": epoch})
	j := v.expect(protocol.OpJoined)
	if j.Recovered {
		v.last[room] = since
	} else {
		v.last[room] = 0
		v.fresh[room] = true
	}
	return j
}

func TestResumeAfterDisconnect(t *testing.T) {
	for _, tc := range []struct {
		name       string
		recent     int // RecentPerRoom: small forces the store path
		partitions int
	}{{"from memory", 0, 0}, {"from store", 3, 0}, {"from store, 4 partitions", 3, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			s := stacktest.Start(t, stacktest.Options{HistoryPartitions: tc.partitions, Gateway: gatewayKnobs(func(c *gwConfig) {
				c.RecentPerRoom = tc.recent
				c.ReplayCount = 2
			})})
			keep := dial(t, s.WSURL, nil) // keeps the room alive on the gateway
			keep.join("r")
			v := dial(t, s.WSURL, nil)
			j := v.join("r")
			s.Publish(t, "r", texts("before", 4)...)
			v.collect("r", 4)
			last := v.last["r"]
			_ = v.ws.Close(websocket.StatusNormalClosure, "bye")

			missed := s.Publish(t, "r", texts("missed", 10)...)
			w := dial(t, s.WSURL, nil)
			j2 := w.resumeJoin("r", last, j.Epoch)
			if !j2.Recovered {
				t.Fatalf("not recovered: %+v", j2)
			}
			got := w.collect("r", 10)
			for i, m := range got {
				if m.Offset != missed[i] {
					t.Fatalf("replayed %d = %d, want %d", i, m.Offset, missed[i])
				}
			}
			// Live messages continue without a gap.
			live := s.Publish(t, "r", "live")
			if m := w.collect("r", 1)[0]; m.Offset != live[0] {
				t.Fatalf("live offset %d, want %d", m.Offset, live[0])
			}
		})
	}
}

func TestResumeFromEmptyRoom(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	j := v.join("empty")
	if j.Offset != 0 {
		t.Fatalf("empty room offset %d", j.Offset)
	}
	_ = v.ws.Close(websocket.StatusNormalClosure, "")
	s.Publish(t, "empty", "one", "two")
	w := dial(t, s.WSURL, nil)
	if j := w.resumeJoin("empty", 0, j.Epoch); !j.Recovered {
		t.Fatalf("resume from an empty room not recovered: %+v", j)
	}
	w.collect("empty", 2)
}

func TestResumeNotRecovered(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{HistorySize: 5, Gateway: gatewayKnobs(func(c *gwConfig) {
		c.RecentPerRoom = 3
		c.ReplayCount = 3
	})})
	first := s.Publish(t, "h", "old")
	s.Publish(t, "h", texts("x", 20)...)
	v := dial(t, s.WSURL, nil)
	j := v.resumeJoin("h", first[0], "")
	if j.Recovered {
		t.Fatal("recovered with a wrong epoch")
	}
	got := v.collect("h", 3)
	if got[2].Text != "x19" {
		t.Fatalf("latest = %+v", got)
	}
	w := dial(t, s.WSURL, nil)
	if j2 := w.resumeJoin("h", first[0], j.Epoch); j2.Recovered {
		t.Fatal("recovered although history was trimmed past since")
	}
	w.collect("h", 3)
}

func TestResumeAcrossRestart(t *testing.T) {
	for _, partitions := range []int{0, 4} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) { testResumeAcrossRestart(t, partitions) })
	}
}

func testResumeAcrossRestart(t *testing.T, partitions int) {
	s := stacktest.Start(t, stacktest.Options{HistoryPartitions: partitions})
	v := dial(t, s.WSURL, nil)
	j := v.join("persist")
	if want := s.Server().Bus().Epoch("persist"); j.Epoch != want {
		t.Fatalf("joined epoch %s, the room's partition's is %s", j.Epoch, want)
	}
	s.Publish(t, "persist", texts("a", 3)...)
	v.collect("persist", 3)
	last := v.last["persist"]

	s.Restart(t)
	if code := v.closeCode(5 * time.Second); code != protocol.CloseDraining && code != -1 {
		t.Logf("close code on restart: %d", code)
	}
	missed := s.Publish(t, "persist", texts("b", 3)...)
	w := dial(t, s.WSURL, nil)
	j2 := w.resumeJoin("persist", last, j.Epoch)
	if !j2.Recovered || j2.Epoch != j.Epoch {
		t.Fatalf("after restart: %+v (epoch before %s)", j2, j.Epoch)
	}
	got := w.collect("persist", 3)
	for i := range got {
		if got[i].Offset != missed[i] {
			t.Fatalf("got %d, want %d", got[i].Offset, missed[i])
		}
	}
}

// A rejoin on a live connection (what clients do on a gap) replays from
// since without repeating what the connection already received.
func TestRejoinNoDuplicates(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	v := dial(t, s.WSURL, nil)
	j := v.join("rj")
	s.Publish(t, "rj", texts("a", 5)...)
	got := v.collect("rj", 5)
	v.send(map[string]any{"op": "join", "room": "rj", "since": got[1].Offset, "epoch": j.Epoch})
	if j2 := v.expect(protocol.OpJoined); !j2.Recovered {
		t.Fatalf("rejoin: %+v", j2)
	}
	more := s.Publish(t, "rj", "b")
	if m := v.collect("rj", 1)[0]; m.Offset != more[0] {
		t.Fatalf("after rejoin got offset %d, want %d (a duplicate?)", m.Offset, more[0])
	}
}

// A viewer that comes from a node that was ahead — it already has a
// message this gateway is still merging into a batch — resumes with
// recovered:true and gets nothing twice: the join waits for the room to
// flush up to the viewer's offset.
func TestResumeFromANodeThatWasAhead(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{Gateway: gatewayKnobs(func(c *gwConfig) { c.BatchWindow = time.Second })})
	keep := dial(t, s.WSURL, nil) // keeps the room and its window alive
	j := keep.join("r")
	first := s.Publish(t, "r", "first")  // an idle room flushes it at once
	ahead := s.Publish(t, "r", "second") // merged: flushed a second later
	keep.collect("r", 1)
	// The other node delivered "second" already; the viewer resumes here
	// from it while this gateway still holds it.
	v := dial(t, s.WSURL, nil)
	j2 := v.resumeJoin("r", ahead[0], j.Epoch)
	if !j2.Recovered || j2.Offset < ahead[0] {
		t.Fatalf("resume from %d (ahead of the gateway's %d): %+v, want recovered at %d or later", ahead[0], first[0], j2, ahead[0])
	}
	third := s.Publish(t, "r", "third")
	got := v.collect("r", 1)
	if got[0].Offset != third[0] {
		t.Fatalf("after resuming from %d the viewer got %d first, want %d (no duplicate of %d)", ahead[0], got[0].Offset, third[0], ahead[0])
	}
}

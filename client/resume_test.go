package client

import (
	"slices"
	"testing"

	"github.com/danmaku/danmaku/protocol"
)

// chain builds messages whose offsets are given in order, each pointing at
// the one before; the first points at prev.
func chain(prev uint64, offsets ...uint64) []protocol.Message {
	out := make([]protocol.Message, len(offsets))
	for i, off := range offsets {
		out[i] = protocol.Message{Offset: off, Prev: prev}
		prev = off
	}
	return out
}

func msg(offset, prev uint64) protocol.Message { return protocol.Message{Offset: offset, Prev: prev} }

func offsetsOf(msgs []protocol.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Offset
	}
	return out
}

func admitWant(t *testing.T, c *cursor, in []protocol.Message, want []uint64, wantVerdict verdict) {
	t.Helper()
	out, v := c.admit(in)
	if got := offsetsOf(out); !slices.Equal(got, want) {
		t.Fatalf("admit %v: delivered %v, want %v", offsetsOf(in), got, want)
	}
	if v != wantVerdict {
		t.Fatalf("admit %v: verdict %d, want %d", offsetsOf(in), v, wantVerdict)
	}
}

func TestCursorFreshJoinDeliversBacklogThenChain(t *testing.T) {
	var c cursor
	if c.joined(protocol.Joined{Epoch: "e1", Offset: 10}) {
		t.Fatal("a first join is not a reset")
	}
	// Recent history, all at or below the joined offset, with no usable prev.
	admitWant(t, &c, chain(3, 5, 7, 10), []uint64{5, 7, 10}, verdictNone)
	admitWant(t, &c, chain(10, 12, 13), []uint64{12, 13}, verdictNone)
	if since, epoch := c.position(); since != 13 || epoch != "e1" {
		t.Fatalf("position = %d %q, want 13 e1", since, epoch)
	}
}

func TestCursorFreshJoinWithoutBacklog(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 10})
	admitWant(t, &c, chain(10, 11), []uint64{11}, verdictNone)
}

func TestCursorDropsDuplicates(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 0})
	admitWant(t, &c, chain(0, 1, 2, 3), []uint64{1, 2, 3}, verdictNone)
	// A resume replays from an older since: everything seen is dropped.
	c.disconnected()
	if c.joined(protocol.Joined{Epoch: "e1", Offset: 5, Recovered: true}) {
		t.Fatal("a recovered resume is not a reset")
	}
	admitWant(t, &c, chain(1, 2, 3, 4, 5), []uint64{4, 5}, verdictNone)
	admitWant(t, &c, chain(4, 5), nil, verdictNone)
}

func TestCursorGapAsksForResyncAndHoldsUntilFilled(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 0})
	admitWant(t, &c, chain(0, 1, 2), []uint64{1, 2}, verdictNone)
	// 3 and 4 are missing.
	admitWant(t, &c, chain(4, 5, 6), nil, verdictResync)
	// Still missing: held, and only one resync in flight.
	admitWant(t, &c, chain(6, 7), nil, verdictNone)
	c.joined(protocol.Joined{Epoch: "e1", Offset: 7, Recovered: true})
	// The replay fills the gap; held messages follow, and its repeat of
	// them is dropped.
	admitWant(t, &c, chain(2, 3, 4), []uint64{3, 4, 5, 6, 7}, verdictNone)
	admitWant(t, &c, chain(4, 5, 6, 7), nil, verdictNone)
	admitWant(t, &c, chain(7, 8), []uint64{8}, verdictNone)
	if len(c.held) != 0 || c.resyncing {
		t.Fatalf("after the gap filled: held %v, resyncing %v", offsetsOf(c.held), c.resyncing)
	}
}

func TestCursorHeldMessagesStayOrderedAndUnique(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 1})
	admitWant(t, &c, []protocol.Message{msg(9, 8), msg(5, 4), msg(9, 8), msg(7, 5)}, nil, verdictResync)
	if got := offsetsOf(c.held); !slices.Equal(got, []uint64{5, 7, 9}) {
		t.Fatalf("held %v, want [5 7 9]", got)
	}
	// 8 is still missing after 7, so 9 stays held.
	admitWant(t, &c, chain(1, 4), []uint64{4, 5, 7}, verdictNone)
	if got := offsetsOf(c.held); !slices.Equal(got, []uint64{9}) {
		t.Fatalf("held %v, want [9]", got)
	}
}

func TestCursorGivesUpAfterRepeatedResyncs(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 2})
	for i := range maxResyncs {
		admitWant(t, &c, []protocol.Message{msg(uint64(10+i), uint64(9+i))}, nil, verdictResync)
		c.joined(protocol.Joined{Epoch: "e1", Offset: 20, Recovered: true}) // replay brought nothing
	}
	admitWant(t, &c, []protocol.Message{msg(12, 11)}, []uint64{10, 11, 12}, verdictGaveUp)
	if since, _ := c.position(); since != 12 {
		t.Fatalf("position after giving up = %d, want 12", since)
	}
	admitWant(t, &c, chain(12, 13), []uint64{13}, verdictNone)
}

func TestCursorGivesUpWhenTooMuchIsHeld(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 1})
	offsets := make([]uint64, maxHeld+1)
	for i := range offsets {
		offsets[i] = uint64(i + 10)
	}
	out, v := c.admit(chain(5, offsets...))
	if v != verdictGaveUp || len(out) != maxHeld+1 || len(c.held) != 0 {
		t.Fatalf("verdict %d, delivered %d, held %d", v, len(out), len(c.held))
	}
}

func TestCursorResetWhenNotRecovered(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 0})
	admitWant(t, &c, chain(0, 1, 2, 3), []uint64{1, 2, 3}, verdictNone)
	c.disconnected()
	// Same epoch, history trimmed past since: recent history may overlap
	// what was delivered; the overlap is not delivered again.
	if !c.joined(protocol.Joined{Epoch: "e1", Offset: 50}) {
		t.Fatal("recovered: false on an established room must be a reset")
	}
	admitWant(t, &c, chain(1, 2, 3, 48, 50), []uint64{48, 50}, verdictNone)
	admitWant(t, &c, chain(50, 51), []uint64{51}, verdictNone)
}

func TestCursorResetOnNewEpochStartsOver(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 0})
	admitWant(t, &c, chain(0, 100, 101), []uint64{100, 101}, verdictNone)
	c.disconnected()
	if !c.joined(protocol.Joined{Epoch: "e2", Offset: 3, Recovered: true}) {
		t.Fatal("a different epoch is a reset even if the server says recovered")
	}
	admitWant(t, &c, chain(0, 1, 2, 3), []uint64{1, 2, 3}, verdictNone)
	if since, epoch := c.position(); since != 3 || epoch != "e2" {
		t.Fatalf("position = %d %q, want 3 e2", since, epoch)
	}
}

func TestCursorDisconnectForgetsHeld(t *testing.T) {
	var c cursor
	c.joined(protocol.Joined{Epoch: "e1", Offset: 1})
	admitWant(t, &c, chain(3, 4), nil, verdictResync)
	c.disconnected()
	if len(c.held) != 0 || c.resyncing {
		t.Fatal("disconnected must drop held messages and the resync")
	}
	if since, _ := c.position(); since != 1 {
		t.Fatalf("since = %d, want 1: held messages were never delivered", since)
	}
}

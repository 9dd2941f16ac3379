package logic

import (
	"testing"
	"time"
)

func TestSendersRateSlowModeDuplicates(t *testing.T) {
	s := newSenders(3, 30*time.Second, 30*time.Second)
	t0 := time.UnixMilli(1_000_000)
	for i, text := range []string{"a", "b", "c"} {
		if v, _ := s.check("u", "r", text, 0, false, t0.Add(time.Duration(i)*time.Second)); v != allowed {
			t.Fatalf("send %d refused: %v", i, v)
		}
	}
	v, retry := s.check("u", "r", "d", 0, false, t0.Add(3*time.Second))
	if v != rateLimited || retry != 27*time.Second {
		t.Fatalf("4th send in the window: %v retry %s", v, retry)
	}
	if v, _ := s.check("other", "r", "d", 0, false, t0.Add(3*time.Second)); v != allowed {
		t.Fatal("another user is limited too")
	}
	if v, _ := s.check("u", "r", "d", 0, false, t0.Add(30*time.Second)); v != allowed {
		t.Fatal("the window did not slide")
	}
	// Duplicate within 30 s (the window slid, "d" was just sent).
	if v, _ := s.check("u", "r", "d", 0, false, t0.Add(31*time.Second)); v != duplicate {
		t.Fatalf("duplicate text: %v", v)
	}
	// Slow mode: one per 10 s in this room.
	if v, retry := s.check("u", "r", "e", 10, false, t0.Add(35*time.Second)); v != slowMode || retry != 5*time.Second {
		t.Fatalf("slow mode: %v %s", v, retry)
	}
	if v, _ := s.check("u", "r2", "e", 10, false, t0.Add(35*time.Second)); v != allowed {
		t.Fatal("slow mode leaked into another room")
	}
	// Exempt users (moderators) pass all three.
	for i := range 5 {
		if v, _ := s.check("mod", "r", "same", 60, true, t0.Add(time.Duration(i)*time.Millisecond)); v != allowed {
			t.Fatal("exempt user refused")
		}
	}
}

func TestSendersForgetIdleUsers(t *testing.T) {
	s := newSenders(3, 30*time.Second, 30*time.Second)
	t0 := time.UnixMilli(1_000_000)
	s.check("idle", "r", "x", 0, false, t0)
	s.check("active", "r", "x", 0, false, t0.Add(3*time.Hour))
	if _, ok := s.users["idle"]; ok {
		t.Fatal("idle user kept")
	}
}

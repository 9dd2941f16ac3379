package defaults

import (
	"strings"
	"testing"
	"time"
)

func TestPositive(t *testing.T) {
	d := time.Duration(0)
	if err := Positive("Window", &d, time.Second); err != nil || d != time.Second {
		t.Errorf("zero: %v, %v; want the default", d, err)
	}
	n := 3
	if err := Positive("Count", &n, 8); err != nil || n != 3 {
		t.Errorf("set: %v, %v; want it kept", n, err)
	}
	n = -1
	if err := Positive("Count", &n, 8); err == nil || !strings.Contains(err.Error(), "Count is -1") || n != -1 {
		t.Errorf("negative: %v, %v; want an error naming the field, and the value kept", n, err)
	}
}

func TestPositiveUpTo(t *testing.T) {
	r := 0
	if err := PositiveUpTo("Replicas", &r, 1, 5); err != nil || r != 1 {
		t.Errorf("zero: %v, %v; want the default", r, err)
	}
	for _, bad := range []int{-1, 6} {
		r = bad
		if err := PositiveUpTo("Replicas", &r, 1, 5); err == nil {
			t.Errorf("%d accepted", bad)
		}
	}
}

func TestNonNegative(t *testing.T) {
	if err := NonNegative("Cap", 0); err != nil {
		t.Errorf("zero refused: %v", err)
	}
	if err := NonNegative("Rate", -0.5); err == nil || !strings.Contains(err.Error(), "Rate is -0.5") {
		t.Errorf("negative: %v", err)
	}
}

func TestOr(t *testing.T) {
	s := ""
	Or(&s, "DANMAKU")
	r := -1.0
	Or(&r, 10)
	if s != "DANMAKU" || r != -1 {
		t.Errorf("Or: %q %v; want the default for zero only", s, r)
	}
}

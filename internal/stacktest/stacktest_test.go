package stacktest

import (
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/lesismal/nbio/taskpool.New.func3"))
}

func TestStartPublishRestart(t *testing.T) {
	s := Start(t, Options{})
	offsets := s.Publish(t, "st", "a", "b")
	addr := s.URL
	s.Restart(t)
	if s.URL != addr {
		t.Fatalf("restart moved from %s to %s", addr, s.URL)
	}
	status, body := s.Do(t, http.MethodGet, "/v1/rooms/st", nil)
	if status != http.StatusOK || !contains(body, `"offset":`) {
		t.Fatalf("room after restart: %d %s", status, body)
	}
	if more := s.Publish(t, "st", "c"); more[0] <= offsets[1] {
		t.Fatalf("offsets went back after restart: %v then %v", offsets, more)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

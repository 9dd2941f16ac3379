package stacktest

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

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

// A test names only the knobs it changes; the rest are the production
// defaults, including the ones whose zero means something else.
func TestOptionsLayOverDefaults(t *testing.T) {
	got := overlay(gateway.DefaultConfig(), gateway.Config{MaxRoomsPerConn: 2, AllowedOrigins: []string{"*"}})
	want := gateway.DefaultConfig()
	want.MaxRoomsPerConn, want.AllowedOrigins = 2, []string{"*"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("overlay:\n got %+v\nwant %+v", got, want)
	}
	if got.ReplayCount == 0 {
		t.Error("a stack would replay nothing on join")
	}
}

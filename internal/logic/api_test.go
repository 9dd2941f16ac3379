package logic_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/leaktest"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

func apiError(t *testing.T, body []byte) protocol.ErrorDetail {
	t.Helper()
	var e protocol.APIError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an API error: %s", body)
	}
	return e.Error
}

func TestBadRequests(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	many := protocol.PublishRequest{}
	for range 1001 {
		many.Messages = append(many.Messages, protocol.PublishMessage{Text: "x"})
	}
	cases := []struct {
		name, method, path string
		body               any
		key                string
		status             int
		code               string
	}{
		{"missing key", "POST", "/v1/rooms/r/messages", `{"messages":[{"text":"x"}]}`, "-", 401, "unauthorized"},
		{"wrong key", "POST", "/v1/rooms/r/messages", `{"messages":[{"text":"x"}]}`, "nope", 401, "unauthorized"},
		{"bad json", "POST", "/v1/rooms/r/messages", `{"messages":[`, "", 400, "bad_request"},
		{"not an object", "POST", "/v1/rooms/r/messages", `[1]`, "", 400, "bad_request"},
		{"unknown field", "POST", "/v1/rooms/r/messages", `{"messages":[{"txt":"x"}]}`, "", 400, "bad_request"},
		{"no messages", "POST", "/v1/rooms/r/messages", `{"messages":[]}`, "", 400, "bad_request"},
		{"too many messages", "POST", "/v1/rooms/r/messages", many, "", 413, "too_large"},
		{"body too large", "POST", "/v1/rooms/r/messages", `{"messages":[{"text":"` + strings.Repeat("x", 2<<20) + `"}]}`, "", 413, "too_large"},
		{"bad room", "POST", "/v1/rooms/bad%20room/messages", `{"messages":[{"text":"x"}]}`, "", 400, "bad_request"},
		{"long room", "GET", "/v1/rooms/" + strings.Repeat("r", 65), nil, "", 400, "bad_request"},
		{"too long", "POST", "/v1/rooms/r/messages", `{"messages":[{"text":"` + strings.Repeat("好", 101) + `"}]}`, "", 400, "too_long"},
		{"bad color", "POST", "/v1/rooms/r/messages", `{"messages":[{"text":"x","color":"blue"}]}`, "", 400, "bad_request"},
		{"data not object", "POST", "/v1/rooms/r/messages", `{"messages":[{"text":"x","data":[1]}]}`, "", 400, "bad_request"},
		{"reload without a word list file", "POST", "/v1/filter/reload", "", "", 503, "unavailable"},
		{"bad limit", "GET", "/v1/rooms/r/messages?limit=5000", nil, "", 400, "bad_request"},
		{"bad since", "GET", "/v1/rooms/r/messages?since=-1", nil, "", 400, "bad_request"},
		{"unknown endpoint", "GET", "/v1/nothing", nil, "", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var status int
			var body []byte
			if c.key != "" {
				status, body = do(t, s, c.method, c.path, c.body, strings.TrimPrefix(c.key, "-"))
			} else {
				status, body = s.Do(t, c.method, c.path, c.body)
			}
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if e := apiError(t, body); e.Code != c.code {
				t.Fatalf("code %q, want %q", e.Code, c.code)
			}
		})
	}
}

// do sends a request with an explicit key ("" sends no Authorization).
func do(t *testing.T, s *stacktest.Stack, method, path string, body any, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body.(string)))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

func TestHistory(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	before := time.Now().UnixMilli()
	offsets := s.Publish(t, "h", "a", "b", "c", "d")
	status, body := s.Do(t, "GET", "/v1/rooms/h/messages?since="+fmt.Sprint(offsets[1])+"&limit=1", nil)
	var h protocol.HistoryResponse
	if status != 200 || json.Unmarshal(body, &h) != nil || h.Epoch == "" || len(h.Messages) != 1 || h.Messages[0].Text != "c" || h.Messages[0].Prev != offsets[1] {
		t.Fatalf("since: %d %s", status, body)
	}
	status, body = s.Do(t, "GET", fmt.Sprintf("/v1/rooms/h/messages?from=%d&to=%d", before-1000, time.Now().UnixMilli()+1000), nil)
	if status != 200 || json.Unmarshal(body, &h) != nil || len(h.Messages) != 4 {
		t.Fatalf("range: %d %s", status, body)
	}
	status, body = s.Do(t, "GET", "/v1/rooms/h/messages?limit=2", nil)
	if status != 200 || json.Unmarshal(body, &h) != nil || len(h.Messages) != 2 || h.Messages[1].Text != "d" {
		t.Fatalf("latest: %d %s", status, body)
	}
	status, body = s.Do(t, "GET", "/v1/rooms/h", nil)
	var info protocol.RoomInfo
	if status != 200 || json.Unmarshal(body, &info) != nil || info.Offset != offsets[3] || info.Epoch != h.Epoch || info.Room != "h" {
		t.Fatalf("room info: %d %s", status, body)
	}
}

func TestPublishFields(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	status, body := s.Do(t, "POST", "/v1/rooms/g/messages", `{"messages":[{"type":"gift","text":"","user":{"id":"u1","name":"bob","role":"viewer"},"data":{"gift": "rocket"},"videoTimeMs":1500}]}`)
	if status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	_, body = s.Do(t, "GET", "/v1/rooms/g/messages", nil)
	var h protocol.HistoryResponse
	if err := json.Unmarshal(body, &h); err != nil || len(h.Messages) != 1 {
		t.Fatalf("history: %s", body)
	}
	m := h.Messages[0]
	if m.Type != "gift" || m.User.Name != "bob" || string(m.Data) != `{"gift":"rocket"}` || *m.VideoTimeMs != 1500 {
		t.Fatalf("message %+v", m)
	}
	status, body = s.Do(t, "POST", "/v1/users/u1/messages", `{"messages":[{"type":"system","text":"hello you"}]}`)
	if status != 200 {
		t.Fatalf("push to user: %d %s", status, body)
	}
}

// heldStore is the real bus with appends that never finish, as a store
// that stopped answering would be.
type heldStore struct{ *bus.Bus }

func (heldStore) Append(ctx context.Context, _ string, _ []bus.Record) ([]uint64, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A request the store does not answer within RequestTimeout is answered
// 503 unavailable, naming the timeout.
func TestRequestTimeoutAnswersUnavailable(t *testing.T) {
	b, err := bus.Open(t.Context(), bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := logic.New(logic.Config{Store: heldStore{b}, APIKeys: []string{"k"}, RequestTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/rooms/r/messages", strings.NewReader(`{"messages":[{"text":"x"}]}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e := apiError(t, body); resp.StatusCode != http.StatusServiceUnavailable || e.Code != protocol.CodeUnavailable || !strings.Contains(e.Message, "within 200ms") {
		t.Errorf("held store: %d %s, want 503 unavailable naming the 200ms timeout", resp.StatusCode, body)
	}
}

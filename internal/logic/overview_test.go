package logic_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/danmaku/danmaku/internal/clustertest"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/overview"
	"github.com/danmaku/danmaku/internal/stacktest"
	"github.com/danmaku/danmaku/protocol"
)

func getJSON(t *testing.T, s *stacktest.Stack, path string, into any) {
	t.Helper()
	status, body := s.Do(t, http.MethodGet, path, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %s", path, status, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// waitUntil polls the node's stats, which change once a second, until
// cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	clustertest.WaitFor(t, what, 15*time.Second, cond)
}

// GET /v1/nodes lists the node with its figures from its own registry, and
// GET /v1/rooms its rooms with their viewers and message rates.
func TestNodesAndRoomsOfARealNode(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	for _, room := range []string{"lobby", "lobby", "Quiet-Room"} {
		if _, err := clustertest.MustDial(t, s.WSURL).Join(room, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	var rep overview.Report
	waitUntil(t, "three connections in two rooms", func() bool {
		getJSON(t, s, "/v1/nodes", &rep)
		return len(rep.Nodes) == 1 && rep.Nodes[0].Connections == 3 && rep.Nodes[0].Rooms == 2
	})
	n := rep.Nodes[0]
	if n.Role != "serve" || n.Addr != strings.TrimPrefix(s.URL, "http://") || n.Version == "" || !n.NATSConnected || n.ID == "" {
		t.Fatalf("node %+v", n)
	}
	if rep.Totals.Nodes != 1 || rep.Totals.Connections != 3 || rep.Totals.Rooms != 2 {
		t.Fatalf("totals %+v", rep.Totals)
	}
	if _, ok := n.Closes["slow_consumer"]; !ok {
		t.Fatalf("closes %v lack the reasons at 0", n.Closes)
	}
	// Messages go out to the viewers: the node's rates and the room's rise
	// in the interval they were delivered in, with a latency.
	for i := range 20 {
		s.Publish(t, "lobby", fmt.Sprintf("m%d", i))
	}
	waitUntil(t, "deliveries in a snapshot", func() bool {
		getJSON(t, s, "/v1/nodes", &rep)
		n = rep.Nodes[0]
		return n.DeliveriesPerSec > 0
	})
	if n.MessagesInPerSec <= 0 || n.BytesOutPerSec <= 0 || n.PublishToWriteP50Ms == nil || n.PublishToWriteP99Ms == nil || *n.PublishToWriteP99Ms < *n.PublishToWriteP50Ms {
		t.Fatalf("after 20 messages: %+v (p50 %v, p99 %v)", n.Figures, n.PublishToWriteP50Ms, n.PublishToWriteP99Ms)
	}
	var rooms overview.RoomList
	waitUntil(t, "the lobby's rate", func() bool {
		getJSON(t, s, "/v1/rooms?sort=rate", &rooms)
		return len(rooms.Rooms) > 0 && rooms.Rooms[0].Room == "lobby" && rooms.Rooms[0].MessagesPerSec > 0
	})
	if rooms.Total != 2 || rooms.Rooms[0].Online != 2 || rooms.Rooms[1] != (overview.RoomRate{Room: "Quiet-Room", Online: 1}) {
		t.Fatalf("rooms by rate %+v", rooms)
	}
	getJSON(t, s, "/v1/rooms?q=quiet&limit=1", &rooms)
	if rooms.Total != 1 || len(rooms.Rooms) != 1 || rooms.Rooms[0].Room != "Quiet-Room" {
		t.Fatalf("q=quiet: %+v", rooms)
	}
	getJSON(t, s, "/v1/rooms?limit=1", &rooms)
	if rooms.Total != 2 || len(rooms.Rooms) != 1 || rooms.Rooms[0].Room != "lobby" {
		t.Fatalf("limit=1 by online: %+v", rooms)
	}
}

// The new endpoints answer bad parameters and bodies with 400 bad_request
// and a wrong key with 401, like the rest of the API.
func TestOverviewBadRequests(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"sort", "GET", "/v1/rooms?sort=name", "", 400, "bad_request"},
		{"limit 0", "GET", "/v1/rooms?limit=0", "", 400, "bad_request"},
		{"limit 501", "GET", "/v1/rooms?limit=501", "", 400, "bad_request"},
		{"limit text", "GET", "/v1/rooms?limit=ten", "", 400, "bad_request"},
		{"long q", "GET", "/v1/rooms?q=" + strings.Repeat("x", 65), "", 400, "bad_request"},
		{"q not UTF-8", "GET", "/v1/rooms?q=%ff", "", 400, "bad_request"},
		{"unknown field", "POST", "/v1/filter/test", `{"text":"x","mode":"mask"}`, 400, "bad_request"},
		{"not an object", "POST", "/v1/filter/test", `["x"]`, 400, "bad_request"},
		{"no body", "POST", "/v1/filter/test", ``, 400, "bad_request"},
		{"empty text", "POST", "/v1/filter/test", `{"text":"  "}`, 400, "bad_request"},
		{"too large", "POST", "/v1/filter/test", `{"text":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "too_large"},
		{"POST nodes", "POST", "/v1/nodes", `{}`, 404, "not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := s.Do(t, c.method, c.path, c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if e := apiError(t, body); e.Code != c.code {
				t.Fatalf("code %q, want %q", e.Code, c.code)
			}
		})
	}
	for _, path := range []string{"/v1/nodes", "/v1/rooms", "/v1/filter"} {
		if status, body := do(t, s, "GET", path, "", "wrong-key"); status != 401 || apiError(t, body).Code != "unauthorized" {
			t.Fatalf("GET %s with a wrong key: %d %s", path, status, body)
		}
	}
}

// GET /v1/filter names the list and its size; POST /v1/filter/test judges
// a text as the send pipeline does: normalized, matched, masked.
func TestFilterInfoAndTest(t *testing.T) {
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("# list\nhello\nspam\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := stacktest.Start(t, stacktest.Options{BlockedWordsFile: words})
	var info map[string]any
	getJSON(t, s, "/v1/filter", &info)
	if info["words"] != 2.0 || info["file"] != words || info["mode"] != "reject" {
		t.Fatalf("filter info %v", info)
	}
	for _, c := range []struct {
		text, masked string
		pass         bool
	}{
		{"hello world", "***** world", false},
		{"ＨＥＬＬＯ world", "***** world", false},        // full-width capitals
		{"he\u200bllo world", "****** world", false}, // a zero-width space inside, starred too
		{"  fine text  ", "fine text", true},         // tidied as a send is
		{"buy SPAM now", "buy **** now", false},
	} {
		status, body := s.Do(t, "POST", "/v1/filter/test", map[string]string{"text": c.text})
		var got logic.FilterTestResult
		if status != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("%q: %d %s", c.text, status, body)
		}
		if got.Pass != c.pass || got.Masked != c.masked || got.Words != 2 || got.Mode != "reject" {
			t.Errorf("%q: %+v, want pass %v masked %q", c.text, got, c.pass, c.masked)
		}
		// The pipeline agrees: a viewer's send of the same text is refused
		// exactly when the test says it does not pass.
		v := clustertest.MustDial(t, s.WSURL)
		if _, err := v.Join("filter-check", nil, ""); err != nil {
			t.Fatal(err)
		}
		_, err := v.Send("filter-check", "c", c.text)
		if refused := err != nil && strings.Contains(err.Error(), "blocked_content"); refused == c.pass {
			t.Errorf("%q: the test says pass=%v, the send pipeline answered %v", c.text, c.pass, err)
		}
	}
	// Without a list every text passes as written.
	bare := stacktest.Start(t, stacktest.Options{})
	getJSON(t, bare, "/v1/filter", &info)
	if info["words"] != 0.0 || info["file"] != "" {
		t.Fatalf("no list: %v", info)
	}
	status, body := bare.Do(t, "POST", "/v1/filter/test", `{"text":"hello"}`)
	if status != 200 || string(body) != `{"pass":true,"masked":"hello","words":0,"mode":"reject"}` {
		t.Fatalf("no list: %d %s", status, body)
	}
}

// A logic tier without node stats answers their endpoints with 503.
func TestNodesWithoutStats(t *testing.T) {
	l, _ := newLogic(t, logic.Config{})
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	for _, path := range []string{"/v1/nodes", "/v1/rooms"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || apiError(t, body).Code != "unavailable" {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
}

// A send or a publish that the store cannot take counts in
// danmaku_store_errors_total by source.
func TestStoreErrorsAreCounted(t *testing.T) {
	m := metrics.New()
	l, b := newLogic(t, logic.Config{Metrics: m})
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := send(t, l, viewer("a"), "r", "hello")
	wantCode(t, "send with the store gone", err, protocol.CodeUnavailable)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/rooms/r/messages", strings.NewReader(`{"messages":[{"text":"x"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("publish with the store gone: %d", resp.StatusCode)
	}
	ws, api := counterValue(t, m, "ws"), counterValue(t, m, "api")
	if ws != 1 || api != 1 {
		t.Fatalf("store errors ws %v, api %v; want 1 each", ws, api)
	}
}

func counterValue(t *testing.T, m *metrics.Metrics, source string) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.StoreErrors.WithLabelValues(source).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

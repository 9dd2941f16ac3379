package console_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danmaku/danmaku/internal/console"
	"github.com/danmaku/danmaku/web"
)

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, []byte) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	resp := w.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func handler(t *testing.T, cfg console.Config) http.Handler {
	t.Helper()
	h, err := console.Handler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Every file is served with its type and the console's security headers;
// the page and its configuration are never cached.
func TestHandlerServesTheConsole(t *testing.T) {
	h := handler(t, console.DefaultConfig())
	for _, c := range []struct{ path, contentType, contains, cache string }{
		{"/admin/", "text/html; charset=utf-8", `<script type="module" src="main.js">`, "no-store"},
		{"/admin/index.html", "text/html; charset=utf-8", "<title>danmaku console</title>", "no-store"},
		{"/admin/main.js", "text/javascript; charset=utf-8", "route()", "no-cache"},
		{"/admin/room.js", "text/javascript; charset=utf-8", "from './lib/danmaku.js'", "no-cache"},
		{"/admin/console.css", "text/css; charset=utf-8", ".msg", "no-cache"},
		{"/admin/config.json", "application/json", `{"ws":"/ws"}`, "no-store"},
		{"/admin/lib/danmaku.js", "text/javascript; charset=utf-8", "export class DanmakuClient", "no-cache"},
		{"/admin/lib/backoff.js", "text/javascript; charset=utf-8", "export class Backoff", "no-cache"},
	} {
		resp, body := get(t, h, http.MethodGet, c.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.contentType || !bytes.Contains(body, []byte(c.contains)) {
			t.Errorf("%s: %d %q, body has %q: %v", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.contains, bytes.Contains(body, []byte(c.contains)))
		}
		for header, want := range map[string]string{
			"Cache-Control":           c.cache,
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		} {
			if got := resp.Header.Get(header); got != want {
				t.Errorf("%s: %s %q, want %q", c.path, header, got, want)
			}
		}
	}
	// The client is the demo page's, byte for byte.
	_, served := get(t, h, http.MethodGet, "/admin/lib/danmaku.js")
	if !bytes.Equal(served, web.ClientModules()["danmaku.js"]) {
		t.Error("/admin/lib/danmaku.js differs from web's danmaku.js")
	}
}

func TestHandlerRefuses(t *testing.T) {
	h := handler(t, console.DefaultConfig())
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPost, "/admin/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/admin/nope.js", http.StatusNotFound},
		{http.MethodGet, "/admin/assets/main.js", http.StatusNotFound},
		{http.MethodGet, "/admin/lib/app.js", http.StatusNotFound}, // only the client, not the demo page
		{http.MethodGet, "/elsewhere", http.StatusNotFound},
	} {
		if resp, _ := get(t, h, c.method, c.path); resp.StatusCode != c.status || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: %d, want %d with X-Frame-Options", c.method, c.path, resp.StatusCode, c.status)
		}
	}
	if resp, body := get(t, h, http.MethodHead, "/admin/"); resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Length") == "0" {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %s", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
}

// The live feed's address: a path, an absolute URL (allowed by the CSP),
// none; anything else is refused.
func TestHandlerLiveFeedAddress(t *testing.T) {
	resp, body := get(t, handler(t, console.Config{WS: "wss://live.example.com:8443/ws"}), http.MethodGet, "/admin/config.json")
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "connect-src 'self' wss://live.example.com:8443;") || string(body) != `{"ws":"wss://live.example.com:8443/ws"}` {
		t.Errorf("absolute WS: CSP %q, config %s", resp.Header.Get("Content-Security-Policy"), body)
	}
	beside := handler(t, console.Config{WS: ":8080/ws"})
	for host, want := range map[string]string{
		"127.0.0.1:9090":     "connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;",
		"admin.example.com":  "connect-src 'self' ws://admin.example.com:8080 wss://admin.example.com:8080;",
		"[::1]:9090":         "connect-src 'self' ws://[::1]:8080 wss://[::1]:8080;",
		"evil; script-src *": "connect-src 'self';",
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/admin/", nil)
		r.Host = host
		beside.ServeHTTP(w, r)
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, want) {
			t.Errorf("WS :8080/ws, Host %q: CSP %q, want %q", host, csp, want)
		}
	}
	if _, body := get(t, handler(t, console.Config{}), http.MethodGet, "/admin/config.json"); string(body) != `{"ws":""}` {
		t.Errorf("no live feed: config %s", body)
	}
	for _, bad := range []string{"https://example.com/ws", "//example.com/ws", "ws:///ws", "ws", "javascript:alert(1)", ":0/ws", ":8080", ":08080/ws", ":99999/ws", ":80;x/ws", "ws://a;b/ws"} {
		if _, err := console.Handler(console.Config{WS: bad}); !errors.Is(err, console.ErrInvalidConfig) {
			t.Errorf("WS %q: %v, want ErrInvalidConfig", bad, err)
		}
	}
}

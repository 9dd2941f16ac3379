package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/web"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestHandlerServesAssets(t *testing.T) {
	h := web.Handler(web.Options{})
	cases := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"/index.html", "text/html; charset=utf-8", "<title>"},
		{"/danmaku.js", "text/javascript; charset=utf-8", "export class DanmakuClient"},
		{"/backoff.js", "text/javascript; charset=utf-8", "export class Backoff"},
		{"/resume.js", "text/javascript; charset=utf-8", "export class ResumeState"},
		{"/lanes.js", "text/javascript; charset=utf-8", "export class LaneSet"},
		{"/renderer.js", "text/javascript; charset=utf-8", "export class DanmakuRenderer"},
		{"/style.css", "text/css; charset=utf-8", ".sendbar"},
		{"/danmaku.css", "text/css; charset=utf-8", ".dm-item"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, c := range cases {
		resp := get(t, h, http.MethodGet, c.path, nil)
		b := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", c.path, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != c.contentType {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.contentType)
		}
		if !bytes.Contains(b, []byte(c.contains)) {
			t.Errorf("%s: body lacks %q", c.path, c.contains)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q, want no-cache", c.path, got)
		}
		if resp.Header.Get("ETag") == "" {
			t.Errorf("%s: no ETag", c.path)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", c.path)
		}
		if got := resp.Header.Get("Content-Length"); got == "" {
			t.Errorf("%s: no Content-Length", c.path)
		}
	}
	// Modules can be imported from players on other origins.
	if got := get(t, h, http.MethodGet, "/danmaku.js", nil).Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("danmaku.js: Access-Control-Allow-Origin %q", got)
	}
	csp := get(t, h, http.MethodGet, "/", nil).Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("index CSP %q", csp)
	}
	// Test files and Go sources are not served.
	for _, path := range []string{"/embed.go", "/test/lanes.test.js", "/package.json", "/nope", "/../go.mod"} {
		if resp := get(t, h, http.MethodGet, path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestHandlerConfig(t *testing.T) {
	for _, c := range []struct {
		opts web.Options
		want string
	}{
		{web.Options{}, `{"maxTextRunes":100,"ws":"/ws","cooldownMs":1000}`},
		{web.Options{MaxTextRunes: 40, SendCooldown: 3 * time.Second, WSPath: "/live/ws"}, `{"maxTextRunes":40,"ws":"/live/ws","cooldownMs":3000}`},
		{web.Options{SendCooldown: -1}, `{"maxTextRunes":100,"ws":"/ws","cooldownMs":0}`},
	} {
		resp := get(t, web.Handler(c.opts), http.MethodGet, "/danmaku-config.json", nil)
		b := body(t, resp)
		if string(b) != c.want {
			t.Errorf("%+v: config %s, want %s", c.opts, b, c.want)
		}
		if !json.Valid(b) || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("config headers %v", resp.Header)
		}
	}
}

func TestHandlerGzipAndRevalidation(t *testing.T) {
	h := web.Handler(web.Options{})
	plain := get(t, h, http.MethodGet, "/danmaku.js", nil)
	plainBody := body(t, plain)
	zipped := get(t, h, http.MethodGet, "/danmaku.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", zipped.Header)
	}
	if !strings.Contains(zipped.Header.Get("Vary"), "Accept-Encoding") {
		t.Error("no Vary: Accept-Encoding")
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plainBody) {
		t.Error("gzipped body differs from the plain one")
	}
	if plain.Header.Get("ETag") == zipped.Header.Get("ETag") {
		t.Error("the gzipped variant shares the plain ETag")
	}
	if get(t, h, http.MethodGet, "/danmaku.js", map[string]string{"Accept-Encoding": "gzip;q=0"}).Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused with q=0")
	}
	// Revalidation.
	for _, inm := range []string{plain.Header.Get("ETag"), `"other", ` + plain.Header.Get("ETag"), "W/" + plain.Header.Get("ETag"), "*"} {
		resp := get(t, h, http.MethodGet, "/danmaku.js", map[string]string{"If-None-Match": inm})
		if resp.StatusCode != http.StatusNotModified || len(body(t, resp)) != 0 {
			t.Errorf("If-None-Match %s: status %d, want 304 without a body", inm, resp.StatusCode)
		}
	}
	if resp := get(t, h, http.MethodGet, "/danmaku.js", map[string]string{"If-None-Match": `"stale"`}); resp.StatusCode != http.StatusOK {
		t.Errorf("stale ETag: status %d", resp.StatusCode)
	}
	// HEAD: headers, no body.
	head := get(t, h, http.MethodHead, "/danmaku.js", nil)
	if head.StatusCode != http.StatusOK || len(body(t, head)) != 0 || head.Header.Get("Content-Length") != plain.Header.Get("Content-Length") {
		t.Errorf("HEAD: status %d, headers %v", head.StatusCode, head.Header)
	}
}

func TestHandlerMethods(t *testing.T) {
	h := web.Handler(web.Options{})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp := get(t, h, m, "/", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: status %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

// ClientModules holds danmaku.js and everything it imports, transitively,
// so that a page serving them from its own path gets a working client.
func TestClientModulesAreComplete(t *testing.T) {
	mods := web.ClientModules()
	importRE := regexp.MustCompile(`(?m)^import .* from '\./([a-z-]+\.js)';`)
	seen := map[string]bool{}
	queue := []string{"danmaku.js"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		src, ok := mods[name]
		if !ok {
			t.Fatalf("ClientModules lacks %s", name)
		}
		if !bytes.Equal(src, body(t, get(t, web.Handler(web.Options{}), http.MethodGet, "/"+name, nil))) {
			t.Errorf("%s differs from the one the demo page serves", name)
		}
		for _, m := range importRE.FindAllSubmatch(src, -1) {
			queue = append(queue, string(m[1]))
		}
	}
	if len(seen) != len(mods) {
		t.Errorf("ClientModules has %d files, the client needs %d: %v", len(mods), len(seen), seen)
	}
}

// Package web serves the viewer experience from the binary: the demo page at
// "/", the browser client at "/danmaku.js" with the modules it imports, and
// the page's configuration at "/danmaku-config.json". Everything is embedded
// with go:embed and prepared once (content type, ETag, gzip) when the
// handler is built.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed index.html *.css favicon.svg *.js
var assets embed.FS

// clientModules are the browser client and the modules it imports.
var clientModules = []string{"danmaku.js", "backoff.js", "resume.js"}

// ClientModules returns the browser client, danmaku.js, and the modules it
// imports, by file name, for other pages of the binary that serve it from
// their own path (the console at /admin/). The slices are copies.
func ClientModules() map[string][]byte {
	out := make(map[string][]byte, len(clientModules))
	for _, name := range clientModules {
		body, err := assets.ReadFile(name)
		if err != nil {
			panic(fmt.Sprintf("web: read %s: %v", name, err)) // the embed is checked at build time
		}
		out[name] = body
	}
	return out
}

// Options for the demo page handler. Zero values select the defaults named
// in each field's comment.
type Options struct {
	// MaxTextRunes is the text limit shown by the send bar (the server's
	// limit, in runes); 0 means 100.
	MaxTextRunes int
	// SendCooldown is how long the send bar stays disabled after a send;
	// 0 means 1 s, a negative value disables the cooldown.
	SendCooldown time.Duration
	// WSPath is the path of the WebSocket endpoint the page connects to on
	// its own host; "" means "/ws".
	WSPath string
}

// pageConfig is the body of /danmaku-config.json.
type pageConfig struct {
	MaxTextRunes int    `json:"maxTextRunes"`
	WS           string `json:"ws"`
	CooldownMs   int64  `json:"cooldownMs"`
}

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	contentType string
	cache       string
	body        []byte
	etag        string
	gz          []byte // nil when compression does not pay
	gzETag      string
	js          bool
}

// contentSecurityPolicy keeps the demo page to its own scripts and styles
// (no inline code, so an injected comment could not run even if it reached
// the DOM as HTML) and lets ?video= play media from anywhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; media-src 'self' https: http: blob:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'"

// Handler serves "/" (index.html), "/danmaku.js", the other assets and
// "/danmaku-config.json". Only GET and HEAD are allowed. Assets are
// revalidated on every use (Cache-Control: no-cache, with strong ETags and
// If-None-Match), as their names carry no version; they are sent gzipped to
// clients that accept it. The configuration is never cached.
func Handler(opts Options) http.Handler {
	cfg := pageConfig{MaxTextRunes: opts.MaxTextRunes, WS: opts.WSPath}
	if cfg.MaxTextRunes <= 0 {
		cfg.MaxTextRunes = 100
	}
	if cfg.WS == "" {
		cfg.WS = "/ws"
	}
	switch {
	case opts.SendCooldown == 0:
		cfg.CooldownMs = 1000
	case opts.SendCooldown > 0:
		cfg.CooldownMs = opts.SendCooldown.Milliseconds()
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("web: encode config: %v", err)) // a struct of ints and strings cannot fail
	}
	h := &handler{files: map[string]*asset{}, config: cfgJSON}
	entries, err := fs.ReadDir(assets, ".")
	if err != nil {
		panic(fmt.Sprintf("web: read embedded assets: %v", err)) // the embed is checked at build time
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := assets.ReadFile(e.Name())
		if err != nil {
			panic(fmt.Sprintf("web: read %s: %v", e.Name(), err))
		}
		h.files["/"+e.Name()] = newAsset(e.Name(), body)
	}
	h.files["/"] = h.files["/index.html"]
	return h
}

// ContentType is the Content-Type the binary serves a web file named name
// with: fixed for the types of its pages (.js, .html, .css, .svg), else
// the host's mime table, else application/octet-stream.
func ContentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		// Module scripts need a JavaScript MIME type; do not trust the host's
		// mime tables for it.
		return "text/javascript; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func newAsset(name string, body []byte) *asset {
	ext := path.Ext(name)
	ct := ContentType(name)
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:8])
	a := &asset{
		name:        name,
		contentType: ct,
		cache:       "no-cache",
		body:        body,
		etag:        `"` + tag + `"`,
		js:          ext == ".js",
	}
	if len(body) > 512 && ext != ".png" {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
		_, _ = zw.Write(body)                                    // writes to a bytes.Buffer cannot fail
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gz = buf.Bytes()
			a.gzETag = `"` + tag + `-gz"`
		}
	}
	return a
}

type handler struct {
	files  map[string]*asset
	config []byte
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path == "/danmaku-config.json" {
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Access-Control-Allow-Origin", "*")
		write(w, r, h.config)
		return
	}
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", a.cache)
	if a.js {
		// Players on other origins import the client as a module, which
		// browsers fetch in CORS mode.
		hdr.Set("Access-Control-Allow-Origin", "*")
	}
	if a.name == "index.html" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("Referrer-Policy", "no-referrer")
	}
	body, etag := a.body, a.etag
	if a.gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, a.gzETag
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	write(w, r, body)
}

// write sends body with an explicit Content-Length (no chunked encoding,
// whatever the server underneath prefers), and no body for HEAD.
func write(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client went away: nothing to do
	}
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 requires for If-None-Match).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for cand := range strings.SplitSeq(header, ",") {
		cand = strings.TrimPrefix(strings.TrimSpace(cand), "W/")
		if cand == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}

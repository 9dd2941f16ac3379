package console

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/danmaku/danmaku/web"
)

//go:embed assets
var assets embed.FS

// Prefix is the path the console is served under.
const Prefix = "/admin/"

// ErrInvalidConfig is returned by Handler for a Config it cannot honour.
var ErrInvalidConfig = errors.New("console: invalid config")

// Config configures the console. DefaultConfig returns the settings of a
// node that serves viewers; the zero value is a console without a live
// feed.
type Config struct {
	// WS is the WebSocket endpoint of the room screen's live feed: a path
	// on the console's own host ("/ws"), or an absolute ws:// or wss:// URL
	// (whose origin the Content-Security-Policy then allows). "" means the
	// node has none (a logic node): the room screen says so and shows the
	// rest.
	WS string
}

// DefaultConfig is the console of a node with a gateway: the live feed on
// the same host's /ws.
func DefaultConfig() Config { return Config{WS: "/ws"} }

// page is the body of /admin/config.json.
type page struct {
	WS string `json:"ws"`
}

// file is one file to serve.
type file struct {
	contentType string
	body        []byte
	html        bool
}

type handler struct {
	files map[string]file
	csp   string
}

// Handler serves the console under Prefix: the page at /admin/, its
// modules and styles, /admin/config.json, and the browser client with its
// modules under /admin/lib/ (the same files web serves at /). Only GET and
// HEAD are allowed.
func Handler(cfg Config) (http.Handler, error) {
	connect := "'self'"
	if cfg.WS != "" {
		origin, err := wsOrigin(cfg.WS)
		if err != nil {
			return nil, err
		}
		if origin != "" {
			connect += " " + origin
		}
	}
	h := &handler{
		files: map[string]file{},
		csp: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"connect-src " + connect + "; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}
	err := fs.WalkDir(assets, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(name)
		if err != nil {
			return err
		}
		h.add(strings.TrimPrefix(name, "assets/"), body)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("console: read embedded assets: %v", err)) // the embed is checked at build time
	}
	for name, body := range web.ClientModules() {
		h.add("lib/"+name, body)
	}
	cfgJSON, _ := json.Marshal(page{WS: cfg.WS}) // a struct of strings cannot fail
	h.files["config.json"] = file{contentType: "application/json", body: cfgJSON}
	h.files[""] = h.files["index.html"]
	return h, nil
}

// wsOrigin checks the live feed's address and returns the origin the page
// must be allowed to connect to ("" for a path on its own host).
func wsOrigin(ws string) (string, error) {
	if strings.HasPrefix(ws, "/") && !strings.HasPrefix(ws, "//") {
		return "", nil
	}
	u, err := url.Parse(ws)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return "", fmt.Errorf("%w: WS is %q: it must be a path (/ws) or a ws:// or wss:// URL", ErrInvalidConfig, ws)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (h *handler) add(name string, body []byte) {
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	h.files[name] = file{contentType: ct, body: body, html: path.Ext(name) == ".html"}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	f, found := h.files[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Content-Security-Policy", h.csp)
	if f.html || name == "config.json" {
		hdr.Set("Cache-Control", "no-store")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(f.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(f.body) // the client went away: nothing to do
	}
}

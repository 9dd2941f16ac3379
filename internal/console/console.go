package console

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
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
	// on the console's own host and port ("/ws"); a port and path on the
	// console's host (":8080/ws"), for a console on an internal address
	// beside the public port; or an absolute ws:// or wss:// URL. The
	// Content-Security-Policy allows the console to connect there and
	// nowhere else. "" means the node has none (a logic node): the room
	// screen says so and shows the rest.
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
	// The CSP is cspHead, the origins of a feed on another port of the
	// console's host, and cspTail.
	cspHead, cspTail string
	port             string // the live feed's port on the console's host, for WS ":port/path"
}

// Handler serves the console under Prefix: the page at /admin/, its
// modules and styles, /admin/config.json, and the browser client with its
// modules under /admin/lib/ (the same files web serves at /). Only GET and
// HEAD are allowed.
func Handler(cfg Config) (http.Handler, error) {
	feed, port, err := feedOrigin(cfg.WS)
	if err != nil {
		return nil, err
	}
	h := &handler{
		files:   map[string]file{},
		cspHead: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'" + feed,
		cspTail: "; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		port:    port,
	}
	err = fs.WalkDir(assets, "assets", func(name string, d fs.DirEntry, err error) error {
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
	cfgJSON, _ := json.Marshal(page(cfg)) // a struct of strings cannot fail
	h.files["config.json"] = file{contentType: "application/json", body: cfgJSON}
	h.files[""] = h.files["index.html"]
	return h, nil
}

// feedOrigin checks the live feed's address. It returns what the CSP's
// connect-src must add for it (" wss://host:port" for an absolute URL),
// and the port for the ":port/path" form.
func feedOrigin(ws string) (origin, port string, err error) {
	bad := fmt.Errorf("%w: WS is %q: it must be a path (/ws), a port and path (:8080/ws) or a ws:// or wss:// URL", ErrInvalidConfig, ws)
	switch {
	case ws == "" || (strings.HasPrefix(ws, "/") && !strings.HasPrefix(ws, "//")):
		return "", "", nil
	case strings.HasPrefix(ws, ":"):
		port, path, _ := strings.Cut(ws[1:], "/")
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port || !strings.HasPrefix(ws[1+len(port):], "/") || strings.ContainsAny(path, " ;,") {
			return "", "", bad
		}
		return "", port, nil
	}
	u, err := url.Parse(ws)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" || strings.ContainsAny(u.Host, " ;,") {
		return "", "", bad
	}
	return " " + u.Scheme + "://" + u.Host, "", nil
}

// hostOnly matches the host part of a Host header that may go into the
// CSP: a name, an IPv4 address or a bracketed IPv6 address.
var hostOnly = regexp.MustCompile(`^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$`)

// policy is the CSP of one response. For a feed on another port of the
// console's host, it allows that host's ws:// and wss:// origins on the
// port, taking the host from the request (a Host that is no plain host
// adds nothing).
func (h *handler) policy(r *http.Request) string {
	extra := ""
	if h.port != "" {
		host := r.Host
		if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
			host = host[:i]
		}
		if hostOnly.MatchString(host) {
			extra = " ws://" + host + ":" + h.port + " wss://" + host + ":" + h.port
		}
	}
	return h.cspHead + extra + h.cspTail
}

func (h *handler) add(name string, body []byte) {
	h.files[name] = file{contentType: web.ContentType(name), body: body, html: path.Ext(name) == ".html"}
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
	hdr.Set("Content-Security-Policy", h.policy(r))
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

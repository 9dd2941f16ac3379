package gateway

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/danmaku/danmaku/internal/metrics"
)

// admission decides whether a WebSocket handshake may proceed: the origin
// allow-list, the node's connection cap, the per-IP cap and the node-wide
// rate of new connections. Refusals happen before the upgrade, so they cost
// one HTTP response.
type admission struct {
	origins   map[string]bool // lower-case origins; nil means same origin only
	anyOrigin bool
	rate      *rate.Limiter // nil: no limit

	mu    sync.Mutex // guards perIP
	perIP map[string]int
}

func newAdmission(cfg *Config) *admission {
	a := &admission{perIP: make(map[string]int)}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			a.anyOrigin = true
			continue
		}
		if a.origins == nil {
			a.origins = make(map[string]bool)
		}
		a.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	if cfg.ConnRate > 0 {
		a.rate = rate.NewLimiter(rate.Limit(cfg.ConnRate), max(cfg.ConnBurst, 1))
	}
	return a
}

// refusal is why a handshake is refused.
type refusal struct {
	status int
	reason metrics.HandshakeReason
	text   string
	retry  time.Duration
}

// originAllowed applies the allow-list. Requests without an Origin header
// come from non-browser clients, which the header cannot protect anyway.
func (a *admission) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || a.anyOrigin {
		return true
	}
	if a.origins != nil {
		return a.origins[strings.ToLower(strings.TrimRight(origin, "/"))]
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// admit checks the limits and, on success, counts the connection against
// its IP; release undoes that when the connection closes.
func (g *Gateway) admit(r *http.Request) (ip string, ref *refusal) {
	a := g.admission
	if !a.originAllowed(r) {
		return "", &refusal{http.StatusForbidden, metrics.HandshakeOrigin, "origin not allowed", 0}
	}
	if max := g.cfg.MaxConns; max > 0 && g.conns.Load() >= int64(max) {
		return "", &refusal{http.StatusServiceUnavailable, metrics.HandshakeMaxConns, "server full", 5 * time.Second}
	}
	if a.rate != nil && !a.rate.Allow() {
		return "", &refusal{http.StatusServiceUnavailable, metrics.HandshakeConnRate, "too many new connections", time.Second}
	}
	ip = remoteIP(r)
	a.mu.Lock()
	defer a.mu.Unlock()
	if max := g.cfg.MaxConnsPerIP; max > 0 && a.perIP[ip] >= max {
		return "", &refusal{http.StatusServiceUnavailable, metrics.HandshakeMaxConnsPerIP, "too many connections from your address", 10 * time.Second}
	}
	a.perIP[ip]++
	return ip, nil
}

func (a *admission) release(ip string) {
	if ip == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.perIP[ip]--; a.perIP[ip] <= 0 {
		delete(a.perIP, ip)
	}
}

func (g *Gateway) refuse(w http.ResponseWriter, ref *refusal) {
	g.metrics.HandshakeFailed(ref.reason)
	if ref.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(ref.retry/time.Second)))
	}
	http.Error(w, ref.text, ref.status)
}

// remoteIP is the client's address without the port. Behind a proxy it is
// the proxy's; see docs/operations.md.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

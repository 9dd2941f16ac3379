package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/console"
	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/moderation"
	"github.com/danmaku/danmaku/internal/overview"
	"github.com/danmaku/danmaku/internal/presence"
	"github.com/danmaku/danmaku/internal/relay"
	"github.com/danmaku/danmaku/web"
)

// ServerConfig is everything a node runs with.
type ServerConfig struct {
	// Role is what the node runs; the zero value runs every role.
	Role Role
	// Addr is the public listen address: for a gateway (or every role)
	// /ws, the demo page, /v1/ with logic, /healthz and /readyz; for a
	// logic node /v1/, /healthz and /readyz. Without InternalAddr it
	// serves the internal routes too (see InternalAddr).
	Addr string
	// InternalAddr is the listen address of what viewers from the
	// internet must not reach: /metrics, pprof (/debug/pprof/), the console
	// (/admin/, on a node with logic) and the routes of Internal, besides
	// /healthz, /readyz and, with logic, the API (/v1/), which the console
	// calls on its own origin. Addr then answers those paths but the API
	// with 404. Empty, the default: /metrics and Internal's
	// routes are on Addr, and pprof is nowhere.
	InternalAddr string
	// PublicMetrics serves /metrics on Addr as well when InternalAddr is
	// set (without InternalAddr it is there anyway).
	PublicMetrics bool
	// Internal, when set, gives more internal routes, such as the admin
	// console's "/admin/". It is called once, after the node's parts are
	// created and before its ports listen.
	Internal func(*Server) []Route
	// DrainTimeout spreads the closing of connections on shutdown.
	DrainTimeout time.Duration
	Bus          bus.Config
	// Gateway's MaxRequestBytes, a whole HTTP request on the shared port,
	// follows Logic's MaxBodyBytes with room for headers when it is 0.
	Gateway gateway.Config
	Logic   logic.Config
	Logger  *slog.Logger
	// BlockedWordsFile is the keyword filter's word list, one per line
	// ("" filters nothing). Reload rereads it.
	BlockedWordsFile string
	// APIKeyFile holds more API keys, one per line; Reload rereads it.
	APIKeyFile string
	// Auth configures token verification. When it has no IDKey and no
	// HMAC secret, the key for public user ids is kept in the data
	// directory (user-id.key), so ids stay stable across restarts; a
	// cluster refuses that, since every node must derive the same ids.
	Auth auth.Config
	// AnonymousSend is "on", "off" or "auto" (""): on unless a JWT key is
	// configured.
	AnonymousSend string
}

// Route is a path the internal address serves.
type Route struct {
	// Pattern is an http.ServeMux pattern without method or host:
	// "/admin/" is the subtree.
	Pattern string
	Handler http.Handler
}

// onPublicPort reports whether the public port serves an internal route.
func (c *ServerConfig) onPublicPort(pattern string) bool {
	switch {
	case strings.HasPrefix(pattern, pprofPrefix):
		return false
	case c.InternalAddr == "":
		return true
	}
	return pattern == metricsPath && c.PublicMetrics
}

const (
	metricsPath = "/metrics"
	pprofPrefix = "/debug/pprof/"
)

// clustered reports whether other nodes may share the bus: then sends and
// moderation go through the relay to whichever logic node owns the user,
// and online counts are summed over the gateways.
func (c *ServerConfig) clustered() bool {
	return c.Role != RoleAll || c.Bus.URL != "" || c.Bus.ClusterName != ""
}

// Server is one danmaku node: a gateway, a logic node or both, on one port.
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	metrics  *metrics.Metrics
	bus      *bus.Bus
	mod      *moderation.Store
	filter   *filter.Holder
	gateway  *gateway.Gateway             // nil on a logic node
	logic    *logic.Logic                 // nil on a gateway
	relay    *relay.Server                // logic's side of the relay, when clustered
	sends    *relay.Client                // the gateway's side, when clustered
	presence *presence.Table              // cluster-wide online counts, when clustered
	overview *overview.Table              // every node's stats (this node's published)
	console  atomic.Pointer[http.Handler] // the console at /admin/, with logic; set by startConsole
	api      *http.Server                 // a logic node's own HTTP server
	apiCh    chan error
	addr     string
	routes   []Route      // the internal routes
	internal *http.Server // on InternalAddr, when set
	intCh    chan error
	intAddr  string

	fileKeys int    // API keys read from APIKeyFile at start
	node     string // this node's id in presence, the relay and the stats
}

// StartServer starts a node and returns once it is serving.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := metrics.New()
	cfg.Bus.Logger = log.With("component", "bus")
	b, err := bus.Open(ctx, cfg.Bus)
	if err != nil {
		return nil, err
	}
	m.WatchBus(func() metrics.BusStats {
		st := b.Conn().Stats()
		return metrics.BusStats{InMsgs: st.InMsgs, InBytes: st.InBytes, OutMsgs: st.OutMsgs, OutBytes: st.OutBytes, Reconnects: st.Reconnects, Connected: b.Conn().IsConnected()}
	})
	s := &Server{cfg: cfg, log: log, bus: b, filter: &filter.Holder{}, metrics: m, node: nuid.Next()}
	if err := s.start(ctx, m); err != nil {
		_ = s.stop()
		return nil, err
	}
	s.overview.SetAddr(s.addr)
	return s, nil
}

// start brings up the node's parts on an open bus; on error, stop undoes
// whatever started.
func (s *Server) start(ctx context.Context, m *metrics.Metrics) error {
	cfg, log, b := &s.cfg, s.log, s.bus
	mod, err := moderation.Open(ctx, moderation.Config{Conn: b.Conn(), Logger: log.With("component", "moderation")})
	if err != nil {
		return err
	}
	s.mod = mod
	if cfg.clustered() && cfg.Auth.IDKey == nil && cfg.Auth.HMACSecret == nil {
		return fmt.Errorf("%w: a cluster needs --user-id-key (or --jwt-secret), the same on every node, so that every node gives a user the same public id", errUsage)
	}
	verifier, err := s.verifier()
	if err != nil {
		return err
	}
	if cfg.Role.hasGateway() && cfg.Gateway.RequireAuth && !verifier.Enabled() {
		return fmt.Errorf("%w: --require-auth needs --jwt-secret or --jwt-public-key", errUsage)
	}

	// The gateway is created last but counted from the start: presence
	// reports its rooms, and logic asks it for online counts.
	var gw atomic.Pointer[gateway.Gateway]
	if cfg.clustered() {
		pc := presence.Config{Conn: b.Conn(), Node: s.node, Logger: log.With("component", "presence")}
		if cfg.Role.hasGateway() {
			pc.Local = func() map[string]int64 {
				if g := gw.Load(); g != nil {
					return g.LocalCounts()
				}
				return nil
			}
		}
		if s.presence, err = presence.Start(pc); err != nil {
			return err
		}
	}
	oc := overview.Config{
		Conn: b.Conn(), Registry: m.Registry, Role: cfg.Role.command(), Node: s.node, Version: Version,
		Collect: cfg.Role.hasLogic(), Logger: log.With("component", "overview"),
	}
	if cfg.Role.hasGateway() {
		oc.Rooms = func(fn func(string, int64, uint64)) {
			if g := gw.Load(); g != nil {
				g.EachRoom(fn)
			}
		}
	}
	if s.overview, err = overview.Start(oc); err != nil {
		return err
	}
	if cfg.Role.hasLogic() {
		if err := s.startLogic(m, verifier, func(room string) int64 {
			if g := gw.Load(); g != nil {
				return g.Online(room)
			}
			if s.presence == nil {
				return 0
			}
			return s.presence.Remote(room)
		}); err != nil {
			return err
		}
	}
	if cfg.Role.hasGateway() {
		g, err := s.newGateway(m, verifier)
		if err != nil {
			return err
		}
		gw.Store(g)
		s.gateway = g
	}
	s.routes = s.internalRoutes()
	if err := checkRoutes(s.routes); err != nil {
		return err
	}
	if cfg.Role.hasGateway() {
		if err := s.gateway.Start(cfg.Addr, s.mux()); err != nil {
			return err
		}
		s.addr = s.gateway.Addr().String()
	} else if err := s.serveAPI(); err != nil {
		return err
	}
	if cfg.Role.hasLogic() {
		if err := s.startConsole(); err != nil {
			return err
		}
	}
	if cfg.InternalAddr != "" {
		return s.serveInternal()
	}
	return nil
}

// startLogic creates the logic tier and, in a cluster, serves it to every
// gateway through the relay.
func (s *Server) startLogic(m *metrics.Metrics, verifier *auth.Verifier, online func(string) int64) error {
	cfg, log := &s.cfg, s.log
	if _, err := s.reloadFilter(); err != nil {
		return err
	}
	keys, err := s.apiKeys()
	if err != nil {
		return err
	}
	s.fileKeys = len(keys) - len(cfg.Logic.APIKeys)
	anonymous, err := anonymousSend(cfg.AnonymousSend, verifier.Enabled())
	if err != nil {
		return err
	}
	if anonymous {
		log.Warn("anonymous viewers may send messages: this server is running open (configure --jwt-secret or --jwt-public-key and --anonymous-send=off to require sign-in)")
	}
	lc := cfg.Logic
	lc.Store, lc.Metrics, lc.Logger = s.bus, m, log.With("component", "logic")
	lc.Online = online
	lc.Moderation, lc.Filter, lc.APIKeys = s.mod, s.filter, keys
	if cfg.BlockedWordsFile != "" {
		// Without a file, POST /v1/filter/reload answers 503: nothing to
		// reread.
		lc.ReloadFilter = s.reloadFilter
	}
	lc.PublicID, lc.DenyAnonymousSend, lc.Verifier = verifier.PublicID, !anonymous, verifier
	lc.FilterFile, lc.Overview = cfg.BlockedWordsFile, s.overview
	if s.logic, err = logic.New(lc); err != nil {
		return err
	}
	if cfg.clustered() {
		s.relay, err = relay.Serve(relay.ServerConfig{Conn: s.bus.Conn(), Logic: s.logic, Node: s.node, Logger: log.With("component", "relay")})
	}
	return err
}

// newGateway creates the gateway, sending through this node's logic or,
// in a cluster, through the relay.
func (s *Server) newGateway(m *metrics.Metrics, verifier *auth.Verifier) (*gateway.Gateway, error) {
	cfg := &s.cfg
	gc := cfg.Gateway
	if gc.MaxRequestBytes == 0 && s.logic != nil {
		// Cut off a request too large for the API before it is read whole.
		gc.MaxRequestBytes = int(s.logic.Config().MaxBodyBytes) + 64<<10
	}
	if gc.RequestTimeout == 0 && s.logic != nil {
		// Keep an API request's connection open until the API has answered
		// it, a timeout included.
		gc.RequestTimeout = s.logic.Config().RequestTimeout + 5*time.Second
	}
	gc.History, gc.Metrics, gc.Logger = s.bus, m, s.log.With("component", "gateway")
	gc.Moderation, gc.Verifier = s.mod, verifier
	if cfg.clustered() {
		var err error
		if s.sends, err = relay.NewClient(relay.ClientConfig{Conn: s.bus.Conn(), Logger: s.log.With("component", "relay")}); err != nil {
			return nil, err
		}
		gc.Sender, gc.Moderator, gc.Presence = s.sends, s.sends, s.presence
	} else {
		gc.Sender, gc.Moderator = s.logic, s.logic
	}
	return gateway.New(gc)
}

// mux routes the gateway's port.
func (s *Server) mux() *http.ServeMux {
	mux := s.baseMux()
	mux.Handle("/ws", s.gateway)
	maxRunes := logic.DefaultConfig().MaxTextRunes
	if s.logic != nil {
		maxRunes = s.logic.Config().MaxTextRunes
	}
	mux.Handle("/", web.Handler(web.Options{MaxTextRunes: maxRunes}))
	return mux
}

// baseMux serves what every role does on its public port: the API when
// the node has logic, the health checks, and the internal routes that are
// not the internal address's alone, which it refuses with the 404 of an
// unknown path (for every method, where the demo page would say 405).
func (s *Server) baseMux() *http.ServeMux {
	mux := http.NewServeMux()
	if s.logic != nil {
		mux.Handle("/v1/", s.logic.Handler())
	}
	s.health(mux)
	for _, r := range s.routes {
		if s.cfg.onPublicPort(r.Pattern) {
			mux.Handle(r.Pattern, r.Handler)
		} else {
			mux.Handle(r.Pattern, http.NotFoundHandler())
		}
	}
	return mux
}

// health adds /healthz and /readyz, which both ports serve: load
// balancers probe the public one.
func (s *Server) health(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.gateway != nil && s.gateway.Draining() {
			http.Error(w, "not ready: draining", http.StatusServiceUnavailable)
			return
		}
		if err := s.bus.Ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ready\n"))
	})
}

// internalRoutes are /metrics, pprof, the console (with logic) and the
// routes of cfg.Internal.
func (s *Server) internalRoutes() []Route {
	routes := []Route{
		{metricsPath, promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})},
		{pprofPrefix, http.HandlerFunc(pprof.Index)}, // and the named profiles
		{pprofPrefix + "cmdline", http.HandlerFunc(pprof.Cmdline)},
		{pprofPrefix + "profile", http.HandlerFunc(pprof.Profile)},
		{pprofPrefix + "symbol", http.HandlerFunc(pprof.Symbol)},
		{pprofPrefix + "trace", http.HandlerFunc(pprof.Trace)},
	}
	if s.cfg.Role.hasLogic() {
		routes = append(routes, Route{console.Prefix, http.HandlerFunc(s.serveConsole)})
	}
	if s.cfg.Internal != nil {
		routes = append(routes, s.cfg.Internal(s)...)
	}
	return routes
}

// checkRoutes refuses internal routes that the ports' muxes could not
// take, which http.ServeMux would answer with a panic: a pattern that is
// no path, or one that conflicts with another route or a port's own.
func checkRoutes(routes []Route) (err error) {
	mux := http.NewServeMux()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal routes: %v", r)
		}
	}()
	for _, own := range []string{"/", "/ws", "/v1/", "/healthz", "/readyz"} {
		mux.Handle(own, http.NotFoundHandler())
	}
	for _, r := range routes {
		if !strings.HasPrefix(r.Pattern, "/") || r.Handler == nil {
			return fmt.Errorf("internal route %q: it needs a path pattern and a handler", r.Pattern)
		}
		mux.Handle(r.Pattern, r.Handler)
	}
	return nil
}

// startConsole builds the console once the public port is bound: its live
// feed connects to the node's /ws, which, with an internal address, is on
// the public port rather than the console's own (a logic node has no /ws).
func (s *Server) startConsole() error {
	cc := console.Config{}
	if s.gateway != nil {
		cc = console.DefaultConfig()
		if s.cfg.InternalAddr != "" {
			_, port, _ := net.SplitHostPort(s.addr)
			cc.WS = ":" + port + "/ws"
		}
	}
	h, err := console.Handler(cc)
	if err != nil {
		return err
	}
	s.console.Store(&h)
	return nil
}

// serveConsole serves the console, or 503 in the moment between the
// public port's opening and startConsole.
func (s *Server) serveConsole(w http.ResponseWriter, r *http.Request) {
	h := s.console.Load()
	if h == nil {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// serveAPI runs a logic node's own HTTP server.
func (s *Server) serveAPI() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.addr = ln.Addr().String()
	s.api, s.apiCh = serveHTTP(ln, s.baseMux())
	return nil
}

// serveInternal runs the internal address's HTTP server.
func (s *Server) serveInternal() error {
	ln, err := net.Listen("tcp", s.cfg.InternalAddr)
	if err != nil {
		return fmt.Errorf("internal address: listen %s: %w", s.cfg.InternalAddr, err)
	}
	s.intAddr = ln.Addr().String()
	mux := http.NewServeMux()
	s.health(mux)
	if s.logic != nil {
		// The console here calls the API on its own origin.
		mux.Handle("/v1/", s.logic.Handler())
	}
	for _, r := range s.routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	s.internal, s.intCh = serveHTTP(ln, mux)
	return nil
}

// serveHTTP serves h on ln until the server is shut down or closed; the
// channel gets Serve's error.
func serveHTTP(ln net.Listener, h http.Handler) (*http.Server, chan error) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	ch := make(chan error, 1)
	go func() { ch <- srv.Serve(ln) }()
	return srv, ch
}

// Reload rereads the keyword filter's word list and the API key file
// (SIGHUP). A file that fails to load leaves the previous state in place.
func (s *Server) Reload() error {
	var errs []error
	if n, err := s.reloadFilter(); err != nil {
		errs = append(errs, err)
	} else if s.cfg.BlockedWordsFile != "" {
		s.log.Info("keyword filter reloaded", "words", n)
	}
	if s.logic == nil {
		return errors.Join(errs...)
	}
	if keys, err := s.apiKeys(); err != nil {
		errs = append(errs, err)
	} else {
		s.logic.SetAPIKeys(keys)
		s.log.Info("API keys reloaded", "keys", len(keys))
	}
	return errors.Join(errs...)
}

// verifier builds the token verifier. Public user ids need a key that
// survives restarts: the configured one, the HMAC secret, or one kept in
// the data directory.
func (s *Server) verifier() (*auth.Verifier, error) {
	ac := s.cfg.Auth
	if ac.IDKey == nil && ac.HMACSecret == nil && s.cfg.Bus.DataDir != "" {
		key, err := dataDirKey(filepath.Join(s.cfg.Bus.DataDir, "user-id.key"))
		if err != nil {
			return nil, err
		}
		ac.IDKey = key
	}
	return auth.New(ac)
}

// dataDirKey reads a 32-byte key from path, creating it on first use.
func dataDirKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil && len(data) >= 32:
		return data, nil
	case err == nil:
		// Replacing it would change every public id, and so every mute
		// and ban: refuse instead.
		return nil, fmt.Errorf("user id key %s is shorter than 32 bytes", path)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("user id key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("user id key: %w", err)
	}
	return key, nil
}

func anonymousSend(mode string, haveKeys bool) (bool, error) {
	switch strings.ToLower(mode) {
	case "", "auto":
		return !haveKeys, nil
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("%w: --anonymous-send must be auto, on or off", errUsage)
}

func (s *Server) reloadFilter() (int, error) {
	if s.cfg.BlockedWordsFile == "" {
		return 0, nil
	}
	f, err := filter.Load(s.cfg.BlockedWordsFile)
	if err != nil {
		return 0, err
	}
	s.filter.Store(f)
	return f.Len(), nil
}

// apiKeys is the configured keys plus those in the key file.
func (s *Server) apiKeys() ([]string, error) {
	keys := append([]string(nil), s.cfg.Logic.APIKeys...)
	if s.cfg.APIKeyFile == "" {
		return keys, nil
	}
	data, err := os.ReadFile(s.cfg.APIKeyFile)
	if err != nil {
		return nil, fmt.Errorf("API key file: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			keys = append(keys, line)
		}
	}
	return keys, nil
}

// URL is the node's base URL, e.g. http://127.0.0.1:8080.
func (s *Server) URL() string { return "http://" + s.addr }

// Addr is the bound listen address.
func (s *Server) Addr() string { return s.addr }

// InternalAddr is the bound internal address ("" without one).
func (s *Server) InternalAddr() string { return s.intAddr }

// Metrics returns the node's metrics.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Gateway returns the node's gateway (nil on a logic node).
func (s *Server) Gateway() *gateway.Gateway { return s.gateway }

// Bus returns the node's bus.
func (s *Server) Bus() *bus.Bus { return s.bus }

// Shutdown drains viewers (closing them with 4000 over the drain timeout),
// then stops every part in the reverse order of starting: the bus last,
// which flushes history to disk.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	if s.gateway != nil && s.cfg.DrainTimeout > 0 {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout+5*time.Second)
		if err := s.gateway.Drain(dctx, s.cfg.DrainTimeout); err != nil {
			errs = append(errs, fmt.Errorf("drain: %w", err))
		}
		cancel()
	}
	if s.api != nil {
		if err := s.api.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := <-s.apiCh; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		s.api = nil
	}
	return errors.Join(append(errs, s.stop())...)
}

// stop closes whatever has started, gateway first, bus last.
func (s *Server) stop() error {
	var errs []error
	if s.gateway != nil {
		errs = append(errs, s.gateway.Close())
	}
	if s.api != nil {
		errs = append(errs, s.api.Close())
	}
	if s.relay != nil {
		s.relay.Close()
	}
	if s.sends != nil {
		s.sends.Close()
	}
	if s.presence != nil {
		s.presence.Close()
	}
	if s.overview != nil {
		s.overview.Close()
	}
	if s.internal != nil {
		_ = s.internal.Close()
		if err := <-s.intCh; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		s.internal = nil
	}
	if s.mod != nil {
		errs = append(errs, s.mod.Close())
	}
	return errors.Join(append(errs, s.bus.Close())...)
}

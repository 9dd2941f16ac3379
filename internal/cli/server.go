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

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/console"
	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/moderation"
	"github.com/danmaku/danmaku/internal/presence"
	"github.com/danmaku/danmaku/internal/relay"
	"github.com/danmaku/danmaku/web"
)

// ServerConfig is everything a node runs with.
type ServerConfig struct {
	// Role is what the node runs; the zero value runs every role.
	Role Role
	// Addr is the listen address: for a gateway (or every role) /ws, the
	// demo page, /v1/ with logic, /healthz, /readyz and /metrics; for a
	// logic node /v1/, /healthz, /readyz and /metrics.
	Addr string
	// AdminAddr serves pprof when set ("" disables it).
	AdminAddr string
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
	bus      *bus.Bus
	mod      *moderation.Store
	filter   *filter.Holder
	gateway  *gateway.Gateway // nil on a logic node
	logic    *logic.Logic     // nil on a gateway
	relay    *relay.Server    // logic's side of the relay, when clustered
	sends    *relay.Client    // the gateway's side, when clustered
	presence *presence.Table  // cluster-wide online counts, when clustered
	console  http.Handler     // the console at /admin/, with logic
	api      *http.Server     // a logic node's own HTTP server
	apiCh    chan error
	addr     string
	admin    *http.Server
	adminCh  chan error

	fileKeys int // API keys read from APIKeyFile at start
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
		return metrics.BusStats{InMsgs: st.InMsgs, InBytes: st.InBytes, OutMsgs: st.OutMsgs, OutBytes: st.OutBytes, Reconnects: st.Reconnects}
	})
	s := &Server{cfg: cfg, log: log, bus: b, filter: &filter.Holder{}}
	if err := s.start(ctx, m); err != nil {
		_ = s.stop()
		return nil, err
	}
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
		pc := presence.Config{Conn: b.Conn(), Logger: log.With("component", "presence")}
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
	if !cfg.Role.hasGateway() {
		return s.serveAPI(m)
	}
	g, err := s.newGateway(m, verifier)
	if err != nil {
		return err
	}
	gw.Store(g)
	s.gateway = g
	if err := g.Start(cfg.Addr, s.mux(m)); err != nil {
		return err
	}
	s.addr = g.Addr().String()
	if cfg.AdminAddr != "" {
		s.startAdmin()
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
	lc.Moderation, lc.Filter, lc.ReloadFilter, lc.APIKeys = s.mod, s.filter, s.reloadFilter, keys
	lc.PublicID, lc.DenyAnonymousSend, lc.Verifier = verifier.PublicID, !anonymous, verifier
	if s.logic, err = logic.New(lc); err != nil {
		return err
	}
	cc := console.Config{} // a logic node has no WebSocket endpoint for the live feed
	if cfg.Role.hasGateway() {
		cc = console.DefaultConfig()
	}
	if s.console, err = console.Handler(cc); err != nil {
		return err
	}
	if cfg.clustered() {
		s.relay, err = relay.Serve(relay.ServerConfig{Conn: s.bus.Conn(), Logic: s.logic, Logger: log.With("component", "relay")})
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
func (s *Server) mux(m *metrics.Metrics) *http.ServeMux {
	mux := s.baseMux(m)
	mux.Handle("/ws", s.gateway)
	maxRunes := logic.DefaultConfig().MaxTextRunes
	if s.logic != nil {
		maxRunes = s.logic.Config().MaxTextRunes
	}
	mux.Handle("/", web.Handler(web.Options{MaxTextRunes: maxRunes}))
	return mux
}

// baseMux serves what every role does: the API and the console when the
// node has logic, metrics and the health checks.
func (s *Server) baseMux(m *metrics.Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	if s.logic != nil {
		mux.Handle("/v1/", s.logic.Handler())
		mux.Handle(console.Prefix, s.console)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if (s.gateway != nil && s.gateway.Draining()) || !s.bus.Conn().IsConnected() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// serveAPI runs a logic node's own HTTP server.
func (s *Server) serveAPI(m *metrics.Metrics) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.addr = ln.Addr().String()
	s.api = &http.Server{Handler: s.baseMux(m), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	s.apiCh = make(chan error, 1)
	go func() { s.apiCh <- s.api.Serve(ln) }()
	if s.cfg.AdminAddr != "" {
		s.startAdmin()
	}
	return nil
}

func (s *Server) startAdmin() {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.admin = &http.Server{Addr: s.cfg.AdminAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.adminCh = make(chan error, 1)
	go func() { s.adminCh <- s.admin.ListenAndServe() }()
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
	if s.admin != nil {
		_ = s.admin.Close()
		if err := <-s.adminCh; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if s.mod != nil {
		errs = append(errs, s.mod.Close())
	}
	return errors.Join(append(errs, s.bus.Close())...)
}

package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/metrics"
	"github.com/danmaku/danmaku/internal/moderation"
	"github.com/danmaku/danmaku/web"
)

// ServerConfig is everything "danmaku serve" runs with.
type ServerConfig struct {
	// Addr is the public listen address for /ws, /v1/, the demo page,
	// /healthz, /readyz and /metrics.
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
	// directory (user-id.key), so ids stay stable across restarts.
	Auth auth.Config
	// AnonymousSend is "on", "off" or "auto" (""): on unless a JWT key is
	// configured.
	AnonymousSend string
}

// Server is one danmaku node with every role: embedded NATS, logic and
// gateway on one port.
type Server struct {
	cfg     ServerConfig
	log     *slog.Logger
	bus     *bus.Bus
	mod     *moderation.Store
	filter  *filter.Holder
	gateway *gateway.Gateway
	logic   *logic.Logic
	admin   *http.Server
	adminCh chan error

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
	s := &Server{cfg: cfg, log: log, bus: b, filter: &filter.Holder{}}
	mod, err := moderation.Open(ctx, moderation.Config{Conn: b.Conn(), Logger: log.With("component", "moderation")})
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	s.mod = mod
	fail := func(err error) (*Server, error) {
		_ = mod.Close()
		_ = b.Close()
		return nil, err
	}
	if _, err := s.reloadFilter(); err != nil {
		return fail(err)
	}
	keys, err := s.apiKeys()
	if err != nil {
		return fail(err)
	}
	s.fileKeys = len(keys) - len(cfg.Logic.APIKeys)
	verifier, err := s.verifier()
	if err != nil {
		return fail(err)
	}
	anonymous, err := anonymousSend(cfg.AnonymousSend, verifier.Enabled())
	if err != nil {
		return fail(err)
	}
	if cfg.Gateway.RequireAuth && !verifier.Enabled() {
		return fail(fmt.Errorf("%w: --require-auth needs --jwt-secret or --jwt-public-key", errUsage))
	}
	if anonymous {
		log.Warn("anonymous viewers may send messages: this server is running open (configure --jwt-secret or --jwt-public-key and --anonymous-send=off to require sign-in)")
	}

	// Logic asks the gateway for online counts; the gateway sends through
	// logic. The closure breaks the cycle: g is set before any request.
	var g *gateway.Gateway
	lc := cfg.Logic
	lc.Store, lc.Metrics, lc.Logger = b, m, log.With("component", "logic")
	lc.Online = func(room string) int64 { return g.Online(room) }
	lc.Moderation, lc.Filter, lc.ReloadFilter, lc.APIKeys = mod, s.filter, s.reloadFilter, keys
	lc.PublicID, lc.DenyAnonymousSend = verifier.PublicID, !anonymous
	l, err := logic.New(lc)
	if err != nil {
		return fail(err)
	}
	s.logic = l

	gc := cfg.Gateway
	if gc.MaxRequestBytes == 0 {
		// Cut off a request too large for the API before it is read whole.
		gc.MaxRequestBytes = int(l.Config().MaxBodyBytes) + 64<<10
	}
	gc.History, gc.Sender, gc.Metrics, gc.Logger = b, l, m, log.With("component", "gateway")
	gc.Moderation, gc.Moderator, gc.Verifier = mod, l, verifier
	g, err = gateway.New(gc)
	if err != nil {
		return fail(err)
	}
	s.gateway = g

	mux := http.NewServeMux()
	mux.Handle("/ws", g)
	mux.Handle("/v1/", l.Handler())
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if g.Draining() || !b.Conn().IsConnected() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("/", web.Handler(web.Options{MaxTextRunes: l.Config().MaxTextRunes}))
	if err := g.Start(cfg.Addr, mux); err != nil {
		_ = g.Close()
		return fail(err)
	}
	if cfg.AdminAddr != "" {
		s.startAdmin()
	}
	return s, nil
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
func (s *Server) URL() string { return "http://" + s.gateway.Addr().String() }

// Gateway returns the node's gateway.
func (s *Server) Gateway() *gateway.Gateway { return s.gateway }

// Bus returns the node's bus.
func (s *Server) Bus() *bus.Bus { return s.bus }

// Shutdown drains viewers (closing them with 4000 over the drain timeout),
// then stops the gateway and the bus, which flushes history to disk.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	if s.cfg.DrainTimeout > 0 {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.DrainTimeout+5*time.Second)
		if err := s.gateway.Drain(dctx, s.cfg.DrainTimeout); err != nil {
			errs = append(errs, fmt.Errorf("drain: %w", err))
		}
		cancel()
	}
	errs = append(errs, s.gateway.Close())
	if s.admin != nil {
		_ = s.admin.Close()
		if err := <-s.adminCh; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.mod.Close(), s.bus.Close())
	return errors.Join(errs...)
}

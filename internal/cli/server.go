package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/internal/metrics"
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
	Gateway      gateway.Config
	Logic        logic.Config
	Logger       *slog.Logger
}

// Server is one danmaku node with every role: embedded NATS, logic and
// gateway on one port.
type Server struct {
	cfg     ServerConfig
	log     *slog.Logger
	bus     *bus.Bus
	gateway *gateway.Gateway
	logic   *logic.Logic
	admin   *http.Server
	adminCh chan error
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
	s := &Server{cfg: cfg, log: log, bus: b}

	// Logic asks the gateway for online counts; the gateway sends through
	// logic. The closure breaks the cycle: g is set before any request.
	var g *gateway.Gateway
	lc := cfg.Logic
	lc.Store, lc.Metrics, lc.Logger = b, m, log.With("component", "logic")
	lc.Online = func(room string) int64 { return g.Online(room) }
	l, err := logic.New(lc)
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	s.logic = l

	gc := cfg.Gateway
	gc.History, gc.Sender, gc.Metrics, gc.Logger = b, l, m, log.With("component", "gateway")
	g, err = gateway.New(gc)
	if err != nil {
		_ = b.Close()
		return nil, err
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
	mux.Handle("/", web.Handler(web.Options{MaxTextRunes: lc.MaxTextRunes}))
	if err := g.Start(cfg.Addr, mux); err != nil {
		_ = g.Close()
		_ = b.Close()
		return nil, err
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
	errs = append(errs, s.bus.Close())
	return errors.Join(errs...)
}

package bus

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds how long Open waits for the embedded server.
const readyTimeout = 10 * time.Second

// startServer starts the embedded NATS server with JetStream.
func (b *Bus) startServer() error {
	cfg := b.cfg
	opts := &server.Options{
		ServerName: cfg.ServerName,
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		NoSigs:     true, // the process owner (cli) handles signals
		NoLog:      true, // logs go through SetLoggerV2 below instead
		SyncAlways: cfg.SyncAlways,
	}
	if opts.StoreDir == "" {
		// JetStream wants a store directory even if every stream lives in
		// memory; give it a private one rather than a shared default under
		// /tmp, and remove it on Close.
		dir, err := os.MkdirTemp("", "danmaku-nats-")
		if err != nil {
			return fmt.Errorf("bus: store dir: %w", err)
		}
		b.tempDir, opts.StoreDir = dir, dir
	}
	listen := cfg.Listen
	if listen == "" && cfg.ClusterName != "" {
		listen = "127.0.0.1:0"
	}
	if listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := splitListen(listen)
		if err != nil {
			return fmt.Errorf("%w: Listen: %v", ErrInvalidConfig, err)
		}
		opts.Host, opts.Port = host, port
	}
	if cfg.ClusterName != "" {
		host, port, err := splitListen(cfg.ClusterListen)
		if err != nil {
			return fmt.Errorf("%w: ClusterListen: %v", ErrInvalidConfig, err)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port}
		opts.Routes = server.RoutesFromStr(strings.Join(cfg.Routes, ","))
		if opts.ServerName == "" {
			opts.ServerName = "danmaku-" + cfg.ClusterListen
		}
	}

	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("bus: embedded server: %w", err)
	}
	debug := b.log.Enabled(context.Background(), slog.LevelDebug)
	ns.SetLoggerV2(serverLog{b.log.With("component", "nats")}, debug, false, false)
	b.server = ns
	// Start does not block: the server runs on goroutines of its own, which
	// Shutdown stops and WaitForShutdown waits for (see Close).
	ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		return ErrServerNotReady
	}
	return nil
}

// splitListen parses "host:port"; port 0 asks NATS for a free port.
func splitListen(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portText)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// serverLog adapts slog to nats-server's Logger interface. The embedded
// server's notices (its start-up banner, mostly) are detail for danmaku's
// users, so they log at debug level.
type serverLog struct{ l *slog.Logger }

func (s serverLog) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLog) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLog) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLog) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLog) Tracef(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }

// Fatalf logs at error level. nats-server's own logger exits the process
// here; an embedded server must leave that decision to its owner, which
// sees the failure through Open or the connection instead.
func (s serverLog) Fatalf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }

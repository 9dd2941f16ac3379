package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
)

// runNode runs one node of role until ctx ends (SIGINT, SIGTERM), then
// drains and stops it.
func runNode(ctx context.Context, role Role, args []string, stdout, stderr io.Writer) error {
	fs := newRoleFlagSet(role, stderr)
	o := roleFlags(fs, role)
	if err := o.parse(fs, args); err != nil {
		return err
	}
	if err := o.apply(); err != nil {
		return err
	}
	cfg := &o.cfg
	log, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	cfg.Logger = log
	if o.adminAddr != "" {
		log.Warn("--admin-addr is deprecated: it now means --internal-addr with --public-metrics; use those", "internal_addr", cfg.InternalAddr)
	}
	generated := false
	if role.hasLogic() && len(cfg.Logic.APIKeys) == 0 && cfg.APIKeyFile == "" {
		cfg.Logic.APIKeys = []string{newAPIKey()}
		generated = true
	}
	srv, err := StartServer(ctx, *cfg)
	if err != nil {
		if errors.Is(err, bus.ErrInvalidConfig) || errors.Is(err, gateway.ErrInvalidConfig) || errors.Is(err, logic.ErrInvalidConfig) {
			return fmt.Errorf("%w: %w", errUsage, err) // a flag value out of range
		}
		return err
	}
	printBanner(stdout, role, srv.Addr(), srv.InternalAddr(), cfg, generated, srv.fileKeys)
	attrs := []any{"role", role.command(), "addr", srv.Addr()}
	if srv.InternalAddr() != "" {
		attrs = append(attrs, "internal_addr", srv.InternalAddr())
	}
	log.Info("serving", append(attrs, "data_dir", cfg.Bus.DataDir, "epochs", srv.bus.Epochs())...)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for waiting := true; waiting; {
		select {
		case <-hup:
			if err := srv.Reload(); err != nil {
				log.Error("reload failed; the previous configuration stays", "err", err)
			}
		case <-ctx.Done():
			waiting = false
		}
	}
	log.Info("shutting down: draining viewers", "drain_timeout", cfg.DrainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout+30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func newAPIKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "dmk_" + hex.EncodeToString(b[:])
}

// printBanner tells a new user where everything is and how to post a first
// message: with the generated key itself, or with $KEY standing for one of
// the configured keys, which are never printed. internal is the bound
// internal address or "", fileKeys how many keys the key file held.
func printBanner(w io.Writer, role Role, addr, internal string, cfg *ServerConfig, generated bool, fileKeys int) {
	base := baseURL(addr)
	if role == RoleAll {
		fmt.Fprintf(w, "danmaku %s is running\n\n", Version)
	} else {
		fmt.Fprintf(w, "danmaku %s %s is running\n\n", Version, role.command())
	}
	if role.hasGateway() {
		fmt.Fprintf(w, "  Demo page:  %s/\n", base)
		fmt.Fprintf(w, "  WebSocket:  %s/ws\n", strings.Replace(base, "http", "ws", 1))
	}
	if role.hasLogic() {
		fmt.Fprintf(w, "  HTTP API:   %s/v1/\n", base)
	}
	console := base
	if internal == "" {
		fmt.Fprintf(w, "  Metrics:    %s/metrics\n", base)
	} else {
		in := baseURL(internal)
		console = in
		paths := "/metrics, /debug/pprof/"
		if role.hasLogic() {
			paths += ", /admin/"
		}
		fmt.Fprintf(w, "  Internal:   %s/  (%s; not on the public port)\n", in, paths)
		if cfg.PublicMetrics {
			fmt.Fprintf(w, "  Metrics:    %s/metrics and %s/metrics\n", in, base)
		} else {
			fmt.Fprintf(w, "  Metrics:    %s/metrics\n", in)
		}
	}
	if !role.hasLogic() {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "  Console:    %s/admin/\n", console)
	key := "$KEY"
	if generated {
		key = cfg.Logic.APIKeys[0]
		fmt.Fprintf(w, "  API key:    %s  (generated; pass --api-key or --api-key-file to choose)\n", key)
	} else {
		var from []string
		if n := len(cfg.Logic.APIKeys); n > 0 {
			from = append(from, keyCount(n)+" from --api-key")
		}
		if cfg.APIKeyFile != "" {
			from = append(from, keyCount(fileKeys)+" from "+cfg.APIKeyFile)
		}
		fmt.Fprintf(w, "  API keys:   %s\n", strings.Join(from, ", "))
	}
	fmt.Fprintf(w, "\nTry: curl -H \"Authorization: Bearer %s\" -d '{\"messages\":[{\"text\":\"hello\"}]}' %s/v1/rooms/lobby/messages\n", key, base)
	if !generated {
		fmt.Fprintln(w, "     with KEY set to one of those API keys")
	}
	fmt.Fprintln(w)
}

// baseURL is http:// and addr, with localhost for an unspecified host.
func baseURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func keyCount(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

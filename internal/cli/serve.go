package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
)

// serveFlags registers every serve flag on fs and returns the config they
// fill. A flag for a package's setting takes its default from the package's
// DefaultConfig; settings without a flag stay zero, which New reads as the
// default. docs/operations.md lists the flags, and TestFlagTable keeps that
// list, its defaults and --help the same.
func serveFlags(fs *flag.FlagSet) *serveOptions {
	o := &serveOptions{}
	cfg := &o.cfg
	keys := &o.keys
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.Addr, "addr", ":8080", "public listen address: /ws, /v1/…, demo page, /healthz, /readyz, /metrics")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", "", "admin listen address for pprof (empty: off)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", 10*time.Second, "on SIGTERM, close viewers with 4000 spread over this long")
	fs.Var(keys, "api-key", "HTTP API key (repeatable; env: comma-separated); if none and no --api-key-file, one is generated and printed")

	b, db := &cfg.Bus, bus.DefaultConfig()
	fs.StringVar(&b.DataDir, "data-dir", "./data", "JetStream store directory of the embedded NATS server")
	fs.StringVar(&b.URL, "nats-url", db.URL, "external NATS URL (empty: embed a server)")
	fs.StringVar(&b.Listen, "nats-listen", db.Listen, "client listen address of the embedded NATS server (empty: in-process only)")
	fs.IntVar(&b.HistorySize, "history-size", db.HistorySize, "messages kept per room")
	fs.DurationVar(&b.HistoryTTL, "history-ttl", db.HistoryTTL, "how long messages are kept")

	g, d := &cfg.Gateway, gateway.DefaultConfig()
	fs.IntVar(&g.Buckets, "buckets", d.Buckets, "connection shards (0: 2×GOMAXPROCS)")
	fs.IntVar(&g.MaxRoomsPerConn, "max-rooms-per-conn", d.MaxRoomsPerConn, "rooms one connection may join")
	fs.DurationVar(&g.BatchWindow, "batch-window", d.BatchWindow, "merge window of a busy room (an idle room flushes at once)")
	fs.IntVar(&g.BatchMaxMessages, "batch-max", d.BatchMaxMessages, "messages per batch before an early flush")
	fs.IntVar(&g.MaxPendingBytes, "max-pending-bytes", d.MaxPendingBytes, "unsent bytes a viewer may queue before it is closed with 4008")
	fs.DurationVar(&g.IdleTimeout, "idle-timeout", d.IdleTimeout, "close a silent connection with 4012 after this long")
	fs.DurationVar(&g.HandshakeTimeout, "handshake-timeout", d.HandshakeTimeout, "time allowed for the HTTP upgrade request; idle HTTP keep-alive")
	fs.IntVar(&g.MaxMessageBytes, "max-message-bytes", d.MaxMessageBytes, "largest client message (after decompression); larger closes with 1009")
	fs.IntVar(&g.ReplayCount, "replay-count", d.ReplayCount, "recent messages sent on a fresh join or a resume that cannot recover (0: none)")
	fs.IntVar(&g.RecentPerRoom, "recent-per-room", d.RecentPerRoom, "delivered messages each room keeps in memory for fast resume")
	fs.IntVar(&g.ResumeLimit, "resume-limit", d.ResumeLimit, "most messages one resume replays")
	fs.DurationVar(&g.OnlineInterval, "online-interval", d.OnlineInterval, "least time between two online-count updates of a room")
	fs.Var(&o.origins, "allowed-origins", "Origin values browsers may connect from, repeatable or comma-separated; \"*\" allows any (default: same origin only)")
	fs.IntVar(&g.MaxConns, "max-conns", d.MaxConns, "connections this node accepts; more get HTTP 503 (0: no cap)")
	fs.IntVar(&g.MaxConnsPerIP, "max-conns-per-ip", d.MaxConnsPerIP, "connections from one IP address; more get HTTP 503 (0: no cap)")
	fs.Float64Var(&g.ConnRate, "conn-rate", d.ConnRate, "new connections per second on this node; more get HTTP 503 (0: no cap)")
	fs.IntVar(&g.ConnBurst, "conn-burst", d.ConnBurst, "burst allowed above --conn-rate (0: one second's worth)")
	fs.Float64Var(&g.MessageRate, "msg-rate", d.MessageRate, "messages per second one connection may send; past it rate_limited, then 4013 (negative: no limit)")
	fs.IntVar(&g.MessageBurst, "msg-burst", d.MessageBurst, "burst allowed above --msg-rate")
	fs.BoolVar(&o.compression, "compression", !d.DisableCompression, "offer permessage-deflate to viewers")

	fs.StringVar(&o.jwtSecret, "jwt-secret", "", "HS256 key for viewer tokens: a value, file:PATH or base64:… (empty: no HS256)")
	fs.StringVar(&o.jwtPublicKey, "jwt-public-key", "", "PEM file with the RS256/EdDSA/ES256 public key for viewer tokens (empty: none)")
	fs.Var(&o.jwtAlgorithms, "jwt-algorithms", "allowed JWT algorithms, repeatable or comma-separated (default: those of the configured keys)")
	fs.StringVar(&cfg.Auth.Issuer, "jwt-issuer", "", "required iss claim (empty: not checked)")
	fs.StringVar(&cfg.Auth.Audience, "jwt-audience", "", "required aud claim (empty: not checked)")
	fs.StringVar(&o.userIDKey, "user-id-key", "", "key for the public user ids viewers see: a value, file:PATH or base64:… (default: derived from --jwt-secret, else kept in <data-dir>/user-id.key)")
	fs.BoolVar(&g.RequireAuth, "require-auth", d.RequireAuth, "close connections that do not authenticate within --handshake-timeout with 4501")
	fs.StringVar(&cfg.AnonymousSend, "anonymous-send", "auto", "whether guests may send: on, off, or auto (on only when no JWT key is configured)")
	fs.StringVar(&cfg.APIKeyFile, "api-key-file", "", "file with more HTTP API keys, one per line; reread on SIGHUP")
	fs.StringVar(&cfg.BlockedWordsFile, "blocked-words-file", "", "keyword filter word list, one per line; reread on SIGHUP and POST /v1/filter/reload")
	fs.StringVar(&o.filterMode, "filter-mode", "reject", "keyword filter mode: reject (nack blocked_content) or mask (matched characters become *)")

	l, dl := &cfg.Logic, logic.DefaultConfig()
	fs.IntVar(&l.SendRate, "send-rate", dl.SendRate, "messages one user may send per --send-window (negative: no limit)")
	fs.DurationVar(&l.SendWindow, "send-window", dl.SendWindow, "window of --send-rate")
	fs.DurationVar(&l.DuplicateWindow, "duplicate-window", dl.DuplicateWindow, "refuse the same text from the same user within this (negative: off)")
	fs.IntVar(&l.MaxTextRunes, "max-text-runes", dl.MaxTextRunes, "longest message text, in characters")
	fs.Int64Var(&l.MaxBodyBytes, "max-body-bytes", dl.MaxBodyBytes, "largest HTTP API request body")

	o.logLevel, o.logFormat = logLevel, logFormat
	return o
}

func newServeFlagSet(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("danmaku serve", flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// serveOptions is what the serve flags fill.
type serveOptions struct {
	cfg                 ServerConfig
	keys                stringList
	origins             stringList
	jwtSecret           string
	jwtPublicKey        string
	jwtAlgorithms       stringList
	userIDKey           string
	filterMode          string
	compression         bool
	logLevel, logFormat *string
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newServeFlagSet(stderr)
	o := serveFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg := &o.cfg
	cfg.Gateway.DisableCompression = !o.compression
	cfg.Gateway.AllowedOrigins = o.origins
	if err := o.applyAuth(); err != nil {
		return err
	}
	switch o.filterMode {
	case "reject":
	case "mask":
		cfg.Logic.FilterMask = true
	default:
		return fmt.Errorf("%w: --filter-mode must be reject or mask", errUsage)
	}
	log, err := newLogger(stderr, *o.logLevel, *o.logFormat)
	if err != nil {
		return err
	}
	cfg.Logger = log
	cfg.Logic.APIKeys = o.keys
	generated := false
	if len(cfg.Logic.APIKeys) == 0 && cfg.APIKeyFile == "" {
		cfg.Logic.APIKeys = []string{newAPIKey()}
		generated = true
	}
	if cfg.Bus.DataDir == "" {
		return fmt.Errorf("%w: --data-dir must not be empty", errUsage)
	}
	srv, err := StartServer(ctx, *cfg)
	if err != nil {
		if errors.Is(err, bus.ErrInvalidConfig) || errors.Is(err, gateway.ErrInvalidConfig) || errors.Is(err, logic.ErrInvalidConfig) {
			return fmt.Errorf("%w: %w", errUsage, err) // a flag value out of range
		}
		return err
	}
	printBanner(stdout, srv.gateway.Addr().String(), cfg, generated, srv.fileKeys)
	log.Info("serving", "addr", srv.gateway.Addr().String(), "data_dir", cfg.Bus.DataDir, "epochs", srv.bus.Epochs())
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

// applyAuth reads the key flags into the auth config.
func (o *serveOptions) applyAuth() error {
	var err error
	if o.cfg.Auth.HMACSecret, err = auth.ParseSecret(o.jwtSecret); err != nil {
		return fmt.Errorf("--jwt-secret: %w", err)
	}
	if o.cfg.Auth.IDKey, err = auth.ParseSecret(o.userIDKey); err != nil {
		return fmt.Errorf("--user-id-key: %w", err)
	}
	if o.jwtPublicKey != "" {
		if o.cfg.Auth.PublicKeyPEM, err = auth.LoadPublicKeyFile(o.jwtPublicKey); err != nil {
			return fmt.Errorf("--jwt-public-key: %w", err)
		}
	}
	o.cfg.Auth.Algorithms = o.jwtAlgorithms
	return nil
}

func newAPIKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "dmk_" + hex.EncodeToString(b[:])
}

// printBanner tells a new user where everything is and how to post a first
// message: with the generated key itself, or with $KEY standing for one of
// the configured keys, which are never printed. fileKeys is how many keys
// the key file held.
func printBanner(w io.Writer, addr string, cfg *ServerConfig, generated bool, fileKeys int) {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, "danmaku %s is running\n\n", Version)
	fmt.Fprintf(w, "  Demo page:  %s/\n", base)
	fmt.Fprintf(w, "  WebSocket:  %s/ws\n", strings.Replace(base, "http", "ws", 1))
	fmt.Fprintf(w, "  HTTP API:   %s/v1/\n", base)
	fmt.Fprintf(w, "  Metrics:    %s/metrics\n", base)
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

func keyCount(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

package cli

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
)

// The flags come in groups: every role takes the node's (logging,
// addresses, NATS and history, tokens), a gateway adds the viewers', a
// logic node the API's and the send pipeline's. "danmaku serve" takes them
// all. A flag for a package's setting takes its default from the package's
// DefaultConfig; settings without a flag stay zero, which New reads as the
// default. docs/operations.md lists the flags, and TestFlagTable keeps that
// list, its defaults and --help the same.

// nodeOptions is what the flags fill.
type nodeOptions struct {
	role                Role
	cfg                 ServerConfig
	configFile          string
	adminAddr           string // deprecated alias of --internal-addr
	keys                stringList
	origins             stringList
	jwtSecret           string
	jwtPublicKey        string
	jwtAlgorithms       stringList
	userIDKey           string
	filterMode          string
	compression         bool
	logLevel, logFormat string
}

// roleFlags registers the flags of role on fs.
func roleFlags(fs *flag.FlagSet, role Role) *nodeOptions {
	o := &nodeOptions{role: role}
	o.cfg.Role = role
	fs.StringVar(&o.configFile, configFlag, "", "TOML file of settings, keys named as the flags (danmaku config example prints one); flags and DANMAKU_* variables win over it (empty: none)")
	o.nodeFlags(fs)
	if role.hasGateway() {
		o.gatewayFlags(fs)
	}
	if role.hasLogic() {
		o.logicFlags(fs)
	}
	return o
}

func newRoleFlagSet(role Role, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("danmaku "+role.command(), flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

func (o *nodeOptions) nodeFlags(fs *flag.FlagSet) {
	cfg := &o.cfg
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.Addr, "addr", ":8080", o.role.addrHelp())
	fs.StringVar(&cfg.InternalAddr, "internal-addr", "", "internal listen address for /metrics, pprof and the admin console, which the public port then refuses (empty: /metrics on the public port, no pprof)")
	fs.BoolVar(&cfg.PublicMetrics, "public-metrics", false, "with --internal-addr, serve /metrics on the public port too")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "deprecated: --internal-addr with --public-metrics")

	b, db := &cfg.Bus, bus.DefaultConfig()
	fs.StringVar(&b.DataDir, "data-dir", "./data", "JetStream store directory of the embedded NATS server")
	fs.Var(joinedList{&b.URL}, "nats-url", "external NATS server or cluster, repeatable or comma-separated (empty: embed a server)")
	fs.StringVar(&b.Listen, "nats-listen", db.Listen, "client listen address of the embedded NATS server (empty: in-process only)")
	fs.StringVar(&b.ClusterName, "cluster-name", db.ClusterName, "embedded NATS: join the cluster of this name over routes (empty: standalone)")
	fs.StringVar(&b.ClusterListen, "cluster-listen", db.ClusterListen, "embedded NATS: route listen address, e.g. 0.0.0.0:6222 (needed with --cluster-name)")
	fs.Var((*stringList)(&b.Routes), "routes", "embedded NATS: route URLs of the cluster's servers, e.g. nats://10.0.0.2:6222, repeatable or comma-separated")
	fs.IntVar(&b.HistorySize, "history-size", db.HistorySize, "messages kept per room")
	fs.DurationVar(&b.HistoryTTL, "history-ttl", db.HistoryTTL, "how long messages are kept")
	fs.IntVar(&b.Replicas, "history-replicas", db.Replicas, "copies of the history in a clustered JetStream: 1 or 3 (5 at most)")
	fs.IntVar(&b.Partitions, "history-partitions", db.Partitions, "history streams the rooms are hashed over; cannot change once history exists")
	fs.BoolVar(&b.SyncAlways, "sync-always", db.SyncAlways, "embedded NATS: write every stored message to disk before acknowledging it (default: every 2 minutes)")

	fs.StringVar(&o.jwtSecret, "jwt-secret", "", "HS256 key for viewer tokens: a value, file:PATH or base64:… (empty: no HS256)")
	fs.StringVar(&o.jwtPublicKey, "jwt-public-key", "", "PEM file with the RS256/EdDSA/ES256 public key for viewer tokens (empty: none)")
	fs.Var(&o.jwtAlgorithms, "jwt-algorithms", "allowed JWT algorithms, repeatable or comma-separated (default: those of the configured keys)")
	fs.StringVar(&cfg.Auth.Issuer, "jwt-issuer", "", "required iss claim (empty: not checked)")
	fs.StringVar(&cfg.Auth.Audience, "jwt-audience", "", "required aud claim (empty: not checked)")
	fs.StringVar(&o.userIDKey, "user-id-key", "", "key for the public user ids viewers see: a value, file:PATH or base64:… (default: derived from --jwt-secret, else kept in <data-dir>/user-id.key; a cluster needs one of the first two)")
}

func (o *nodeOptions) gatewayFlags(fs *flag.FlagSet) {
	cfg := &o.cfg
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", 10*time.Second, "on SIGTERM, close viewers with 4000 spread over this long")
	g, d := &cfg.Gateway, gateway.DefaultConfig()
	fs.IntVar(&g.Buckets, "buckets", d.Buckets, "connection shards (0: 2×GOMAXPROCS)")
	fs.IntVar(&g.MaxRoomsPerConn, "max-rooms-per-conn", d.MaxRoomsPerConn, "rooms one connection may join")
	fs.DurationVar(&g.BatchWindow, "batch-window", d.BatchWindow, "longest merge window of a busy room (an idle room flushes at once)")
	fs.Float64Var(&g.BatchBudget, "batch-budget", d.BatchBudget, "share of a core one room's flushes may take: its window is a flush's cost (viewers × CPU per write) ÷ this, at most --batch-window")
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
	fs.IntVar(&g.CompressionLevel, "compression-level", d.CompressionLevel, "deflate level of the compressed copy of each frame, 1 (fastest) to 9 (smallest); built once per frame for all its viewers")
	fs.BoolVar(&g.RequireAuth, "require-auth", d.RequireAuth, "close connections that do not authenticate within --handshake-timeout with 4501")
}

func (o *nodeOptions) logicFlags(fs *flag.FlagSet) {
	cfg := &o.cfg
	fs.Var(&o.keys, "api-key", "HTTP API key (repeatable; env: comma-separated); if none and no --api-key-file, one is generated and printed")
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
	fs.DurationVar(&l.RequestTimeout, "request-timeout", dl.RequestTimeout, "longest an HTTP API request waits for the store before it is answered 503 unavailable")
}

// parse sets the flags from args, then the environment, then the config
// file (--config or DANMAKU_CONFIG), each only where the ones before did
// not.
func (o *nodeOptions) parse(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.configFile == "" {
		return nil
	}
	return loadConfigFile(fs, o.role, o.configFile)
}

// apply turns the parsed flags into the ServerConfig.
func (o *nodeOptions) apply() error {
	cfg := &o.cfg
	cfg.Gateway.DisableCompression = !o.compression
	cfg.Gateway.AllowedOrigins = o.origins
	if err := o.applyAuth(); err != nil {
		return err
	}
	switch o.filterMode {
	case "reject", "":
	case "mask":
		cfg.Logic.FilterMask = true
	default:
		return fmt.Errorf("%w: --filter-mode must be reject or mask", errUsage)
	}
	cfg.Logic.APIKeys = o.keys
	if o.adminAddr != "" {
		if cfg.InternalAddr != "" {
			return fmt.Errorf("%w: --admin-addr is a deprecated alias of --internal-addr: give only --internal-addr", errUsage)
		}
		// What --admin-addr did before: pprof there, /metrics public.
		cfg.InternalAddr, cfg.PublicMetrics = o.adminAddr, true
	}
	if cfg.Bus.DataDir == "" && cfg.Bus.URL == "" {
		return fmt.Errorf("%w: --data-dir must not be empty", errUsage)
	}
	return nil
}

// applyAuth reads the key flags into the auth config.
func (o *nodeOptions) applyAuth() error {
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

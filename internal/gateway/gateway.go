package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/danmaku/danmaku/internal/metrics"
)

// Gateway holds viewer connections and delivers room messages to them.
// This file is its lifecycle; engine.go is nbio, upgrade.go the handshake,
// dispatch.go the client messages, room.go and batcher.go the rooms,
// bucket.go the fan-out.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics

	upgrader  *websocket.Upgrader
	admission *admission
	engine    *nbhttp.Engine
	exec      *executor // runs the engine's callbacks; set with engine
	byFD      *fdIndex  // conns by socket descriptor, for the written-size hook; set with engine
	addr      net.Addr

	fanout *fanout
	rooms  *roomTable
	policy *connPolicy
	nextID atomic.Uint64

	draining atomic.Bool
	closed   atomic.Bool
	conns    atomic.Int64

	stop    chan struct{} // closed by Close
	workers *workers      // goroutines started by the gateway: loops, joins, room loads, gap fills
	unsubs  []func()
	closeMu sync.Mutex // serialises Close
}

// New returns a gateway; Start begins serving.
func New(cfg Config) (*Gateway, error) {
	if cfg.History == nil || cfg.Sender == nil {
		return nil, fmt.Errorf("gateway: Config.History and Config.Sender are required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		stop:    make(chan struct{}),
		workers: newWorkers(),
	}
	writes := newWriteCost()
	g.fanout = newFanout(cfg.Buckets, g.stop, newBucketMetrics(cfg.Metrics), writes)
	g.rooms = newRoomTable(&roomEnv{
		cfg: roomConfig{
			BatchWindow:      cfg.BatchWindow,
			BatchBudget:      cfg.BatchBudget,
			BatchMaxMessages: cfg.BatchMaxMessages,
			RecentPerRoom:    cfg.RecentPerRoom,
			ResumeLimit:      cfg.ResumeLimit,
		},
		history: cfg.History,
		fanout:  g.fanout,
		metrics: cfg.Metrics,
		log:     cfg.Logger,
		workers: g.workers,
		writes:  writes,
	})
	g.policy = newConnPolicy(cfg.MaxPendingBytes, cfg.Metrics)
	g.admission = newAdmission(&g.cfg)
	g.upgrader = g.newUpgrader()
	return g, nil
}

// Metrics returns the gateway's metrics.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// Start listens on addr and serves handler there; requests for the
// WebSocket path should reach ServeHTTP through it. It returns once the
// listener is bound.
func (g *Gateway) Start(addr string, handler http.Handler) error {
	if g.closed.Load() {
		return ErrClosed
	}
	if err := g.startEngine(addr, handler); err != nil {
		return err
	}
	for _, b := range g.fanout.buckets {
		g.workers.Go(func(context.Context) { b.run() })
	}
	g.workers.Go(func(context.Context) { g.sweepLoop() })
	g.workers.Go(func(context.Context) { g.onlineLoop() })
	if g.cfg.Moderation != nil {
		g.unsubs = append(g.unsubs, g.cfg.Moderation.OnBan(g.onBan))
	}
	unsub, err := g.cfg.History.SubscribeBroadcast(g.onBroadcast)
	if err != nil {
		return fmt.Errorf("gateway: subscribe broadcast: %w", err)
	}
	g.unsubs = append(g.unsubs, unsub)
	if unsub, err = g.cfg.History.SubscribeUsers(g.onUserPush); err != nil {
		return fmt.Errorf("gateway: subscribe user pushes: %w", err)
	}
	g.unsubs = append(g.unsubs, unsub)
	return nil
}

// Addr is the bound listen address (after Start).
func (g *Gateway) Addr() net.Addr { return g.addr }

// Connections is the number of open viewer connections.
func (g *Gateway) Connections() int64 { return g.conns.Load() }

// Online returns the viewers of room: on this gateway, and on the others
// as Config.Presence reports them.
func (g *Gateway) Online(room string) int64 { return g.withRemote(room, g.rooms.online(room)) }

// LocalCounts returns the viewers of every room on this gateway, for the
// presence reports.
func (g *Gateway) LocalCounts() map[string]int64 { return g.rooms.counts() }

// EachRoom calls fn for every room on this gateway with its viewers here
// and the number of its messages this gateway has put into batches since
// the room opened here (a room that closes and opens again starts from 0).
// It is for the node stats, which turn the counts into rates. fn runs
// outside the gateway's locks.
func (g *Gateway) EachRoom(fn func(room string, viewers int64, messages uint64)) {
	g.rooms.each(func(r *room) { fn(r.name, r.viewers.Load(), r.messages.Load()) })
}

func (g *Gateway) withRemote(room string, local int64) int64 {
	if g.cfg.Presence == nil {
		return local
	}
	return local + g.cfg.Presence.Remote(room)
}

// Draining reports whether Drain has begun.
func (g *Gateway) Draining() bool { return g.draining.Load() }

// Close stops the gateway: the listener, every connection, and every
// goroutine it started. Close after Drain for a graceful stop.
func (g *Gateway) Close() error {
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	if g.closed.Swap(true) {
		return nil
	}
	for _, u := range g.unsubs {
		u()
	}
	close(g.stop)
	g.workers.cancel()
	if g.engine != nil {
		stopEngine(g.engine, g.log)
		g.exec.close()
	}
	g.rooms.closeAll()
	g.workers.wait()
	return nil
}

// workers owns the goroutines a gateway starts: Go runs fn with a context
// that Close cancels, and Close waits for every fn to return.
type workers struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWorkers() *workers {
	w := &workers{}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

func (w *workers) Go(fn func(ctx context.Context)) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		fn(w.ctx)
	}()
}

func (w *workers) wait() { w.wg.Wait() }

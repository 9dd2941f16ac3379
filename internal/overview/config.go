package overview

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/danmaku/danmaku/internal/defaults"
)

// Config configures a Table. DefaultConfig returns the defaults; a zero
// field means what its comment says.
type Config struct {
	// Conn is the node's NATS connection. Required.
	Conn *nats.Conn
	// Registry is the node's Prometheus registry (metrics.Metrics.Registry),
	// which every sample gathers. Required.
	Registry prometheus.Gatherer
	// Role is the node's role: RoleServe, RoleGateway or RoleLogic.
	// Required.
	Role string
	// Node is this node's id, one NATS subject token of [A-Za-z0-9_-]; ""
	// picks a random one. Give the id presence and the relay use.
	Node string
	// Addr is the node's listen address as the snapshots show it ("" for
	// none yet); SetAddr changes it once the listener is bound.
	Addr string
	// Version is the node's version, as shown.
	Version string
	// Rooms calls its argument for every room the node's gateway holds
	// (gateway.Gateway.EachRoom). nil: the node holds no rooms.
	Rooms func(fn func(room string, viewers int64, messages uint64))
	// Collect keeps every node's latest snapshot for Nodes and Rooms: set
	// it on nodes that serve the HTTP API. The zero value only publishes.
	Collect bool
	// Interval is how often the node samples and publishes. 0 means the
	// default.
	Interval time.Duration
	// Expiry drops a node not heard from for this long. 0 means the
	// default.
	Expiry time.Duration
	// MaxRooms caps a snapshot's rooms: the top MaxRooms by viewers and
	// the top MaxRooms by messages per second. 0 means the default; at
	// most 2000.
	MaxRooms int
	// Logger; nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults of Config's zero fields.
func DefaultConfig() Config {
	return Config{Interval: time.Second, Expiry: 10 * time.Second, MaxRooms: 1000}
}

// maxMaxRooms bounds MaxRooms, and so the rooms a snapshot may list.
const maxMaxRooms = 2000

// withDefaults fills the zero fields and refuses what cannot work, by the
// rule of internal/defaults.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	var errs []error
	if c.Conn == nil || c.Registry == nil {
		errs = append(errs, errors.New("Config.Conn and Config.Registry are required"))
	}
	if c.Role != RoleServe && c.Role != RoleGateway && c.Role != RoleLogic {
		errs = append(errs, fmt.Errorf("Config.Role is %q: it must be serve, gateway or logic", c.Role))
	}
	defaults.Or(&c.Node, nuid.Next())
	if !validNode(c.Node) {
		errs = append(errs, fmt.Errorf("Config.Node %q is not 1–%d characters of [A-Za-z0-9_-]", c.Node, maxNode))
	}
	errs = append(errs,
		defaults.Positive("Interval", &c.Interval, d.Interval),
		defaults.Positive("Expiry", &c.Expiry, d.Expiry),
		defaults.PositiveUpTo("MaxRooms", &c.MaxRooms, d.MaxRooms, maxMaxRooms),
	)
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("overview: %w", err)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/danmaku/danmaku/internal/defaults"
	"github.com/danmaku/danmaku/protocol"
)

// ClientConfig configures a Client. Zero values mean the defaults named.
type ClientConfig struct {
	// Conn is the gateway's NATS connection. Required.
	Conn *nats.Conn
	// Timeout bounds one request, when the caller's context allows longer.
	// 0 means 5s.
	Timeout time.Duration
	// HeartbeatInterval is the logic nodes' (ServerConfig's); a node not
	// heard from for three intervals is taken for gone. 0 means 1s.
	HeartbeatInterval time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultClientTimeout is the default of ClientConfig.Timeout.
const DefaultClientTimeout = 5 * time.Second

// Client is a gateway's way to the logic tier over NATS: it implements the
// gateway's Sender and Moderator.
type Client struct {
	cfg ClientConfig
	sub *nats.Subscription

	mu    sync.Mutex           // guards nodes
	nodes map[string]time.Time // live logic nodes, by id: last heard from
}

// NewClient starts following the logic nodes' heartbeats.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Conn == nil {
		return nil, errors.New("relay: ClientConfig.Conn is required")
	}
	err := errors.Join(
		defaults.Positive("Timeout", &cfg.Timeout, DefaultClientTimeout),
		defaults.Positive("HeartbeatInterval", &cfg.HeartbeatInterval, DefaultHeartbeatInterval),
	)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, nodes: make(map[string]time.Time)}
	sub, err := cfg.Conn.Subscribe(nodesSubject, c.onHeartbeat)
	if err != nil {
		return nil, fmt.Errorf("relay: subscribe %s: %w", nodesSubject, err)
	}
	c.sub = sub
	return c, nil
}

// Close stops following heartbeats; requests still work, through the queue
// group.
func (c *Client) Close() { _ = c.sub.Unsubscribe() }

func (c *Client) onHeartbeat(m *nats.Msg) {
	var hb heartbeat
	if json.Unmarshal(m.Data, &hb) != nil || hb.Node == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hb.Leaving {
		delete(c.nodes, hb.Node)
	} else {
		c.nodes[hb.Node] = c.cfg.Now()
	}
}

// owner is the live node with the highest rendezvous hash for user, or ""
// when no node is known.
func (c *Client) owner(user string) string {
	expired := c.cfg.Now().Add(-3 * c.cfg.HeartbeatInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	best, bestScore := "", uint64(0)
	for node, seen := range c.nodes {
		if seen.Before(expired) {
			delete(c.nodes, node)
			continue
		}
		if s := score(user, node); best == "" || s > bestScore || (s == bestScore && node < best) {
			best, bestScore = node, s
		}
	}
	return best
}

// score is the rendezvous hash of a (user, node) pair.
func score(user, node string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(user))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(node))
	return h.Sum64()
}

// Send relays a viewer's send to the owner of its user, or to any logic
// node if the owner is unknown or does not answer.
func (c *Client) Send(ctx context.Context, user protocol.User, msg *protocol.ClientMessage) (uint64, string, error) {
	subject := sendSubject
	owner := c.owner(user.ID)
	if owner != "" {
		subject = ownerSubject(owner)
	}
	rep, err := c.request(ctx, subject, user, msg)
	if owner != "" && errors.Is(err, nats.ErrNoResponders) {
		c.forget(owner) // it died without a goodbye: any node will do
		rep, err = c.request(ctx, sendSubject, user, msg)
	}
	if err != nil {
		return 0, "", err
	}
	if err := rep.err(); err != nil {
		return 0, "", err
	}
	return rep.Offset, rep.ID, nil
}

// Moderate relays a moderator's request to any logic node.
func (c *Client) Moderate(ctx context.Context, by protocol.User, msg *protocol.ClientMessage) error {
	rep, err := c.request(ctx, moderateSubject, by, msg)
	if err != nil {
		return err
	}
	return rep.err()
}

func (c *Client) forget(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.nodes, node)
}

// request sends one op and waits for its reply. Transport failures become
// unavailable errors; nats.ErrNoResponders stays recognisable inside.
func (c *Client) request(ctx context.Context, subject string, user protocol.User, msg *protocol.ClientMessage) (reply, error) {
	m := *msg
	m.Token = "" // never relay a token
	data, err := json.Marshal(request{User: user, Msg: &m})
	if err != nil {
		return reply{}, fmt.Errorf("relay: encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := c.cfg.Conn.RequestWithContext(ctx, subject, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return reply{}, &unavailable{protocol.Errorf(protocol.CodeUnavailable, "no logic node is reachable; retry"), err}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return reply{}, &unavailable{protocol.Errorf(protocol.CodeUnavailable, "the logic tier did not answer in time; the message may or may not be stored"), err}
	case err != nil:
		c.cfg.Logger.Warn("relay request failed", "subject", subject, "err", err)
		return reply{}, &unavailable{protocol.Errorf(protocol.CodeUnavailable, "the logic tier is unreachable; retry"), err}
	}
	var rep reply
	if err := json.Unmarshal(resp.Data, &rep); err != nil {
		return reply{}, &unavailable{protocol.Errorf(protocol.CodeUnavailable, "malformed reply from the logic tier"), err}
	}
	return rep, nil
}

// unavailable is a *protocol.CodeError for the viewer that still tells
// errors.Is what went wrong underneath.
type unavailable struct {
	*protocol.CodeError
	cause error
}

func (u *unavailable) Unwrap() []error { return []error{u.CodeError, u.cause} }

package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/danmaku/danmaku/internal/defaults"
	"github.com/danmaku/danmaku/internal/ticker"
	"github.com/danmaku/danmaku/protocol"
)

// Logic is what a logic node serves; *logic.Logic implements it.
type Logic interface {
	Send(ctx context.Context, user protocol.User, msg *protocol.ClientMessage) (offset uint64, msgID string, err error)
	Moderate(ctx context.Context, by protocol.User, msg *protocol.ClientMessage) error
}

// ServerConfig configures a Server. Zero values mean the defaults named.
type ServerConfig struct {
	// Conn is the node's NATS connection. Required.
	Conn *nats.Conn
	// Logic handles the requests. Required.
	Logic Logic
	// Node names this logic node among the others; "" picks a random id.
	Node string
	// Workers is how many requests of each kind the node handles at once
	// (one NATS subscription each, in the queue group). 0 means 32.
	Workers int
	// Timeout bounds one request's work. 0 means 10s.
	Timeout time.Duration
	// HeartbeatInterval is how often the node announces itself to the
	// gateways. 0 means 1s.
	HeartbeatInterval time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Defaults of ServerConfig's zero fields.
const (
	DefaultWorkers           = 32
	DefaultServerTimeout     = 10 * time.Second
	DefaultHeartbeatInterval = time.Second
)

// withDefaults fills the zero fields and refuses what cannot work, by the
// rule of internal/defaults.
func (cfg ServerConfig) withDefaults() (ServerConfig, error) {
	if cfg.Conn == nil || cfg.Logic == nil {
		return cfg, errors.New("relay: ServerConfig.Conn and Logic are required")
	}
	err := errors.Join(
		defaults.Positive("Workers", &cfg.Workers, DefaultWorkers),
		defaults.Positive("Timeout", &cfg.Timeout, DefaultServerTimeout),
		defaults.Positive("HeartbeatInterval", &cfg.HeartbeatInterval, DefaultHeartbeatInterval),
	)
	if err != nil {
		return cfg, fmt.Errorf("relay: %w", err)
	}
	defaults.Or(&cfg.Node, nuid.Next())
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// Server serves a logic node's sends and moderation to every gateway.
type Server struct {
	cfg  ServerConfig
	subs []*nats.Subscription

	drained sync.WaitGroup // one per subscription, done when its handler can no longer run
	stop    chan struct{}
	loop    sync.WaitGroup // the heartbeat goroutine
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
}

// Serve subscribes and starts announcing the node.
func Serve(cfg ServerConfig) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, stop: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	routes := []struct {
		subject string
		handle  func(context.Context, *request) reply
	}{
		{sendSubject, s.send},
		{ownerSubject(cfg.Node), s.send},
		{moderateSubject, s.moderate},
	}
	for _, rt := range routes {
		for range cfg.Workers {
			sub, err := cfg.Conn.QueueSubscribe(rt.subject, queueGroup, func(m *nats.Msg) { s.serve(m, rt.handle) })
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("relay: subscribe %s: %w", rt.subject, err)
			}
			s.drained.Add(1)
			sub.SetClosedHandler(func(string) { s.drained.Done() })
			s.subs = append(s.subs, sub)
		}
	}
	// Gateways learn about the node only once the subscriptions exist.
	if err := cfg.Conn.Flush(); err != nil {
		s.Close()
		return nil, fmt.Errorf("relay: flush subscriptions: %w", err)
	}
	s.announce(false)
	s.loop.Add(1)
	go func() { defer s.loop.Done(); s.heartbeats() }()
	return s, nil
}

// Node is the node's id.
func (s *Server) Node() string { return s.cfg.Node }

func (s *Server) heartbeats() {
	ticker.Every(s.stop, s.cfg.HeartbeatInterval, func(time.Time) { s.announce(false) })
}

func (s *Server) announce(leaving bool) {
	data, _ := json.Marshal(heartbeat{Node: s.cfg.Node, Leaving: leaving})
	if err := s.cfg.Conn.Publish(nodesSubject, data); err != nil {
		s.cfg.Logger.Warn("logic heartbeat not sent", "err", err)
	}
}

func (s *Server) serve(m *nats.Msg, handle func(context.Context, *request) reply) {
	var rep reply
	if req, err := decodeRequest(m.Data); err != nil {
		rep = reply{Code: protocol.CodeBadRequest, Message: "malformed relay request"}
	} else {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
		rep = handle(ctx, req)
		cancel()
	}
	data, _ := json.Marshal(rep)
	if err := m.Respond(data); err != nil {
		s.cfg.Logger.Warn("relay reply not sent", "subject", m.Subject, "err", err)
	}
}

func (s *Server) send(ctx context.Context, req *request) reply {
	offset, id, err := s.cfg.Logic.Send(ctx, req.User, req.Msg)
	if err != nil {
		return s.errorReply("send", err)
	}
	return reply{Offset: offset, ID: id}
}

func (s *Server) moderate(ctx context.Context, req *request) reply {
	if err := s.cfg.Logic.Moderate(ctx, req.User, req.Msg); err != nil {
		return s.errorReply("moderate", err)
	}
	return reply{}
}

// errorReply turns an error into the reply the gateway turns back into
// it: a code error as it is, anything else as unavailable (logged here,
// since the gateway only sees the code).
func (s *Server) errorReply(op string, err error) reply {
	var ce *protocol.CodeError
	if !errors.As(err, &ce) {
		s.cfg.Logger.Warn("relayed op failed", "op", op, "err", err)
		ce = protocol.Errorf(protocol.CodeUnavailable, "the logic tier failed; retry")
	}
	return reply{Code: ce.Code, Message: ce.Message, RetryAfterMs: ce.RetryAfter.Milliseconds()}
}

// drainTimeout bounds how long Close waits for requests in progress.
const drainTimeout = 5 * time.Second

// Close says goodbye to the gateways, finishes the requests already taken
// and stops. Requests that were on their way are answered by other nodes or
// time out.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.stop)
		s.loop.Wait()
		s.announce(true)
		for _, sub := range s.subs {
			if err := sub.Drain(); err != nil {
				_ = sub.Unsubscribe()
			}
		}
		done := make(chan struct{})
		go func() { s.drained.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(drainTimeout):
			s.cancel() // let the handlers give up
			<-done
		}
		s.cancel()
	})
}

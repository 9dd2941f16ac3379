package client

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/protocol"
)

// stableAfter is how long a connection must last before the reconnect
// backoff starts over. A server that accepts and drops at once (overloaded,
// draining) keeps being retried with growing delays instead of in a loop.
const stableAfter = 10 * time.Second

// Client is a connection to a danmaku server that survives disconnects. It
// is safe for concurrent use. Create it with Dial or DialAny; stop it with
// Close.
type Client struct {
	servers  servers // the supervisor's alone once Dial has returned
	opts     Options
	log      *slog.Logger
	idPrefix string        // makes send ids unique across clients and reconnects
	seq      atomic.Uint64 // send ids and ping tokens

	ctx    context.Context // parent of every connection; cancelled by Close
	cancel context.CancelFunc
	events chan Event
	done   chan struct{} // closed when the supervisor has returned
	once   sync.Once     // guards the start of Close

	mu      sync.Mutex // guards the fields below
	sess    *session   // the live connection; nil while reconnecting
	ready   chan struct{}
	closing bool  // Close was called
	err     error // why the client stopped; nil while it runs
	user    *protocol.User
	rooms   map[string]*room
	ctrl    []*ctrlRequest         // join and leave requests awaiting replies, in wire order
	sends   map[string]chan result // by send id
	pings   map[uint64]chan result // by ping token
}

// result is the reply a waiting call receives.
type result struct {
	joined protocol.Joined
	ack    protocol.Ack
	err    error
}

// Dial connects to url (ws://host:port/ws, wss://, or http(s)://) and, when
// opts.Token is set, authenticates. It returns an error, and starts nothing,
// if this first attempt fails: reconnecting applies only to a connection that
// once worked. ctx bounds this first attempt only. It is DialAny with one
// URL, which is also the way to use a load balancer.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	return DialAny(ctx, []string{url}, opts)
}

// DialAny is Dial with the URLs of several nodes of one cluster. Every node
// holds the same rooms, history and epochs, so a client resumes on any of
// them as it would on the one it left.
//
// The client starts at a random URL, so that viewers given the same list
// spread over it, and moves on to the next URL whenever an attempt fails or
// a connection ends. The first attempt tries each URL once, in list order
// from the random one: DialAny fails only if every one fails, and at once if
// one refuses the token. After that:
//
//   - A 4000 close (the node is draining) reconnects at once to another URL,
//     unless a whole round has failed since the last stable connection.
//   - A handshake refused with Retry-After, or a 4013 close with retry=<ms>,
//     keeps the client off that URL for that long; it tries the others
//     meanwhile, and waits only when every URL is held back.
//   - The backoff ceiling doubles once per round, a round being one attempt
//     per URL, so a dead node among live ones does not make the waits grow.
func DialAny(ctx context.Context, urls []string, opts Options) (*Client, error) {
	if len(urls) == 0 {
		return nil, errors.New("client: no server URL")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		servers:  newServers(slices.Clone(urls), opts.random),
		opts:     opts,
		log:      opts.Logger,
		idPrefix: randomPrefix(),
		events:   make(chan Event, opts.MessageBuffer),
		done:     make(chan struct{}),
		ready:    make(chan struct{}),
		rooms:    make(map[string]*room),
		sends:    make(map[string]chan result),
		pings:    make(map[uint64]chan result),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var errs []error
	for range urls {
		i, _ := c.servers.pick(time.Now(), -1)
		conn, err := c.connect(ctx, urls[i])
		if err == nil {
			go c.run(conn, i)
			return c, nil
		}
		c.servers.tried(i, retryHint(err), time.Now())
		if len(urls) > 1 {
			err = fmt.Errorf("%s: %w", urls[i], err)
		}
		errs = append(errs, err)
		if permanent(err) || ctx.Err() != nil {
			break
		}
	}
	c.cancel()
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// Events returns the channel of everything the server pushes and every
// connection state change, in order. It is closed after the client stops,
// with a StateClosed event as its last value. Receive from it promptly: a
// full channel blocks reading (see the package doc on slow consumers).
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed once the client has stopped, by Close or for a reason Err
// reports, and every goroutine it started has returned.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client stopped: nil while it runs, ErrClosed after
// Close, or the error that forbade reconnecting (a *CloseError with a
// 4500–4999 code, ErrAuthRefused, or with DisableReconnect any cause).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// User returns the user the server authenticated, if a Token was given.
func (c *Client) User() (protocol.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user == nil {
		return protocol.User{}, false
	}
	return *c.user, true
}

// Close closes the connection with code 1000 and stops the client. It waits
// until every goroutine the client started has returned, and is safe to call
// more than once and from any goroutine, including one reading Events.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closing = true
		s := c.sess
		c.mu.Unlock()
		if s != nil {
			s.closeNormal()
		}
		c.cancel()
	})
	<-c.done
	return nil
}

// emit delivers ev, blocking while the channel is full, until the client is
// closed. It reports whether ev was delivered.
func (c *Client) emit(ev Event) bool {
	select {
	case c.events <- ev:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// run is the supervisor: it owns every connection and every goroutine, and
// reconnects until the client stops. conn is connected to URL number cur.
func (c *Client) run(conn *websocket.Conn, cur int) {
	defer close(c.done)
	defer close(c.events)
	urls := c.servers.urls
	bo := backoff{min: c.opts.MinBackoff, max: c.opts.MaxBackoff, random: c.opts.random, perRound: len(urls)}
	for {
		s := c.startSession(conn, urls[cur])
		cause := s.wait()
		if time.Since(s.started) >= stableAfter {
			bo.reset()
		}
		c.endSession(s, cause)
		if c.stopping() {
			c.finish(ErrClosed)
			return
		}
		c.log.Info("danmaku: disconnected", "url", urls[cur], "err", cause)
		if c.opts.DisableReconnect || permanent(cause) {
			c.finish(cause)
			return
		}
		now := time.Now()
		c.servers.tried(cur, retryHint(cause), now)
		// A draining node closes a connection that worked, and spreads those
		// closes over its drain timeout (internal/gateway/drain.go), so
		// moving to another node at once brings no herd. Once a round has
		// failed, the cluster is in trouble and the backoff applies.
		avoid, hurry := -1, false
		if drained(cause) && len(urls) > 1 {
			avoid, hurry = cur, bo.rounds() == 0
		}
		for attempt := 1; ; attempt++ {
			i, free := c.servers.pick(now, avoid)
			delay := bo.next()
			if hurry {
				delay = 0
			}
			delay = max(delay, free.Sub(now))
			c.emit(Event{Kind: EventState, State: StateReconnecting, Delay: delay, Attempt: attempt, Err: cause, URL: urls[i]})
			if !c.sleep(delay) {
				c.finish(ErrClosed)
				return
			}
			var err error
			conn, err = c.connect(c.ctx, urls[i])
			if err == nil {
				cur = i
				break
			}
			if c.stopping() {
				c.finish(ErrClosed)
				return
			}
			c.log.Info("danmaku: reconnect failed", "url", urls[i], "attempt", attempt, "err", err)
			if permanent(err) {
				c.finish(err)
				return
			}
			now = time.Now()
			c.servers.tried(i, retryHint(err), now)
			avoid, hurry = -1, false
			cause = err
		}
	}
}

// stopping reports whether Close was called.
func (c *Client) stopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// sleep waits for d or until the client is closed, and reports whether d
// passed.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// finish records why the client stopped, fails every call still waiting, and
// sends the last event.
func (c *Client) finish(err error) {
	c.mu.Lock()
	if c.closing {
		err = ErrClosed
	}
	c.err = err
	for _, r := range c.rooms {
		r.fail(err)
	}
	c.mu.Unlock()
	c.log.Info("danmaku: stopped", "err", err)
	if err == ErrClosed {
		// Close was called: the application asked for the end and may no
		// longer be receiving, so the last event is only offered.
		select {
		case c.events <- Event{Kind: EventState, State: StateClosed}:
		default:
		}
	} else {
		// The server ended it: make sure the application hears why. Close
		// unblocks this if nobody receives.
		c.emit(Event{Kind: EventState, State: StateClosed, Err: err})
	}
	c.cancel()
}

// waitSession returns the live connection, waiting for a reconnect if
// needed.
func (c *Client) waitSession(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s, ready, err := c.sess, c.ready, c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if s != nil {
			return s, nil
		}
		select {
		case <-ready:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// nextID returns a fresh client id for a send.
func (c *Client) nextID() string {
	return c.idPrefix + strconv.FormatUint(c.seq.Add(1), 36)
}

// randomPrefix makes send ids unique across clients, so a server that
// deduplicates sends by id never confuses two clients' messages.
func randomPrefix() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return fmt.Sprintf("%s-", base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

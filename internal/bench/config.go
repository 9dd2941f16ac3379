package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/danmaku/danmaku/internal/defaults"
)

// Config describes one bench run. A zero field means what its comment says:
// where zero is no useful value (a duration, a count), it means the default
// from DefaultConfig, or the scenario's default listed in Scenarios, and a
// negative value is refused unless the comment gives it a meaning.
type Config struct {
	// Scenario is one of the names in Scenarios. Required.
	Scenario string

	// URL targets a running server: its WebSocket endpoint (ws://…/ws) or
	// its HTTP base (http://host:port, /ws is appended). Empty starts a
	// server with ServerCommand and stops it at the end.
	URL string
	// APIURL is the HTTP API base. Empty derives it from URL.
	APIURL string
	// APIKey for the HTTP API of a running server. Ignored when the bench
	// starts the server (it generates one).
	APIKey string
	// ServerPID is the process to sample for RSS and CPU when URL is set.
	// 0 samples nothing.
	ServerPID int
	// ServerCommand is the argv that runs "danmaku serve" (e.g. the
	// executable and "serve"). Used when URL is empty.
	ServerCommand []string
	// ServerArgs are extra flags for the started server; they come after
	// the bench's own, so they win.
	ServerArgs []string
	// WorkerCommand is the argv that runs one worker process ("danmaku
	// bench --internal-worker"). Empty runs workers as goroutines of this
	// process (tests; small runs only: the open-file limit is per process).
	WorkerCommand []string

	// Viewers is the number of connections. 0 means the scenario's default.
	Viewers int
	// Rooms spreads viewers over this many rooms (viewer i joins room
	// i mod Rooms). 0 means the scenario's default.
	Rooms int
	// Rate is the messages per second published over all rooms. 0 means
	// the scenario's default.
	Rate float64
	// Batch is the messages per publish request. 0 means the scenario's
	// default.
	Batch int
	// Duration is how long the measured part runs (publishing or sending).
	// 0 means the default.
	Duration time.Duration
	// Warmup runs before Duration; its latencies are not recorded, its
	// messages are counted. 0 means the default; negative means none.
	Warmup time.Duration
	// Settle is how long idle connections rest before RSS is read. 0 means
	// the default.
	Settle time.Duration
	// Drain is how long, after publishing stops, viewers may take to
	// receive the last messages. 0 means the default.
	Drain time.Duration
	// PerWorker is the most connections one worker process holds, below
	// the open-file limit of 20,000 per process. 0 means the default.
	PerWorker int
	// SamplePercent of the viewers check every offset and prev; at least
	// 10 viewers (or all, if fewer). 0 means the default.
	SamplePercent float64
	// DialConcurrency bounds the dials in flight per worker. 0 means the
	// default.
	DialConcurrency int
	// Window is the sends each ingress connection keeps in flight. 0 means
	// the default.
	Window int
	// SendRate paces each ingress connection to this many sends a second,
	// which should stay under the server's --msg-rate. 0 means the default;
	// negative sends as fast as acks come back (Window in flight).
	SendRate float64
	// Publishers bounds the publish requests in flight. 0 means the
	// default.
	Publishers int
	// NoCompression stops viewers offering permessage-deflate. By default
	// they offer it, as browsers do, and the server sends each batch frame
	// compressed once for all of them.
	NoCompression bool
	// Sources is how many source addresses (127.0.0.2 upward, at most 253)
	// connections are spread over. 0 means the default, all of them;
	// negative lets the kernel choose (127.0.0.1).
	Sources int
	// Check makes missed goals an error (ErrGoalsMissed).
	Check bool

	// Progress receives one line a second. nil prints nothing.
	Progress io.Writer
	// Stderr receives the server's and workers' logs. nil discards them.
	Stderr io.Writer
	// Logger; nil discards.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults of "danmaku bench" that do not depend
// on the scenario.
func DefaultConfig() Config {
	return Config{
		Duration:        20 * time.Second,
		Warmup:          2 * time.Second,
		Settle:          5 * time.Second,
		Drain:           5 * time.Second,
		PerWorker:       9000,
		SamplePercent:   1,
		DialConcurrency: 256,
		Window:          4,
		// Under the server's default --msg-rate of 10.
		SendRate:   8,
		Publishers: 128,
		Sources:    sourcesTotal,
	}
}

// withDefaults returns c with its zero fields filled from DefaultConfig and
// the scenario, or an error saying what is out of range.
func (c Config) withDefaults() (Config, error) {
	spec, ok := scenarioByName(c.Scenario)
	if !ok {
		return c, fmt.Errorf("%w: unknown scenario %q (one of %s)", ErrInvalidConfig, c.Scenario, scenarioNames())
	}
	defaults.Or(&c.Viewers, spec.Viewers)
	defaults.Or(&c.Rooms, spec.Rooms)
	defaults.Or(&c.Rate, spec.Rate)
	defaults.Or(&c.Batch, spec.Batch)
	d := DefaultConfig()
	errs := []error{
		defaults.Positive("Duration", &c.Duration, d.Duration),
		defaults.Positive("Settle", &c.Settle, d.Settle),
		defaults.Positive("Drain", &c.Drain, d.Drain),
		defaults.Positive("PerWorker", &c.PerWorker, d.PerWorker),
		defaults.Positive("SamplePercent", &c.SamplePercent, d.SamplePercent),
		defaults.Positive("DialConcurrency", &c.DialConcurrency, d.DialConcurrency),
		defaults.Positive("Window", &c.Window, d.Window),
		defaults.Positive("Publishers", &c.Publishers, d.Publishers),
	}
	switch {
	case c.Viewers <= 0:
		errs = append(errs, errors.New("viewers must be positive"))
	case c.Rooms <= 0 || c.Rooms > c.Viewers && spec.Publish:
		errs = append(errs, errors.New("rooms must be 1–viewers"))
	}
	if spec.Publish && (c.Rate <= 0 || c.Batch <= 0 || c.Batch > 1000) {
		errs = append(errs, errors.New("rate must be positive and batch 1–1000"))
	}
	if c.URL == "" && len(c.ServerCommand) == 0 {
		errs = append(errs, errors.New("give URL or ServerCommand"))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	defaults.Or(&c.Warmup, d.Warmup)
	c.Warmup = max(c.Warmup, 0)
	defaults.Or(&c.SendRate, d.SendRate)
	c.SendRate = max(c.SendRate, 0)
	defaults.Or(&c.Sources, d.Sources)
	c.Sources = min(max(c.Sources, 0), sourcesTotal)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	return c, nil
}

package bench

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config describes one bench run. Each field's zero value selects the
// default named in its comment; "the scenario's default" is listed in
// Scenarios.
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
	// 0 means 20s.
	Duration time.Duration
	// Warmup runs before Duration; its latencies are not recorded, its
	// messages are counted. 0 means 2s; negative means none.
	Warmup time.Duration
	// Settle is how long idle connections rest before RSS is read. 0 means
	// 5s.
	Settle time.Duration
	// Drain is how long, after publishing stops, viewers may take to
	// receive the last messages. 0 means 5s.
	Drain time.Duration
	// PerWorker is the most connections one worker process holds. 0 means
	// 9000 (the open-file limit is 20,000 per process).
	PerWorker int
	// SamplePercent of the viewers check every offset and prev; at least
	// 10 viewers (or all, if fewer). 0 means 1.
	SamplePercent float64
	// DialConcurrency bounds the dials in flight per worker. 0 means 256.
	DialConcurrency int
	// Window is the sends each ingress connection keeps in flight. 0 means
	// 4.
	Window int
	// SendRate paces each ingress connection to this many sends a second
	// (the server refuses more than --msg-rate, 10 by default). 0 means 8;
	// negative sends as fast as acks come back (Window in flight).
	SendRate float64
	// Publishers bounds the publish requests in flight. 0 means 128.
	Publishers int
	// NoCompression stops viewers offering permessage-deflate. By default
	// they offer it, as browsers do, and the server sends each batch frame
	// compressed once for all of them.
	NoCompression bool
	// Sources is how many source addresses (127.0.0.2 upward, at most 253)
	// connections are spread over. 0 means 253; negative lets the kernel
	// choose (127.0.0.1).
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

// resolve applies defaults and checks the config.
func (c Config) resolve() (Config, scenarioSpec, error) {
	spec, ok := scenarioByName(c.Scenario)
	if !ok {
		return c, spec, fmt.Errorf("bench: unknown scenario %q (one of %s)", c.Scenario, scenarioNames())
	}
	if c.Viewers == 0 {
		c.Viewers = spec.Viewers
	}
	if c.Rooms == 0 {
		c.Rooms = spec.Rooms
	}
	if c.Rate == 0 {
		c.Rate = spec.Rate
	}
	if c.Batch == 0 {
		c.Batch = spec.Batch
	}
	if c.Duration == 0 {
		c.Duration = 20 * time.Second
	}
	switch {
	case c.Warmup == 0:
		c.Warmup = 2 * time.Second
	case c.Warmup < 0:
		c.Warmup = 0
	}
	if c.Settle == 0 {
		c.Settle = 5 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 5 * time.Second
	}
	if c.PerWorker == 0 {
		c.PerWorker = 9000
	}
	if c.SamplePercent == 0 {
		c.SamplePercent = 1
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = 256
	}
	if c.Window == 0 {
		c.Window = 4
	}
	switch {
	case c.SendRate == 0:
		c.SendRate = 8
	case c.SendRate < 0:
		c.SendRate = 0
	}
	if c.Publishers == 0 {
		c.Publishers = 128
	}
	switch {
	case c.Sources == 0 || c.Sources > sourcesTotal:
		c.Sources = sourcesTotal
	case c.Sources < 0:
		c.Sources = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	switch {
	case c.Viewers <= 0:
		return c, spec, fmt.Errorf("bench: viewers must be positive")
	case c.Rooms <= 0 || c.Rooms > c.Viewers && spec.Publish:
		return c, spec, fmt.Errorf("bench: rooms must be 1–viewers")
	case spec.Publish && (c.Rate <= 0 || c.Batch <= 0 || c.Batch > 1000):
		return c, spec, fmt.Errorf("bench: rate must be positive and batch 1–1000")
	case c.Duration < 0 || c.PerWorker <= 0 || c.DialConcurrency <= 0 || c.Window <= 0 || c.Publishers <= 0:
		return c, spec, fmt.Errorf("bench: durations and counts must be positive")
	case c.URL == "" && len(c.ServerCommand) == 0:
		return c, spec, fmt.Errorf("bench: give URL or ServerCommand")
	}
	return c, spec, nil
}

package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
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
	// its HTTP base (http://host:port, /ws is appended). Several nodes are
	// comma-separated; URLs adds more. Viewer i connects to target i mod n
	// of URL's and URLs' targets in order. Empty (and no URLs) starts Nodes
	// servers with ServerCommand and stops them at the end.
	URL  string
	URLs []string
	// APIURL is the HTTP API base, or several comma-separated; APIURLs adds
	// more. Publish request k goes to one of them in turn (see
	// publisher.go). Empty derives one API URL from each target.
	APIURL  string
	APIURLs []string
	// APIKey for the HTTP API of a running server. Ignored when the bench
	// starts the server (it generates one).
	APIKey string
	// ServerPID, and ServerPIDs, are the processes to sample for RSS and
	// CPU when URL is set: their sum, and each one. 0 and empty sample
	// nothing.
	ServerPID  int
	ServerPIDs []int
	// ServerCommand is the argv that runs "danmaku serve" (e.g. the
	// executable and "serve"). Used when URL is empty.
	ServerCommand []string
	// ServerArgs are extra flags for the started servers; they come after
	// the bench's own, so they win.
	ServerArgs []string
	// Nodes is how many servers the bench starts when no URL is given: 1
	// runs one "danmaku serve"; more run that many whose embedded NATS
	// servers form one cluster over routes, with history replicated
	// min(Nodes, 3) times. 0 means the scenario's default.
	Nodes int
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
	// the scenario's default; negative publishes as fast as the answers
	// return, with Publishers requests in flight.
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
	// SlowViewers adds this many viewers to a publishing scenario that read
	// slower than their room (SlowRead bytes a second each), not counted in
	// the delivery totals: the run shows what they cost the others. 0 adds
	// none.
	SlowViewers int
	// SlowRead is each slow viewer's read rate in bytes a second. 0 means
	// the default.
	SlowRead int
	// NoCompression stops viewers offering permessage-deflate. By default
	// they offer it, as browsers do, and the server sends each batch frame
	// compressed once for all of them.
	NoCompression bool
	// DeflateShare is the share of viewers, at most 1, that offer
	// permessage-deflate; the others do not, so that one run measures the
	// bytes of both (Summary.Bytes). Which viewers offer it is a hash of
	// their index, so neither rooms nor sample viewers line up with it. 0
	// means the default: all of them, or none with NoCompression (which
	// cannot be combined with a share below 1).
	DeflateShare float64
	// Text is the text of every published message, as before the bench
	// published a corpus ("bench" repeats those runs). Empty publishes the
	// varied texts of internal/bench/corpus, message seq getting text seq.
	Text string
	// TextSeed seeds the corpus: the same seed publishes the same texts. 0
	// means the default.
	TextSeed uint64
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
		SendRate:     8,
		Publishers:   128,
		SlowRead:     8 << 10,
		Sources:      sourcesTotal,
		DeflateShare: 1,
		TextSeed:     1,
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
	defaults.Or(&c.Nodes, max(spec.Nodes, 1))
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
		defaults.Positive("SlowRead", &c.SlowRead, d.SlowRead),
		defaults.PositiveUpTo("DeflateShare", &c.DeflateShare, d.DeflateShare, 1),
	}
	if c.NoCompression && c.DeflateShare != d.DeflateShare {
		errs = append(errs, errors.New("give NoCompression or DeflateShare, not both"))
	}
	if c.NoCompression {
		c.DeflateShare = 0
	}
	switch {
	case c.Viewers <= 0:
		errs = append(errs, errors.New("viewers must be positive"))
	case c.Rooms <= 0 || c.Rooms > c.Viewers && spec.Publish:
		errs = append(errs, errors.New("rooms must be 1–viewers"))
	}
	if spec.Publish && (c.Rate == 0 || c.Batch <= 0 || c.Batch > 1000) {
		errs = append(errs, errors.New("rate must be nonzero (negative: as fast as answers return) and batch 1–1000"))
	}
	if c.SlowViewers < 0 || c.SlowViewers > 0 && !spec.Publish {
		errs = append(errs, errors.New("slow viewers must be 0 or more, in a publishing scenario"))
	}
	if len(c.targets()) == 0 && len(c.ServerCommand) == 0 {
		errs = append(errs, errors.New("give URL or ServerCommand"))
	}
	if c.Nodes < 1 || c.Nodes > maxNodes {
		errs = append(errs, fmt.Errorf("nodes must be 1–%d", maxNodes))
	}
	for _, pid := range c.pids() {
		if pid <= 0 {
			errs = append(errs, fmt.Errorf("server PID %d is not a process id", pid))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	defaults.Or(&c.Warmup, d.Warmup)
	c.Warmup = max(c.Warmup, 0)
	defaults.Or(&c.SendRate, d.SendRate)
	c.SendRate = max(c.SendRate, 0)
	defaults.Or(&c.TextSeed, d.TextSeed)
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

// maxNodes bounds the servers the bench starts: each is a whole node with
// its own NATS server on this host's cores.
const maxNodes = 9

// targets is every gateway target given, in order.
func (c *Config) targets() []string { return splitLists(append([]string{c.URL}, c.URLs...)) }

// apiTargets is every API URL given, in order.
func (c *Config) apiTargets() []string {
	return splitLists(append([]string{c.APIURL}, c.APIURLs...))
}

// pids is every server process to sample.
func (c *Config) pids() []int {
	var out []int
	if c.ServerPID != 0 {
		out = append(out, c.ServerPID)
	}
	return append(out, c.ServerPIDs...)
}

// splitLists splits each element at commas and drops empty parts.
func splitLists(in []string) []string {
	var out []string
	for _, s := range in {
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

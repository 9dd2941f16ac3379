package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/lesismal/nbio/logging"

	"github.com/danmaku/danmaku/internal/bench"
)

// workerFlag, as the first argument of "bench", runs one load-generator
// worker process; the bench parent starts these itself. It is not in the
// help.
const workerFlag = "--internal-worker"

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == workerFlag {
		return runBenchWorker(ctx, stderr)
	}
	fs := flag.NewFlagSet("danmaku bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: danmaku bench --scenario NAME [flags]\n\n")
		fmt.Fprintf(stderr, "Load-tests a danmaku server on this host (loopback only). Without --url it starts\n")
		fmt.Fprintf(stderr, "\"danmaku serve\" itself on a free port and a temporary data directory, and stops it\n")
		fmt.Fprintf(stderr, "at the end; with --nodes N (cluster: 3) it starts N of them as one embedded cluster.\n")
		fmt.Fprintf(stderr, "Several --url: viewer i connects to URL i mod n; several --api-url: publishers take\n")
		fmt.Fprintf(stderr, "each in turn. Connections are spread over worker processes of at most --per-worker\n")
		fmt.Fprintf(stderr, "each, bound to source addresses 127.0.0.2–127.0.0.254.\n\nScenarios:\n%s\nFlags:\n", bench.ScenarioHelp())
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nExit status: 0 when the run worked (missed goals are reported), 1 when it failed\n")
		fmt.Fprintf(stderr, "(setup, a dead server or worker) or, with --check, when a goal was missed.\n")
	}
	var cfg bench.Config
	d := bench.DefaultConfig()
	var serverArgs argList
	var pids intList
	fs.StringVar(&cfg.Scenario, "scenario", "", "scenario to run (required): idle, hot-room, many-rooms, low-rate, connect-storm, ingress, api, cluster")
	fs.Var((*stringList)(&cfg.URLs), "url", "target running servers: ws://host:port/ws or http://host:port, repeatable or comma-separated; viewer i takes URL i mod n (empty: start the servers)")
	fs.Var((*stringList)(&cfg.APIURLs), "api-url", "HTTP API base of a running server, repeatable or comma-separated; publish requests take each in turn (empty: one per --url, same host)")
	fs.StringVar(&cfg.APIKey, "api-key", "", "HTTP API key of a running server (with --url)")
	fs.Var(&pids, "server-pid", "PID of a running server process, for RSS and CPU sampling, repeatable or comma-separated: summed and reported each (with --url)")
	fs.Var(&serverArgs, "server-arg", "extra flag for the started server, e.g. --server-arg=--batch-window=20ms (repeatable)")
	fs.IntVar(&cfg.Nodes, "nodes", d.Nodes, "servers to start without --url: 1 runs danmaku serve, more an embedded cluster of them (0: the scenario's default)")
	fs.IntVar(&cfg.Viewers, "viewers", d.Viewers, "connections (0: the scenario's default)")
	fs.IntVar(&cfg.Rooms, "rooms", d.Rooms, "rooms; viewer i joins room i mod rooms (0: the scenario's default)")
	fs.Float64Var(&cfg.Rate, "rate", d.Rate, "messages per second published over all rooms (0: the scenario's default; negative: as fast as answers return, --publishers in flight)")
	fs.IntVar(&cfg.Batch, "batch", d.Batch, "messages per publish request, 1–1000 (0: the scenario's default)")
	fs.DurationVar(&cfg.Duration, "duration", d.Duration, "measured publishing or sending time")
	fs.DurationVar(&cfg.Warmup, "warmup", d.Warmup, "publishing or sending before the measured time (latencies not recorded); negative: none")
	fs.DurationVar(&cfg.Settle, "settle", d.Settle, "idle, connect-storm: rest before reading the server's RSS")
	fs.DurationVar(&cfg.Drain, "drain", d.Drain, "after publishing, the longest wait for the last deliveries")
	fs.IntVar(&cfg.PerWorker, "per-worker", d.PerWorker, "most connections per worker process (open files are limited per process)")
	fs.Float64Var(&cfg.SamplePercent, "sample", d.SamplePercent, "percent of viewers that check every offset and prev (at least 10)")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", d.DialConcurrency, "dials in flight per worker")
	fs.IntVar(&cfg.Window, "window", d.Window, "ingress: sends in flight per connection")
	fs.Float64Var(&cfg.SendRate, "send-rate", d.SendRate, "ingress: sends per second per connection, under the server's --msg-rate (negative: as fast as acks return)")
	fs.IntVar(&cfg.Publishers, "publishers", d.Publishers, "publish requests in flight")
	fs.IntVar(&cfg.SlowViewers, "slow-viewers", 0, "publishing scenarios: add this many viewers that read slower than their room (--slow-read each), outside the delivery totals")
	fs.IntVar(&cfg.SlowRead, "slow-read", d.SlowRead, "bytes per second each slow viewer reads")
	fs.IntVar(&cfg.Sources, "sources", d.Sources, "source addresses 127.0.0.2… to spread connections over (-1: let the kernel choose)")
	compression := fs.Bool("compression", !d.NoCompression, "viewers offer permessage-deflate, as browsers do (the server compresses each frame once)")
	fs.Float64Var(&cfg.DeflateShare, "deflate-share", d.DeflateShare, "share of viewers, 0–1, that offer permessage-deflate; the summary gives the bytes of both kinds (0: none, as --compression=false)")
	fs.StringVar(&cfg.Text, "text", d.Text, "text of every published message, e.g. bench as before the corpus (empty: varied texts from internal/bench/corpus)")
	fs.Uint64Var(&cfg.TextSeed, "text-seed", d.TextSeed, "seed of the varied texts: the same seed publishes the same texts")
	fs.BoolVar(&cfg.Check, "check", false, "exit 1 when a goal is missed")
	jsonOut := fs.Bool("json", false, "print the summary as one JSON object (fields: see internal/bench/report.go and docs/benchmarks.md)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	logLevel := fs.String("log-level", "warn", "log level of the bench, its workers and its server: debug, info, warn, error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfg.Scenario == "" {
		fs.Usage()
		return fmt.Errorf("%w: --scenario is required", errUsage)
	}
	log, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: finding this executable: %w", err)
	}
	cfg.ServerArgs = serverArgs
	cfg.ServerPIDs = pids
	cfg.NoCompression = !*compression || cfg.DeflateShare == 0
	cfg.ServerCommand = []string{exe, "serve"}
	cfg.WorkerCommand = []string{exe, "bench", workerFlag}
	cfg.Logger = log
	cfg.Stderr = stderr
	if !*quiet {
		cfg.Progress = stderr
	}
	s, err := bench.Run(ctx, cfg)
	if s != nil {
		var werr error
		if *jsonOut {
			werr = s.WriteJSON(stdout)
		} else {
			werr = s.WriteText(stdout)
		}
		if werr != nil && err == nil {
			err = werr
		}
	}
	if errors.Is(err, bench.ErrGoalsMissed) {
		var missed []string
		for _, g := range s.Goals {
			if !g.Met {
				missed = append(missed, g.Name)
			}
		}
		return fmt.Errorf("goals missed: %s", strings.Join(missed, ", "))
	}
	return err
}

// argList is a repeatable flag whose values are kept whole: a server flag
// may hold commas itself (--server-arg=--routes=nats://a:6222,nats://b:6222).
type argList []string

func (l *argList) String() string     { return strings.Join(*l, " ") }
func (l *argList) Set(v string) error { *l = append(*l, v); return nil }

// intList is a repeatable flag of process ids, commas allowed.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a process id", part)
		}
		*l = append(*l, n)
	}
	return nil
}

// runBenchWorker is one worker process: commands on stdin, events on
// stdout, logs on stderr.
func runBenchWorker(ctx context.Context, stderr io.Writer) error {
	log, err := newLogger(stderr, "warn", "text")
	if err != nil {
		return err
	}
	logging.SetLevel(logging.LevelError)
	// DANMAKU_BENCH_WORKER_CPUPROFILE=prefix writes each worker's CPU
	// profile to prefix.<pid>, to see what the load generator spends.
	if prefix := os.Getenv("DANMAKU_BENCH_WORKER_CPUPROFILE"); prefix != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return bench.RunWorker(ctx, os.Stdin, os.Stdout, log, false)
}

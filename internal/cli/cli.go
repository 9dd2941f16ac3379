// Package cli implements the danmaku subcommands: it turns flags and
// DANMAKU_* environment variables into each package's Config, wires the
// packages together, and owns signals and the shutdown order.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"

	"github.com/peterbourgon/ff/v3"
)

// Version is set at build time with -ldflags "-X .../cli.Version=…".
var Version = "dev"

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run gateway + logic + embedded NATS in one process, with the demo page", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runNode(ctx, RoleAll, args, stdout, stderr)
		}},
		{"gateway", "run the gateway role: viewers' WebSockets and the demo page, over NATS", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runNode(ctx, RoleGateway, args, stdout, stderr)
		}},
		{"logic", "run the logic role: the HTTP API and the send pipeline, over NATS", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return runNode(ctx, RoleLogic, args, stdout, stderr)
		}},
		{"send", "send a message to a room through the HTTP API", runSend},
		{"bench", "load-test a server (starts one unless --url is given)", runBench},
		{"version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "danmaku", Version)
			return nil
		}},
	}
}

// errUsage marks usage errors (exit code 2); errFlags marks the ones whose
// message flag parsing already printed.
var (
	errUsage = errors.New("usage")
	errFlags = fmt.Errorf("%w: bad flags", errUsage)
)

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errFlags):
			return 2
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "danmaku %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "danmaku %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "danmaku: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "danmaku: real-time bullet comments for live streams")
	fmt.Fprintln(w, "\nUsage: danmaku <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery flag can also be set as DANMAKU_<FLAG> in the environment, e.g. --data-dir as DANMAKU_DATA_DIR.")
	fmt.Fprintln(w, "Run \"danmaku <command> -h\" for its flags.")
}

// parse parses flags, then DANMAKU_* variables for the flags not given.
func parse(fs *flag.FlagSet, args []string) error {
	err := ff.Parse(fs, args, ff.WithEnvVarPrefix("DANMAKU"))
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errFlags, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments: %s", errUsage, strings.Join(fs.Args(), " "))
	}
	return nil
}

// stringList is a repeatable string flag; one value may also hold several,
// comma-separated (which is how the environment variable lists them).
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

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
		{"config", "print an example config file with every setting: danmaku config example", runConfig},
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
	// The command line first, on its own: the flag package prints its
	// errors with the flag list, the environment's it would not.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errFlags, err)
	}
	rest := fs.Args()
	// ff sets only the flags the command line did not.
	if err := ff.Parse(fs, nil, ff.WithEnvVarPrefix("DANMAKU")); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected arguments: %s", errUsage, strings.Join(rest, " "))
	}
	return nil
}

// stringList is a repeatable string flag; one value may also hold several,
// comma-separated (which is how the environment variable lists them).
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Get() any       { return []string(*s) }
func (s *stringList) Set(v string) error {
	*s = appendSplit(*s, v)
	return nil
}

// appendSplit appends the comma-separated values of v to list.
func appendSplit(list []string, v string) []string {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			list = append(list, part)
		}
	}
	return list
}

// joinedList is a repeatable flag kept as one comma-separated string, for
// a setting that takes its list that way (the NATS client's URLs).
type joinedList struct{ s *string }

func (j joinedList) String() string {
	if j.s == nil { // the flag package's zero value, for PrintDefaults
		return ""
	}
	return *j.s
}
func (j joinedList) Get() any { return appendSplit(nil, j.String()) }
func (j joinedList) Set(v string) error {
	*j.s = strings.Join(appendSplit(appendSplit(nil, *j.s), v), ",")
	return nil
}

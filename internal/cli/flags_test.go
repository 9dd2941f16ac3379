package cli

import (
	"bufio"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
)

// flagRow is one row of the configuration reference in docs/operations.md.
type flagRow struct{ env, def string }

// operationsFlagTable reads the flag table of the "Configuration reference"
// section, by flag name.
func operationsFlagTable(t *testing.T) map[string]flagRow {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]flagRow{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Configuration reference"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `--") {
			continue
		}
		// | `--flag` | `DANMAKU_FLAG` | default | meaning |
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			t.Fatalf("short row in docs/operations.md: %s", line)
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		rows[strings.TrimPrefix(name, "--")] = flagRow{
			env: strings.Trim(strings.TrimSpace(cells[2]), "`"),
			def: strings.TrimSpace(cells[3]),
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 10 {
		t.Fatalf("found %d flag rows; is the table still under \"## Configuration reference\"?", len(rows))
	}
	return rows
}

// tableDefault is a flag's default as the table writes it: the value that
// --help shows, with durations shortened (24h, not 24h0m0s), or "" for a
// flag without a default value, whose row describes it in words instead.
func tableDefault(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		if _, ok := g.Get().(time.Duration); ok {
			return shortDuration(f.DefValue)
		}
	}
	return f.DefValue
}

// TestFlagTable keeps docs/operations.md's configuration reference and the
// serve flags (whose defaults --help prints) the same: one row per flag,
// with its environment variable and its default.
func TestFlagTable(t *testing.T) {
	rows := operationsFlagTable(t)
	fs := newRoleFlagSet(RoleAll, io.Discard)
	roleFlags(fs, RoleAll)
	fs.VisitAll(func(f *flag.Flag) {
		row, ok := rows[f.Name]
		delete(rows, f.Name)
		if !ok {
			t.Errorf("--%s has no row in docs/operations.md's configuration reference", f.Name)
			return
		}
		if want := "DANMAKU_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")); row.env != want {
			t.Errorf("--%s: env %q in docs/operations.md, want %q", f.Name, row.env, want)
		}
		switch want := tableDefault(f); {
		case want == "" && strings.HasPrefix(row.def, "`"):
			t.Errorf("--%s: docs/operations.md shows the default %s; the flag has none, so describe it in words", f.Name, row.def)
		case want != "" && !strings.HasPrefix(row.def, "`"+want+"`"):
			t.Errorf("--%s: default %q in docs/operations.md, want it to start with `%s` as in --help", f.Name, row.def, want)
		}
	})
	for name := range rows {
		t.Errorf("docs/operations.md lists --%s, which serve does not have", name)
	}
}

// TestFlagDefaultsAreDefaultConfig: every default a serve flag gives a
// package's setting is the package's own, so that the binary and the
// library agree. (A setting without a flag stays zero, which is the
// default too.)
func TestFlagDefaultsAreDefaultConfig(t *testing.T) {
	_, o := newNodeFlags(RoleAll)
	checkDefaultConfig(t, "the flag's default", RoleAll, &o.cfg)
}

// checkDefaultConfig compares the package settings of cfg, which came
// from source, with each package's DefaultConfig: a field that is not
// zero must be the default.
func checkDefaultConfig(t *testing.T, source string, role Role, cfg *ServerConfig) {
	t.Helper()
	flagBus := cfg.Bus
	flagBus.DataDir = "" // serve keeps history on disk; the package's zero is memory, for tests
	for _, c := range []struct {
		name          string
		flags, defcfg any
		has           bool
	}{
		{"bus", flagBus, bus.DefaultConfig(), true},
		{"gateway", cfg.Gateway, gateway.DefaultConfig(), role.hasGateway()},
		{"logic", cfg.Logic, logic.DefaultConfig(), role.hasLogic()},
	} {
		if !c.has {
			continue
		}
		got, want := reflect.ValueOf(c.flags), reflect.ValueOf(c.defcfg)
		for i := range got.NumField() {
			if f := got.Field(i); !f.IsZero() && !reflect.DeepEqual(f.Interface(), want.Field(i).Interface()) {
				t.Errorf("%s: %s.Config.%s: %s is %v, DefaultConfig's %v",
					role.command(), c.name, got.Type().Field(i).Name, source, f.Interface(), want.Field(i).Interface())
			}
		}
	}
}

// TestRoleFlagsAreServeFlags: "danmaku gateway" and "danmaku logic" take a
// subset of serve's flags with the same defaults and help, so the one table
// in docs/operations.md describes every role.
func TestRoleFlagsAreServeFlags(t *testing.T) {
	serve := newRoleFlagSet(RoleAll, io.Discard)
	roleFlags(serve, RoleAll)
	for _, role := range []Role{RoleGateway, RoleLogic} {
		fs := newRoleFlagSet(role, io.Discard)
		roleFlags(fs, role)
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			n++
			s := serve.Lookup(f.Name)
			switch {
			case s == nil:
				t.Errorf("danmaku %s --%s is not a serve flag", role.command(), f.Name)
			case s.DefValue != f.DefValue:
				t.Errorf("--%s: default %q for %s, %q for serve", f.Name, f.DefValue, role.command(), s.DefValue)
			case s.Usage != f.Usage && f.Name != "addr":
				t.Errorf("--%s: help differs between %s and serve", f.Name, role.command())
			}
		})
		if n < 15 {
			t.Errorf("danmaku %s has only %d flags", role.command(), n)
		}
	}
	for _, want := range []struct {
		role Role
		flag string
		has  bool
	}{
		{RoleGateway, "batch-window", true}, {RoleGateway, "api-key", false},
		{RoleLogic, "api-key", true}, {RoleLogic, "batch-window", false},
		{RoleGateway, "nats-url", true}, {RoleLogic, "history-partitions", true},
	} {
		fs := newRoleFlagSet(want.role, io.Discard)
		roleFlags(fs, want.role)
		if got := fs.Lookup(want.flag) != nil; got != want.has {
			t.Errorf("danmaku %s has --%s: %v, want %v", want.role.command(), want.flag, got, want.has)
		}
	}
}

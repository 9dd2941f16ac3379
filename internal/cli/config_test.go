package cli

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/danmaku/danmaku/internal/gateway"
)

// newNodeFlags is a role's flag set, with the options it fills.
func newNodeFlags(role Role) (*flag.FlagSet, *nodeOptions) {
	fs := newRoleFlagSet(role, io.Discard)
	return fs, roleFlags(fs, role)
}

// exampleFile runs "danmaku config example --role ROLE" and writes what it
// printed to a file.
func exampleFile(t *testing.T, role Role) (path string, text []byte) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := Main([]string{"config", "example", "--role", role.command()}, &out, &errOut); code != 0 {
		t.Fatalf("config example --role %s: exit %d: %s", role.command(), code, errOut.String())
	}
	return writeFile(t, role.command()+".toml", out.String()), out.Bytes()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The printed example has every setting of the role, at its default:
// loaded as a config file, it gives what no file gives, which is each
// package's DefaultConfig.
func TestConfigExampleIsTheDefaults(t *testing.T) {
	for _, role := range []Role{RoleAll, RoleGateway, RoleLogic} {
		path, text := exampleFile(t, role)

		var keys map[string]any
		if err := toml.Unmarshal(text, &keys); err != nil {
			t.Fatalf("%s: the example is not TOML: %v", role.command(), err)
		}
		fs, o := newNodeFlags(role)
		var want []string
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name != configFlag {
				want = append(want, f.Name)
			}
		})
		got := slices.Sorted(maps.Keys(keys))
		if !slices.Equal(got, want) {
			t.Errorf("%s: the example's keys are\n%v\nthe flags are\n%v", role.command(), got, want)
		}

		if err := o.parse(fs, []string{"--config", path}); err != nil {
			t.Fatalf("%s: loading the example: %v", role.command(), err)
		}
		// Every key but the empty lists went through its flag's Set, and
		// so did --config.
		wantSet := 1
		for _, v := range keys {
			if a, ok := v.([]any); !ok || len(a) > 0 {
				wantSet++
			}
		}
		set := 0
		fs.Visit(func(*flag.Flag) { set++ })
		if set != wantSet || wantSet < len(want)-5 {
			t.Errorf("%s: the file set %d flags, want %d of %d", role.command(), set, wantSet, len(want))
		}
		if err := o.apply(); err != nil {
			t.Fatal(err)
		}
		_, plain := newNodeFlags(role)
		if err := plain.apply(); err != nil {
			t.Fatal(err)
		}
		o.configFile = ""
		if !reflect.DeepEqual(o, plain) {
			t.Errorf("%s: the example loads as\n%+v\nthe defaults are\n%+v", role.command(), *o, *plain)
		}
		checkDefaultConfig(t, "the example's value", role, &o.cfg)
	}
}

// One setting given by a file, the environment and a flag, in every
// combination: the flag wins over the environment, which wins over the
// file, which wins over the default. A list setting is taken whole from
// the one that wins, never merged.
func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "danmaku.toml", "batch-window = \"10ms\"\napi-key = [\"file-1\", \"file-2\"]\n")
	for mask := range 8 {
		fromFile, fromEnv, fromFlag := mask&1 != 0, mask&2 != 0, mask&4 != 0
		name := "defaults"
		if mask > 0 {
			var from []string
			for i, n := range []string{"file", "env", "flag"} {
				if mask&(1<<i) != 0 {
					from = append(from, n)
				}
			}
			name = strings.Join(from, "+")
		}
		t.Run(name, func(t *testing.T) {
			var args []string
			window, keys := gateway.DefaultConfig().BatchWindow, []string(nil)
			if fromFile {
				args = append(args, "--config", file)
				window, keys = 10*time.Millisecond, []string{"file-1", "file-2"}
			}
			if fromEnv {
				t.Setenv("DANMAKU_BATCH_WINDOW", "20ms")
				t.Setenv("DANMAKU_API_KEY", "env-1")
				window, keys = 20*time.Millisecond, []string{"env-1"}
			}
			if fromFlag {
				args = append(args, "--batch-window", "30ms", "--api-key", "flag-1")
				window, keys = 30*time.Millisecond, []string{"flag-1"}
			}
			fs, o := newNodeFlags(RoleAll)
			if err := o.parse(fs, args); err != nil {
				t.Fatal(err)
			}
			if o.cfg.Gateway.BatchWindow != window || !slices.Equal(o.keys, keys) {
				t.Errorf("batch-window %v, api-key %q; want %v, %q", o.cfg.Gateway.BatchWindow, o.keys, window, keys)
			}
		})
	}
}

// The file may come from DANMAKU_CONFIG; --config wins over it.
func TestConfigFromEnvironment(t *testing.T) {
	envFile := writeFile(t, "env.toml", "max-text-runes = 7\n")
	flagFile := writeFile(t, "flag.toml", "max-text-runes = 9\n")
	t.Setenv("DANMAKU_CONFIG", envFile)
	for _, c := range []struct {
		args []string
		want int
	}{{nil, 7}, {[]string{"--config", flagFile}, 9}} {
		fs, o := newNodeFlags(RoleLogic)
		if err := o.parse(fs, c.args); err != nil {
			t.Fatal(err)
		}
		if o.cfg.Logic.MaxTextRunes != c.want {
			t.Errorf("%q: max-text-runes %d, want %d", c.args, o.cfg.Logic.MaxTextRunes, c.want)
		}
	}
}

// A file that does not load stops the command with a usage error (exit 2)
// that names the file, the line and column, and the key, before anything
// starts.
func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		role  Role
		file  string
		args  []string
		wants []string
	}{
		{RoleAll, "addr = \"127.0.0.1:0\"\nbatch-windo = \"5ms\"\n", nil,
			[]string{`danmaku serve: usage: F:2:1: unknown key "batch-windo"`, `"danmaku config example --role serve" prints them all`}},
		{RoleAll, "[gateway]\nbatch-window = \"5ms\"\n", nil, []string{`F:1:2: unknown key "gateway"`}},
		{RoleAll, "config = \"other.toml\"\n", nil, []string{`F:1:1: unknown key "config": a config file cannot name another`}},
		{RoleGateway, "max-conns = 5\napi-key = [\"k\"]\n", nil,
			[]string{`danmaku gateway: usage: F:2:1: "api-key" is not a setting of danmaku gateway (only of danmaku serve and danmaku logic)`}},
		{RoleAll, "history-size = \"1000\"\n", nil, []string{`F:1:16: history-size must be an integer, not a TOML string`}},
		{RoleAll, "compression = 1\n", nil, []string{`F:1:15: compression must be a boolean (true or false), not a TOML integer`}},
		{RoleAll, "api-key = \"k\"\n", nil, []string{`F:1:11: api-key must be an array of strings, e.g. ["a", "b"], not a TOML string`}},
		{RoleAll, "routes = [1]\n", nil, []string{`F:1:11: routes must be an array of strings`}},
		{RoleAll, "batch-window = 50\n", nil, []string{`F:1:16: batch-window must be a duration string, e.g. "50ms", not a TOML integer`}},
		{RoleAll, "\n\nbatch-window = \"soon\"\n", nil, []string{`F:3:16: batch-window: invalid value "soon": parse error`}},
		// A bad value fails even where a flag overrides it.
		{RoleAll, "batch-window = \"soon\"\n", []string{"--batch-window", "1s"}, []string{`F:1:16: batch-window: invalid value "soon": parse error`}},
		{RoleAll, "history-size = 99999999999999999999\n", nil, []string{`F:1:16: `, `history-size`}},
		{RoleAll, "history-size = 1\nhistory-size = 2\n", nil, []string{`F:2:1: key history-size is already defined`}},
		{RoleAll, "history-size =\n", nil, []string{`F:1:15: `}},
		{RoleAll, "", []string{"--config", filepath.Join(dir, "missing.toml")}, []string{`danmaku serve: usage: config file: open ` + filepath.Join(dir, "missing.toml") + `: no such file or directory`}},
	} {
		path := writeFile(t, "danmaku.toml", c.file)
		args := c.args
		if !slices.Contains(args, "--config") {
			args = append(args, "--config", path)
		}
		var out, errOut bytes.Buffer
		code := Main(append([]string{c.role.command(), "--data-dir", dir, "--addr", "127.0.0.1:0"}, args...), &out, &errOut)
		for _, want := range c.wants {
			want = strings.ReplaceAll(want, "F:", path+":")
			if code != 2 || !strings.Contains(errOut.String(), want) {
				t.Errorf("%q: exit %d, stderr:\n%s\nwant exit 2 and %q", c.file, code, errOut.String(), want)
			}
		}
		if out.Len() != 0 {
			t.Errorf("%q: something started: %s", c.file, out.String())
		}
	}
}

// A value from the environment that does not parse is explained, as one
// on the command line is.
func TestEnvironmentErrorIsPrinted(t *testing.T) {
	t.Setenv("DANMAKU_HISTORY_SIZE", "many")
	var out, errOut bytes.Buffer
	code := Main([]string{"serve", "--data-dir", t.TempDir()}, &out, &errOut)
	if want := `"history-size" from environment variable "DANMAKU_HISTORY_SIZE"`; code != 2 || !strings.Contains(errOut.String(), want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut.String(), want)
	}
}

func TestConfigCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"config"}, {"config", "print"}, {"config", "example", "extra"}, {"config", "example", "--role", "relay"}} {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "danmaku config: usage: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}

// Whatever file loads writes back, through writeConfig, as a file that
// loads to the same settings; whatever does not load is a usage error
// naming the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("batch-window = \"10ms\"\napi-key = [\"a\", \"b,c\"]\nhistory-size = 5\nbatch-budget = 0.5\ncompression = false\n"))
	f.Add([]byte("[gateway]\nx = 1\n"))
	f.Add([]byte("nats-url = [\"nats://a:4222\", \"nats://b:4222\"]\nroutes = []\n"))
	f.Add([]byte("jwt-secret = \"base64:AAAA\"\nlog-level = 'debug'\n# comment\n"))
	f.Add([]byte("history-size = 0x10\nmsg-rate = inf\n"))
	f.Add([]byte("a.b.c = 1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, _ := newNodeFlags(RoleAll)
		err := applyConfig(fs, RoleAll, "fuzz.toml", data)
		if err != nil {
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "fuzz.toml") {
				t.Fatalf("error %q is not a usage error naming the file", err)
			}
			return
		}
		var out bytes.Buffer
		if err := writeConfig(&out, RoleAll, func(name string) flag.Value { return fs.Lookup(name).Value }); err != nil {
			t.Fatalf("writing the loaded settings: %v", err)
		}
		again, _ := newNodeFlags(RoleAll)
		if err := applyConfig(again, RoleAll, "again.toml", out.Bytes()); err != nil {
			t.Fatalf("the loaded settings, written out, do not load: %v\n%s", err, out.String())
		}
		fs.VisitAll(func(f *flag.Flag) {
			if g := again.Lookup(f.Name).Value.String(); g != f.Value.String() {
				t.Errorf("%s: %q after writing and loading, %q before", f.Name, g, f.Value.String())
			}
		})
	})
}

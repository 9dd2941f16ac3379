package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// A config file is TOML with one top-level key per flag, named as the flag:
// --batch-window is batch-window = "50ms". The flags are the one table of
// settings, so a file can set exactly what the command line can, and every
// value goes through the flag's own Set. Booleans, integers and floats are
// TOML's; durations and other values are strings; list flags take arrays.
// The precedence is flags > DANMAKU_* variables > file > defaults.

// configFlag names the file; DANMAKU_CONFIG is its environment twin.
const configFlag = "config"

// settingKind is how a flag's value is written in a config file.
type settingKind uint8

const (
	kindText settingKind = iota // a string, given to Set as it is
	kindBool
	kindInt
	kindUint
	kindFloat
	kindList // an array of strings, each given to Set
)

func kindOf(f *flag.Flag) settingKind {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return kindText
	}
	switch g.Get().(type) {
	case bool:
		return kindBool
	case int, int64:
		return kindInt
	case uint, uint64:
		return kindUint
	case float64:
		return kindFloat
	case []string:
		return kindList
	}
	return kindText
}

// want is what the kind must be, for errors.
func (k settingKind) want(f *flag.Flag) string {
	switch k {
	case kindBool:
		return "a boolean (true or false)"
	case kindInt, kindUint:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindList:
		return `an array of strings, e.g. ["a", "b"]`
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, ok := g.Get().(time.Duration); ok {
			return `a duration string, e.g. "50ms"`
		}
	}
	return "a string"
}

// settingText receives a string setting while the file is decoded, so that
// an error of the flag's Set carries the value's line.
type settingText struct {
	fs   *flag.FlagSet
	name string
}

func (t *settingText) UnmarshalText(b []byte) error {
	if err := t.fs.Set(t.name, string(b)); err != nil {
		return fmt.Errorf("invalid value %q: %v", b, err)
	}
	return nil
}

// settings is the decoding target of a file: a struct built from a flag
// set, one pointer field per flag, tagged with the flag's name.
type settings struct {
	flags []*flag.Flag
	kinds []settingKind
	v     reflect.Value // *struct
}

var fieldTypes = [...]reflect.Type{
	kindText:  reflect.TypeFor[*string](),
	kindBool:  reflect.TypeFor[*bool](),
	kindInt:   reflect.TypeFor[*int64](),
	kindUint:  reflect.TypeFor[*uint64](),
	kindFloat: reflect.TypeFor[*float64](),
	kindList:  reflect.TypeFor[*[]string](),
}

// newSettings builds the target for the flags of fs except --config. With
// setText, string values are Set while decoding, each on the flag set
// setText returns for its name.
func newSettings(fs *flag.FlagSet, setText func(name string) *flag.FlagSet) *settings {
	s := &settings{}
	var fields []reflect.StructField
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == configFlag {
			return
		}
		k := kindOf(f)
		t := fieldTypes[k]
		if k == kindText && setText != nil {
			t = reflect.TypeFor[*settingText]()
		}
		fields = append(fields, reflect.StructField{
			Name: "F" + strconv.Itoa(len(fields)),
			Type: t,
			Tag:  reflect.StructTag(`toml:"` + f.Name + `"`),
		})
		s.flags, s.kinds = append(s.flags, f), append(s.kinds, k)
	})
	s.v = reflect.New(reflect.StructOf(fields))
	if setText != nil {
		for i, f := range s.flags {
			if s.kinds[i] == kindText {
				s.v.Elem().Field(i).Set(reflect.ValueOf(&settingText{fs: setText(f.Name), name: f.Name}))
			}
		}
	}
	return s
}

func (s *settings) decode(data []byte) error {
	return toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(s.v.Interface())
}

// set gives the typed values the file held to their flags, each on the
// flag set on returns for its name. (Strings were set while decoding.)
func (s *settings) set(on func(name string) *flag.FlagSet) error {
	for i, f := range s.flags {
		field := s.v.Elem().Field(i)
		if field.IsNil() || s.kinds[i] == kindText {
			continue
		}
		var values []string
		switch v := field.Elem().Interface().(type) {
		case bool:
			values = []string{strconv.FormatBool(v)}
		case int64:
			values = []string{strconv.FormatInt(v, 10)}
		case uint64:
			values = []string{strconv.FormatUint(v, 10)}
		case float64:
			values = []string{strconv.FormatFloat(v, 'g', -1, 64)}
		case []string:
			values = v
		}
		for _, v := range values {
			if err := on(f.Name).Set(f.Name, v); err != nil {
				return fmt.Errorf("%s: invalid value %q: %v", f.Name, v, err)
			}
		}
	}
	return nil
}

// loadConfigFile sets the flags of role's set fs that neither the command
// line nor the environment set from the file at path. The values those
// did set are still checked, on a scratch set, so that a file with a bad
// value fails whatever overrides it.
func loadConfigFile(fs *flag.FlagSet, role Role, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %w", errUsage, err)
	}
	return applyConfig(fs, role, path, data)
}

// applyConfig is loadConfigFile of data read from path.
func applyConfig(fs *flag.FlagSet, role Role, path string, data []byte) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	scratch := newRoleFlagSet(role, io.Discard)
	roleFlags(scratch, role)
	on := func(name string) *flag.FlagSet {
		if given[name] {
			return scratch
		}
		return fs
	}
	// The first pass checks keys and types, with the strings still
	// strings; the second sets.
	if err := newSettings(fs, nil).decode(data); err != nil {
		return configError(path, role, fs, err)
	}
	s := newSettings(fs, on)
	if err := s.decode(data); err != nil {
		return configError(path, role, fs, err)
	}
	if err := s.set(on); err != nil {
		return fmt.Errorf("%w: %s: %w", errUsage, path, err)
	}
	return nil
}

// typeMismatch finds the TOML type in go-toml's message for a value of the
// wrong type.
var typeMismatch = regexp.MustCompile(`^toml: cannot decode TOML (\w+(?: \w+)?) into `)

// configError says what is wrong with the file, and where: path:line:col.
func configError(path string, role Role, fs *flag.FlagSet, err error) error {
	var missing *toml.StrictMissingError
	if errors.As(err, &missing) {
		errs := make([]error, 0, len(missing.Errors)+1)
		hint := false
		for _, e := range missing.Errors {
			line, col := e.Position()
			msg, unknown := unknownKey(strings.Join(e.Key(), "."), role)
			hint = hint || unknown
			errs = append(errs, fmt.Errorf("%s:%d:%d: %s", path, line, col, msg))
		}
		if hint {
			errs = append(errs, fmt.Errorf("the keys are the flags' names, at the top level; \"danmaku config example --role %s\" prints them all", role.command()))
		}
		return fmt.Errorf("%w: %w", errUsage, errors.Join(errs...))
	}
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return fmt.Errorf("%w: %s: %w", errUsage, path, err)
	}
	line, col := de.Position()
	where := fmt.Sprintf("%s:%d:%d", path, line, col)
	key := de.Key()
	if len(key) == 0 {
		return fmt.Errorf("%w: %s: %s", errUsage, where, strings.TrimPrefix(de.Error(), "toml: "))
	}
	if m := typeMismatch.FindStringSubmatch(de.Error()); m != nil {
		if f := fs.Lookup(key[0]); f != nil {
			return fmt.Errorf("%w: %s: %s must be %s, not a TOML %s", errUsage, where, key[0], kindOf(f).want(f), m[1])
		}
	}
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if k := strings.Join(key, "."); !strings.Contains(msg, k) {
		msg = k + ": " + msg
	}
	return fmt.Errorf("%w: %s: %s", errUsage, where, msg)
}

// unknownKey explains a key the role does not take, and whether it is
// one of no role.
func unknownKey(key string, role Role) (string, bool) {
	if key == configFlag {
		return `unknown key "config": a config file cannot name another`, false
	}
	var others []string
	for _, r := range []Role{RoleAll, RoleGateway, RoleLogic} {
		fs := newRoleFlagSet(r, io.Discard)
		roleFlags(fs, r)
		if r != role && fs.Lookup(key) != nil {
			others = append(others, "danmaku "+r.command())
		}
	}
	if len(others) > 0 {
		return fmt.Sprintf("%q is not a setting of danmaku %s (only of %s)", key, role.command(), strings.Join(others, " and ")), false
	}
	return fmt.Sprintf("unknown key %q", key), true
}

// writeConfig writes fs's settings as a config file, each flag's help as
// its comment, in the groups of flags.go. With the flags at their
// defaults, that is the example file.
func writeConfig(w io.Writer, role Role, value func(name string) flag.Value) error {
	bw := &errWriter{w: w}
	fmt.Fprintf(bw, "# danmaku %s: a config file with every setting, at its default.\n", role.command())
	fmt.Fprintf(bw, "# Printed by \"danmaku config example --role %s\". Use it with --config FILE or DANMAKU_CONFIG=FILE.\n", role.command())
	fmt.Fprintf(bw, "# The keys are the flags' names. A flag on the command line wins over DANMAKU_* in the environment,\n")
	fmt.Fprintf(bw, "# which wins over this file. Durations are strings (\"50ms\"); list settings are arrays.\n")
	o := &nodeOptions{role: role}
	groups := []struct {
		title    string
		register func(*flag.FlagSet)
		has      bool
	}{
		{"Every role: the node, NATS and the history, tokens", o.nodeFlags, true},
		{"Gateway (danmaku serve, danmaku gateway): the viewers' connections", o.gatewayFlags, role.hasGateway()},
		{"Logic (danmaku serve, danmaku logic): the HTTP API and the send pipeline", o.logicFlags, role.hasLogic()},
	}
	for _, g := range groups {
		if !g.has {
			continue
		}
		fmt.Fprintf(bw, "\n\n# ---- %s ----\n", g.title)
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		g.register(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if bw.err != nil {
				return
			}
			line, err := settingLine(f.Name, value(f.Name))
			if err != nil {
				bw.err = err
				return
			}
			fmt.Fprintf(bw, "\n%s%s", comment(f.Usage), line)
		})
	}
	return bw.err
}

// settingLine is `name = value` in TOML, with a newline.
func settingLine(name string, v flag.Value) (string, error) {
	var x any = v.String()
	if g, ok := v.(flag.Getter); ok {
		x = g.Get()
	}
	switch d := x.(type) {
	case time.Duration:
		x = shortDuration(d.String())
	case int:
		x = int64(d)
	case uint:
		x = uint64(d)
	case []string:
		if d == nil {
			x = []string{}
		}
	}
	b, err := toml.Marshal(map[string]any{name: x})
	return string(b), err
}

// shortDuration drops the zero minutes and seconds of a time.Duration's
// String: 24h0m0s is 24h, 1m0s is 1m.
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// comment wraps text into TOML comment lines of at most about 100 columns.
func comment(text string) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		switch {
		case n == 0:
			b.WriteString("#")
		case n+1+len(word) > 100:
			b.WriteString("\n#")
			n = 0
		}
		b.WriteString(" " + word)
		n += 1 + len(word)
	}
	b.WriteString("\n")
	return b.String()
}

// errWriter keeps the first write error, so that the example is written
// with plain Fprintf calls.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// runConfig is "danmaku config example".
func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "danmaku config example [--role serve|gateway|logic] prints an example config file"
	if len(args) == 0 || args[0] != "example" {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := flag.NewFlagSet("danmaku config example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	roleName := fs.String("role", "serve", "the command the file is for: serve, gateway or logic")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errFlags, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	role, ok := roleNamed(*roleName)
	if !ok {
		return fmt.Errorf("%w: --role must be serve, gateway or logic", errUsage)
	}
	defaults := newRoleFlagSet(role, io.Discard)
	roleFlags(defaults, role)
	return writeConfig(stdout, role, func(name string) flag.Value { return defaults.Lookup(name).Value })
}

func roleNamed(name string) (Role, bool) {
	for _, r := range []Role{RoleAll, RoleGateway, RoleLogic} {
		if r.command() == name {
			return r, true
		}
	}
	return 0, false
}

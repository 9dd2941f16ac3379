package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lesismal/nbio/logging"
)

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level must be debug, info, warn or error", errUsage)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("%w: --log-format must be text or json", errUsage)
	}
	l := slog.New(h)
	// nbio has one process-wide logger; route it to ours.
	logging.SetLogger(nbioLogger{l.With("component", "nbio")})
	return l, nil
}

type nbioLogger struct{ l *slog.Logger }

func (n nbioLogger) Debug(f string, v ...any) { n.l.Debug(fmt.Sprintf(f, v...)) }
func (n nbioLogger) Info(f string, v ...any)  { n.l.Debug(fmt.Sprintf(f, v...)) }
func (n nbioLogger) Warn(f string, v ...any)  { n.l.Warn(fmt.Sprintf(f, v...)) }
func (n nbioLogger) Error(f string, v ...any) { n.l.Error(fmt.Sprintf(f, v...)) }

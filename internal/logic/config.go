package logic

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/danmaku/danmaku/internal/defaults"
	"github.com/danmaku/danmaku/internal/metrics"
)

// DefaultConfig returns the recommended settings: the defaults of
// "danmaku serve" (docs/operations.md lists them) and what a zero field
// stands for.
func DefaultConfig() Config {
	return Config{
		MaxTextRunes:    100,
		MaxBodyBytes:    1 << 20,
		RequestTimeout:  10 * time.Second,
		MaxDataBytes:    2048,
		SendRate:        20,
		SendWindow:      30 * time.Second,
		DuplicateWindow: 30 * time.Second,
	}
}

// Config returns the settings in use, defaults filled in.
func (l *Logic) Config() Config { return l.cfg }

// withDefaults returns c with its zero fields filled from DefaultConfig, or
// an error naming every field out of range.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	var missing error
	if c.Store == nil {
		missing = errors.New("Config.Store is required")
	}
	err := errors.Join(
		missing,
		defaults.Positive("MaxTextRunes", &c.MaxTextRunes, d.MaxTextRunes),
		defaults.Positive("MaxBodyBytes", &c.MaxBodyBytes, d.MaxBodyBytes),
		defaults.Positive("RequestTimeout", &c.RequestTimeout, d.RequestTimeout),
		defaults.Positive("MaxDataBytes", &c.MaxDataBytes, d.MaxDataBytes),
		defaults.Positive("SendWindow", &c.SendWindow, d.SendWindow),
	)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	defaults.Or(&c.SendRate, d.SendRate)
	defaults.Or(&c.DuplicateWindow, d.DuplicateWindow)
	if c.Online == nil {
		c.Online = func(string) int64 { return 0 }
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PublicID == nil {
		c.PublicID = func(s string) string { return s }
	}
	return c, nil
}

// Package stacktest starts a whole danmaku node in-process for tests: the
// embedded NATS server with JetStream on a temporary directory, logic, and
// the gateway on 127.0.0.1:0. Everything is real; nothing is mocked.
package stacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lesismal/nbio/logging"

	"github.com/danmaku/danmaku/internal/auth"
	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/cli"
	"github.com/danmaku/danmaku/internal/gateway"
	"github.com/danmaku/danmaku/internal/logic"
	"github.com/danmaku/danmaku/protocol"
)

// APIKey is the HTTP API key every stack accepts.
const APIKey = "test-api-key"

// Options adjusts the node. Zero values are the production defaults, except
// where noted.
type Options struct {
	// Gateway and Logic are laid over gateway.DefaultConfig() and
	// logic.DefaultConfig(): each non-zero field replaces the default, so a
	// test names only what it changes, and a setting whose zero means
	// something else (ReplayCount 0 replays none, MaxConnsPerIP 0 has no
	// cap) keeps its default here. Only knobs: History, Sender, Store,
	// Online, Metrics and Logger are wired.
	Gateway gateway.Config
	Logic   logic.Config
	// HistorySize per room; 0 means the default.
	HistorySize int
	// HistoryTTL; 0 means the default.
	HistoryTTL time.Duration
	// HistoryPartitions is bus.Config.Partitions; 0 means 1.
	HistoryPartitions int
	// DrainTimeout used by Stop and Restart; 0 means no drain (immediate close).
	DrainTimeout time.Duration
	// Logger; nil logs warnings and errors to the test log.
	Logger *slog.Logger
	// BlockedWordsFile is the keyword filter's word list ("" filters nothing).
	BlockedWordsFile string
	// Auth configures token verification (zero: no tokens, guests only).
	Auth auth.Config
	// AnonymousSend is "on", "off" or "auto" ("").
	AnonymousSend string
	// InternalAddr is cli.ServerConfig.InternalAddr, e.g. "127.0.0.1:0";
	// "" serves everything on the public port.
	InternalAddr string
}

// Stack is a running node.
type Stack struct {
	URL    string // http://127.0.0.1:PORT
	WSURL  string // ws://127.0.0.1:PORT/ws
	APIKey string
	// InternalURL is http://127.0.0.1:PORT of the internal address, ""
	// without Options.InternalAddr.
	InternalURL string

	opts    Options
	dataDir string
	addr    string
	srv     *cli.Server
}

// Start starts a node; t.Cleanup stops it.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	s := &Stack{opts: opts, dataDir: t.TempDir(), addr: "127.0.0.1:0", APIKey: APIKey}
	if err := s.start(t); err != nil {
		t.Fatalf("stacktest: start: %v", err)
	}
	t.Cleanup(func() {
		if s.srv != nil {
			s.Stop(t)
		}
	})
	return s
}

// quietNBIO silences nbio's process-wide logger once: tests log through
// slog, and nbio would print to stdout.
var quietNBIO sync.Once

func (s *Stack) start(t testing.TB) error {
	t.Helper()
	quietNBIO.Do(func() { logging.SetLevel(logging.LevelError) })
	log := s.opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	lc := overlay(logic.DefaultConfig(), s.opts.Logic)
	lc.APIKeys = append([]string{APIKey}, lc.APIKeys...)
	cfg := cli.ServerConfig{
		Addr:         s.addr,
		DrainTimeout: s.opts.DrainTimeout,
		Bus: bus.Config{
			DataDir:     s.dataDir,
			HistorySize: s.opts.HistorySize,
			HistoryTTL:  s.opts.HistoryTTL,
			Partitions:  s.opts.HistoryPartitions,
		},
		Gateway:          overlay(gateway.DefaultConfig(), s.opts.Gateway),
		Logic:            lc,
		Logger:           log,
		BlockedWordsFile: s.opts.BlockedWordsFile,
		Auth:             s.opts.Auth,
		AnonymousSend:    s.opts.AnonymousSend,
		InternalAddr:     s.opts.InternalAddr,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := cli.StartServer(ctx, cfg)
	if err != nil {
		return err
	}
	s.srv = srv
	s.addr = srv.Gateway().Addr().String()
	s.URL = srv.URL()
	s.WSURL = "ws://" + s.addr + "/ws"
	if a := srv.InternalAddr(); a != "" {
		s.InternalURL = "http://" + a
	}
	return nil
}

// overlay returns base with every non-zero field of over copied onto it.
func overlay[C any](base, over C) C {
	b, o := reflect.ValueOf(&base).Elem(), reflect.ValueOf(over)
	for i := range o.NumField() {
		if f := o.Field(i); !f.IsZero() {
			b.Field(i).Set(f)
		}
	}
	return base
}

// Server returns the running node.
func (s *Stack) Server() *cli.Server { return s.srv }

// Stop shuts the node down (draining for Options.DrainTimeout).
func (s *Stack) Stop(t testing.TB) {
	t.Helper()
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Errorf("stacktest: shutdown: %v", err)
	}
	s.srv = nil
}

// Restart stops the node and starts it again on the same address and data
// directory: history and epoch are kept.
func (s *Stack) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	// The port may linger briefly after the close; retry binding it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.start(t)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stacktest: restart on %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Publish stores texts in room through the HTTP API and returns their
// offsets.
func (s *Stack) Publish(t testing.TB, room string, texts ...string) []uint64 {
	t.Helper()
	req := protocol.PublishRequest{}
	for _, text := range texts {
		req.Messages = append(req.Messages, protocol.PublishMessage{Text: text})
	}
	status, body := s.Do(t, http.MethodPost, "/v1/rooms/"+room+"/messages", req)
	if status != http.StatusOK {
		t.Fatalf("stacktest: publish: HTTP %d: %s", status, body)
	}
	var resp protocol.PublishResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("stacktest: publish response: %v", err)
	}
	return resp.Offsets
}

// Do sends an API request with the stack's key. body may be nil, a string or
// []byte (sent as is), or a value encoded as JSON.
func (s *Stack) Do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stacktest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

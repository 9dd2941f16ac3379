package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// childServer is a "danmaku serve" process the bench started and owns.
type childServer struct {
	cmd     *exec.Cmd
	url     string // http://127.0.0.1:PORT
	apiKey  string
	dataDir string
	log     *slog.Logger
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// startServer runs argv (the danmaku binary and "serve") with a free
// loopback port, a temporary data directory, a fresh API key and warn-level
// logs, then extra (later flags win), and waits until /readyz answers.
func startServer(ctx context.Context, argv, extra []string, stderr io.Writer, log *slog.Logger) (*childServer, error) {
	if len(argv) == 0 {
		return nil, errors.New("bench: no server command to start (Config.ServerCommand) and no URL given")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "danmaku-bench-*")
	if err != nil {
		return nil, err
	}
	var key [16]byte
	_, _ = crand.Read(key[:])
	s := &childServer{
		url:     "http://127.0.0.1:" + strconv.Itoa(port),
		apiKey:  "bench_" + hex.EncodeToString(key[:]),
		dataDir: dir,
		log:     log,
		done:    make(chan struct{}),
	}
	args := append(argv[1:len(argv):len(argv)],
		"--addr", "127.0.0.1:"+strconv.Itoa(port),
		"--data-dir", dir,
		"--api-key", s.apiKey,
		"--log-level", "warn",
		"--drain-timeout", "1s")
	args = append(args, extra...)
	s.cmd = exec.Command(argv[0], args...)
	s.cmd.Stdout = io.Discard // the banner
	s.cmd.Stderr = stderr
	// If the bench dies, so does its server.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: start server: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	if err := waitReady(ctx, s.url, 30*time.Second, s.done); err != nil {
		_ = s.stop(5 * time.Second)
		return nil, err
	}
	log.Info("server started", "pid", s.cmd.Process.Pid, "url", s.url)
	return s, nil
}

func (s *childServer) pid() int { return s.cmd.Process.Pid }

// exited reports whether the process has ended.
func (s *childServer) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to timeout, then kills, and removes the data
// directory.
func (s *childServer) stop(timeout time.Duration) error {
	defer os.RemoveAll(s.dataDir)
	if s.exited() {
		return fmt.Errorf("%w: %v", ErrServerDied, s.waitErr)
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(timeout):
		s.log.Warn("server did not stop in time; killing it", "pid", s.pid())
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("bench: server did not stop after SIGTERM")
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls base/readyz until it answers 200, the timeout passes, or
// died is closed.
func waitReady(ctx context.Context, base string, timeout time.Duration, died <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-died:
			return fmt.Errorf("%w before it was ready", ErrServerDied)
		case <-ctx.Done():
			return fmt.Errorf("bench: server at %s not ready: %w", base, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

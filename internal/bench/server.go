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
	"strings"
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
	// reported: the run's monitor has warned that it exited.
	reported bool
}

// startServer runs argv (the danmaku binary and "serve") with a free
// loopback port, a temporary data directory, a fresh API key and warn-level
// logs, then extra (later flags win), and waits until /readyz answers.
func startServer(ctx context.Context, argv, extra []string, stderr io.Writer, log *slog.Logger) (*childServer, error) {
	s, err := launchServer(argv, randomKey("bench_"), nil, extra, stderr, log)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, s.url, 30*time.Second, s.done); err != nil {
		_ = s.stop(5 * time.Second)
		return nil, err
	}
	log.Info("server started", "pid", s.pid(), "url", s.url)
	return s, nil
}

// startCluster runs n servers as startServer does, whose embedded NATS
// servers form one cluster over loopback routes with history replicated
// min(n, 3) times, all with one API key and one --user-id-key (a cluster
// refuses to start without). Every node waits for the others' JetStream
// before it serves, so all are started before any is waited for.
func startCluster(ctx context.Context, argv []string, n int, extra []string, stderr io.Writer, log *slog.Logger) ([]*childServer, error) {
	routes := make([]string, n)
	listen := make([]string, n)
	for i := range n {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		listen[i] = "127.0.0.1:" + strconv.Itoa(port)
		routes[i] = "nats://" + listen[i]
	}
	apiKey, idKey, name := randomKey("bench_"), randomKey("bench-user-id-"), randomKey("danmaku-bench-")
	var nodes []*childServer
	stopAll := func() {
		for _, s := range nodes {
			_ = s.stop(5 * time.Second)
		}
	}
	for i := range n {
		s, err := launchServer(argv, apiKey, []string{
			"--cluster-name", name, "--cluster-listen", listen[i], "--routes", strings.Join(routes, ","),
			"--history-replicas", strconv.Itoa(min(n, 3)), "--user-id-key", idKey,
		}, extra, stderr, log)
		if err != nil {
			stopAll()
			return nil, err
		}
		nodes = append(nodes, s)
	}
	for _, s := range nodes {
		// Forming the cluster and electing JetStream's meta leader takes
		// seconds more than one node's start, on loaded cores tens of them.
		if err := waitReady(ctx, s.url, 90*time.Second, s.done); err != nil {
			stopAll()
			return nil, err
		}
	}
	for _, s := range nodes {
		log.Info("cluster node started", "pid", s.pid(), "url", s.url)
	}
	return nodes, nil
}

// launchServer starts one server process and does not wait for it: argv,
// then the bench's flags, nodeArgs and extra.
func launchServer(argv []string, apiKey string, nodeArgs, extra []string, stderr io.Writer, log *slog.Logger) (*childServer, error) {
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
	s := &childServer{
		url:     "http://127.0.0.1:" + strconv.Itoa(port),
		apiKey:  apiKey,
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
	args = append(args, nodeArgs...)
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
	return s, nil
}

// randomKey is prefix and 32 random hex digits.
func randomKey(prefix string) string {
	var key [16]byte
	_, _ = crand.Read(key[:])
	return prefix + hex.EncodeToString(key[:])
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

// Package clustertest runs danmaku clusters as real processes on loopback,
// for the multi-node tests: the danmaku binary and the nats-server binary,
// both built from this module (nats-server from the version in go.mod),
// once per test binary. Every process is killed and waited for when its
// test ends.
package clustertest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds danmaku and nats-server into a directory shared by the
// tests of this process and returns their paths.
func Binaries(t testing.TB) (danmaku, natsServer string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "danmaku-clustertest-")
		if buildErr != nil {
			return
		}
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		for _, b := range []struct{ out, pkg string }{
			{"danmaku", "./cmd/danmaku"},
			{"nats-server", "github.com/nats-io/nats-server/v2"},
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, b.out), b.pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("clustertest: %v", buildErr)
	}
	return filepath.Join(binDir, "danmaku"), filepath.Join(binDir, "nats-server")
}

// Cleanup removes the built binaries; call it from TestMain after the tests.
func Cleanup() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the danmaku module")
	}
	return filepath.Dir(mod), nil
}

// FreePort returns a loopback port that was free a moment ago, for the
// processes whose addresses must be known before they start (NATS routes).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Proc is a process started by a test.
type Proc struct {
	Name string
	cmd  *exec.Cmd

	mu     sync.Mutex // guards out and lines
	out    bytes.Buffer
	lines  []string
	notify chan struct{} // closed and replaced on every new line

	done chan struct{} // closed when the process exited
	err  error         // set before done is closed
}

// Start runs bin with args. Its output (stdout and stderr) is kept, and
// logged if the test fails. t.Cleanup kills it if it still runs.
func Start(t testing.TB, name, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, cmd: exec.Command(bin, args...), notify: make(chan struct{}), done: make(chan struct{})}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("clustertest: start %s: %v", name, err)
	}
	w.Close()
	go p.read(r)
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, p.Output())
		}
	})
	return p
}

// read collects the output until the process closes it, then waits for
// the process: the one goroutine a Proc owns.
func (p *Proc) read(r *os.File) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.out.WriteString(sc.Text() + "\n")
		p.lines = append(p.lines, sc.Text())
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}
	r.Close()
	p.err = p.cmd.Wait()
}

// Output is everything the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// WaitLine waits for an output line matching re and returns its submatches.
func (p *Proc) WaitLine(t testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		p.mu.Lock()
		for ; seen < len(p.lines); seen++ {
			if m := re.FindStringSubmatch(p.lines[seen]); m != nil {
				p.mu.Unlock()
				return m
			}
		}
		notify := p.notify
		p.mu.Unlock()
		select {
		case <-notify:
		case <-p.done:
			p.mu.Lock()
			more := seen < len(p.lines)
			p.mu.Unlock()
			if !more {
				t.Fatalf("clustertest: %s exited (%v) before printing %q:\n%s", p.Name, p.err, re, p.Output())
			}
		case <-deadline:
			t.Fatalf("clustertest: %s did not print %q within %s:\n%s", p.Name, re, timeout, p.Output())
		}
	}
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout for a clean exit, then kills.
// It returns the exit error (nil for status 0).
func (p *Proc) Stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s", p.Name, timeout)
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitListening waits until addr accepts TCP connections.
func WaitListening(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitFor polls cond every 20 ms until it holds, failing the test after
// timeout with what it waited for: for what arrives over the network or
// from another process, never for a timer of the code under test (those
// are tested with testing/synctest).
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

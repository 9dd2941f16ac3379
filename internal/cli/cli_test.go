package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/danmaku/danmaku/internal/leaktest"
	"github.com/danmaku/danmaku/protocol"
)

// TestMain doubles as the danmaku binary: with DANMAKU_TEST_MAIN set, the
// test executable runs Main, so process tests exercise the real command.
func TestMain(m *testing.M) {
	if os.Getenv("DANMAKU_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	leaktest.Main(m)
}

// startProcess runs "danmaku serve" as a child process and returns it with
// its base URL, read from the banner.
func startProcess(t *testing.T, dataDir string, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd, banner, stderr := startBanner(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--api-key", "k", "--drain-timeout", "300ms"}, args...)...)
	m := regexp.MustCompile(`Demo page:\s+(http://\S+)/`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no demo page in the banner:\n%s", banner)
	}
	return cmd, m[1], stderr
}

// startBanner runs danmaku with args as a child process and returns it
// with its banner, once printed (up to its "Try:" line).
func startBanner(t *testing.T, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DANMAKU_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	banners := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Try:") {
				banners <- b.String()
			}
		}
	}()
	select {
	case b := <-banners:
		return cmd, b, &stderr
	case <-time.After(30 * time.Second):
		t.Fatalf("no banner; stderr:\n%s", stderr.String())
	}
	return nil, "", nil
}

// SIGTERM drains: viewers get 4000, the process exits 0, and history
// survives into the next run on the same data directory.
func TestServeSIGTERMDrainsAndKeepsHistory(t *testing.T) {
	dir := t.TempDir()
	cmd, base, stderr := startProcess(t, dir)
	ws, _, err := websocket.Dial(t.Context(), strings.Replace(base, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(t.Context(), websocket.MessageText, []byte(`{"op":"join","room":"keep"}`)); err != nil {
		t.Fatal(err)
	}
	offsets := publish(t, base, "keep", "one", "two")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _, err := ws.Read(ctx)
		cancel()
		if err != nil {
			code = int(websocket.CloseStatus(err))
			break
		}
	}
	if code != protocol.CloseDraining {
		t.Fatalf("viewer closed with %d, want 4000", code)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v; stderr:\n%s", err, stderr)
	}

	_, base2, _ := startProcess(t, dir)
	resp, err := httpGet(base2+"/v1/rooms/keep/messages", "k")
	if err != nil {
		t.Fatal(err)
	}
	var h protocol.HistoryResponse
	if err := json.Unmarshal(resp, &h); err != nil || len(h.Messages) != 2 || h.Messages[1].Offset != offsets[1] {
		t.Fatalf("history after restart: %s", resp)
	}
}

func TestSendCommand(t *testing.T) {
	_, base, _ := startProcess(t, t.TempDir())
	var out, errOut bytes.Buffer
	if code := Main([]string{"send", "--api-url", base, "--api-key", "k", "--room", "cli", "--text", "from the CLI", "--color", "#00ff00"}, &out, &errOut); code != 0 {
		t.Fatalf("send exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "stored in cli at offset") {
		t.Fatalf("output %q", out.String())
	}
	errOut.Reset()
	if code := Main([]string{"send", "--api-url", base, "--api-key", "wrong", "--text", "x"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "unauthorized") {
		t.Fatalf("bad key: exit %d, %q", code, errOut.String())
	}
}

func TestEnvironmentAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"nope"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut.String())
	}
	t.Setenv("DANMAKU_MAX_TEXT_RUNES", "7")
	t.Setenv("DANMAKU_API_KEY", "a,b")
	fs := newRoleFlagSet(RoleAll, io.Discard)
	o := roleFlags(fs, RoleAll)
	if err := parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if o.cfg.Logic.MaxTextRunes != 7 || len(o.keys) != 2 || o.keys[1] != "b" {
		t.Fatalf("env not applied: runes %d keys %v", o.cfg.Logic.MaxTextRunes, o.keys)
	}
	if code := Main([]string{"serve", "--batch-window", "soon"}, &out, &errOut); code != 2 {
		t.Fatalf("bad flag exit %d", code)
	}
}

func publish(t *testing.T, base, room string, texts ...string) []uint64 {
	t.Helper()
	req := protocol.PublishRequest{}
	for _, x := range texts {
		req.Messages = append(req.Messages, protocol.PublishMessage{Text: x})
	}
	var resp protocol.PublishResponse
	if err := postJSON(t.Context(), base+"/v1/rooms/"+room+"/messages", "k", 10*time.Second, req, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Offsets
}

func httpGet(url, key string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func TestServeFailsFastOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(os.Args[0], "serve", "--addr", ln.Addr().String(), "--data-dir", t.TempDir(), "--api-key", "k")
	cmd.Env = append(os.Environ(), "DANMAKU_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(stderr.String(), "address already in use") {
			t.Fatalf("exit %v, stderr %q", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("serve hung on a busy port")
	}
}

func TestUsageErrorsAreExplained(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"send", "--api-key", "k"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--text is required") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	t.Setenv("DANMAKU_TEXT", "hello, world")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	text := fs.String("text", "", "")
	if err := parse(fs, nil); err != nil || *text != "hello, world" {
		t.Fatalf("comma in a plain env value: %q %v", *text, err)
	}
}

// SIGTERM right after start-up must not hang the shutdown (nbio loses a
// stop that arrives before its poller runs; Start waits for it).
func TestImmediateSIGTERM(t *testing.T) {
	for range 3 {
		cmd, _, stderr := startProcess(t, t.TempDir())
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit: %v\n%s", err, stderr)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("serve hung after SIGTERM\n%s", stderr)
		}
	}
}

// Every usage error of serve says what was wrong, and exits 2.
func TestServeUsageErrorsAreExplained(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", ""}, "danmaku serve: usage: --data-dir must not be empty"},
		{[]string{"--log-level", "loud"}, "danmaku serve: usage: --log-level must be debug, info, warn or error"},
		{[]string{"--filter-mode", "maybe"}, "danmaku serve: usage: --filter-mode must be reject or mask"},
		{[]string{"extra"}, "danmaku serve: usage: unexpected arguments: extra"},
		{[]string{"--batch-window", "soon"}, `invalid value "soon" for flag -batch-window`},
		{[]string{"--nope"}, "flag provided but not defined: -nope"},
		// Out of range: found by the package's Config, still a usage error.
		{[]string{"--data-dir", dir, "--addr", "127.0.0.1:0", "--replay-count", "-1"}, "danmaku serve: usage: gateway: invalid config: ReplayCount is -1"},
		{[]string{"--data-dir", dir, "--addr", "127.0.0.1:0", "--history-size", "-5"}, "danmaku serve: usage: bus: invalid config: HistorySize is -5"},
	} {
		var out, errOut bytes.Buffer
		code := Main(append([]string{"serve"}, c.args...), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("serve %q: exit %d, stderr:\n%s\nwant exit 2 and %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// --server-arg keeps each value whole, commas included; --server-pid and
// --url split them.
func TestBenchListFlags(t *testing.T) {
	var args argList
	var pids intList
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(&args, "server-arg", "")
	fs.Var(&pids, "server-pid", "")
	err := fs.Parse([]string{"--server-arg=--routes=nats://a:1,nats://b:2", "--server-arg=--batch-window=20ms", "--server-pid", "7,8", "--server-pid=9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 2 || args[0] != "--routes=nats://a:1,nats://b:2" {
		t.Errorf("server args = %q", args)
	}
	if len(pids) != 3 || pids[0] != 7 || pids[2] != 9 {
		t.Errorf("pids = %v", pids)
	}
	if err := pids.Set("x"); err == nil {
		t.Error(`--server-pid x accepted`)
	}
}

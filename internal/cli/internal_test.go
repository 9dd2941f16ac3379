package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lesismal/nbio/logging"

	"github.com/danmaku/danmaku/internal/bus"
)

// get fetches url with method and returns the status and body.
func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// quietNBIO silences nbio's process-wide logger once: it would print to
// stdout.
var quietNBIO sync.Once

// startNode starts a node in-process; t.Cleanup stops it.
func startNode(t *testing.T, cfg ServerConfig) *Server {
	t.Helper()
	quietNBIO.Do(func() { logging.SetLevel(logging.LevelError) })
	cfg.Addr = "127.0.0.1:0"
	cfg.Logic.APIKeys = []string{"k"}
	if cfg.Bus.URL == "" {
		cfg.Bus.DataDir = t.TempDir()
	}
	// A route of the Internal hook, beside the console that logic brings.
	cfg.Internal = func(*Server) []Route {
		return []Route{{"/extra/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "extra at "+r.URL.Path)
		})}}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv, err := StartServer(ctx, cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.Role.command(), err)
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

// want checks that each path answers with status and a body containing
// body.
func want(t *testing.T, base string, status int, body string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		method, path := http.MethodGet, p
		if m, rest, ok := strings.Cut(p, " "); ok {
			method, path = m, rest
		}
		code, got := get(t, method, base+path)
		if code != status || !strings.Contains(got, body) {
			t.Errorf("%s %s%s: %d %.80q, want %d and %q", method, base, path, code, got, status, body)
		}
	}
}

// With an internal address, every role serves /metrics, pprof and the
// internal routes there, and its public port refuses them with the 404 of
// an unknown path; the health checks answer on both.
func TestInternalAddr(t *testing.T) {
	// The first node embeds NATS with a client port the other roles join.
	all := startNode(t, ServerConfig{InternalAddr: "127.0.0.1:0", Bus: bus.Config{Listen: "127.0.0.1:0"}})
	nodes := []*Server{all}
	for _, role := range []Role{RoleGateway, RoleLogic} {
		cfg := ServerConfig{Role: role, InternalAddr: "127.0.0.1:0", Bus: bus.Config{URL: all.Bus().ClientURL()}}
		cfg.Auth.IDKey = []byte("internal-test-user-id-key-0123456789")
		nodes = append(nodes, startNode(t, cfg))
	}
	for _, srv := range nodes {
		t.Run(srv.cfg.Role.command(), func(t *testing.T) {
			if srv.InternalAddr() == "" || srv.InternalAddr() == srv.Addr() {
				t.Fatalf("internal address %q, public %q", srv.InternalAddr(), srv.Addr())
			}
			public, internal := srv.URL(), "http://"+srv.InternalAddr()
			_, notFound := get(t, http.MethodGet, public+"/no-such-page")
			want(t, public, http.StatusNotFound, notFound,
				"/metrics", "POST /metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/admin/", "/admin/main.js", "/extra/", "/extra/rooms")
			want(t, internal, http.StatusOK, "danmaku_", "/metrics")
			want(t, internal, http.StatusOK, "goroutine", "/debug/pprof/")
			want(t, internal, http.StatusOK, "", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline")
			want(t, internal, http.StatusOK, "extra at /extra/rooms", "/extra/rooms")
			if srv.cfg.Role.hasLogic() {
				want(t, internal, http.StatusOK, "<title>danmaku console</title>", "/admin/")
			} else {
				want(t, internal, http.StatusNotFound, "", "/admin/") // no API, no console
			}
			for _, base := range []string{public, internal} {
				want(t, base, http.StatusOK, "ok", "/healthz")
				want(t, base, http.StatusOK, "ready", "/readyz")
			}
			if srv.cfg.Role.hasLogic() {
				// The API is on both: the console on the internal address
				// calls it on its own origin.
				want(t, public, http.StatusUnauthorized, "", "/v1/rooms/lobby")
				want(t, internal, http.StatusUnauthorized, "", "/v1/rooms/lobby")
			} else {
				want(t, internal, http.StatusNotFound, "", "/v1/rooms/lobby")
			}
		})
	}
}

// --public-metrics puts /metrics back on the public port; pprof and the
// other internal routes stay off it.
func TestPublicMetrics(t *testing.T) {
	srv := startNode(t, ServerConfig{InternalAddr: "127.0.0.1:0", PublicMetrics: true})
	want(t, srv.URL(), http.StatusOK, "danmaku_", "/metrics")
	want(t, "http://"+srv.InternalAddr(), http.StatusOK, "danmaku_", "/metrics")
	want(t, srv.URL(), http.StatusNotFound, "404 page not found", "/debug/pprof/", "/admin/", "/extra/")
}

// Without an internal address everything is on the public port, as for a
// one-node trial, except pprof, which is nowhere.
func TestNoInternalAddr(t *testing.T) {
	srv := startNode(t, ServerConfig{})
	if srv.InternalAddr() != "" {
		t.Fatalf("internal address %q without one configured", srv.InternalAddr())
	}
	want(t, srv.URL(), http.StatusOK, "danmaku_", "/metrics")
	want(t, srv.URL(), http.StatusOK, "<title>danmaku console</title>", "/admin/")
	want(t, srv.URL(), http.StatusOK, "extra at /extra/", "/extra/")
	want(t, srv.URL(), http.StatusNotFound, "404 page not found", "/debug/pprof/", "/debug/pprof/profile")
}

// A busy internal address fails the start, and whatever started stops.
func TestInternalAddrBusy(t *testing.T) {
	first := startNode(t, ServerConfig{InternalAddr: "127.0.0.1:0"})
	cfg := ServerConfig{InternalAddr: first.InternalAddr(), Addr: "127.0.0.1:0"}
	cfg.Bus.DataDir = t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if srv, err := StartServer(ctx, cfg); err == nil || !strings.Contains(err.Error(), "internal address: listen "+first.InternalAddr()) {
		if srv != nil {
			_ = srv.Shutdown(context.Background())
		}
		t.Fatalf("second node on the same internal address: %v", err)
	}
}

// stopProcess ends a child started by startBanner with SIGTERM and returns
// its stderr once it has exited 0.
func stopProcess(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer) string {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr)
	}
	return stderr.String()
}

// The real binary, configured by a file: the file's internal address
// serves /metrics and pprof, the public port refuses them, the banner says
// where they went, and the file's other settings apply.
func TestServeConfigFileAndInternalAddr(t *testing.T) {
	file := writeFile(t, "danmaku.toml", "internal-addr = \"127.0.0.1:0\"\nmax-text-runes = 7\ndrain-timeout = \"300ms\"\n")
	cmd, banner, stderr := startBanner(t, "serve", "--config", file, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--api-key", "k")
	public := regexp.MustCompile(`Demo page:\s+(http://\S+)/`).FindStringSubmatch(banner)
	internal := regexp.MustCompile(`Internal:\s+(http://\S+)/ `).FindStringSubmatch(banner)
	metrics := regexp.MustCompile(`Metrics:\s+(\S+)\n`).FindStringSubmatch(banner)
	if public == nil || internal == nil || metrics == nil || metrics[1] != internal[1]+"/metrics" {
		t.Fatalf("the banner does not show the internal address, and /metrics there:\n%s", banner)
	}
	want(t, public[1], http.StatusNotFound, "404 page not found", "/metrics", "/debug/pprof/")
	want(t, public[1], http.StatusOK, `"maxTextRunes":7`, "/danmaku-config.json")
	want(t, internal[1], http.StatusOK, "danmaku_connections", "/metrics")
	want(t, internal[1], http.StatusOK, "goroutine", "/debug/pprof/")
	want(t, internal[1], http.StatusOK, "ready", "/readyz")
	stopProcess(t, cmd, stderr)
}

// --admin-addr still gives pprof where it says, and /metrics stays public
// as it was; the log says to use --internal-addr.
func TestAdminAddrIsADeprecatedAlias(t *testing.T) {
	cmd, banner, stderr := startBanner(t, "serve", "--admin-addr", "127.0.0.1:0", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--api-key", "k", "--drain-timeout", "300ms")
	public := regexp.MustCompile(`Demo page:\s+(http://\S+)/`).FindStringSubmatch(banner)
	internal := regexp.MustCompile(`Internal:\s+(http://\S+)/ `).FindStringSubmatch(banner)
	if public == nil || internal == nil || !strings.Contains(banner, "Metrics:    "+internal[1]+"/metrics and "+public[1]+"/metrics") {
		t.Fatalf("banner:\n%s", banner)
	}
	want(t, internal[1], http.StatusOK, "goroutine", "/debug/pprof/")
	want(t, public[1], http.StatusOK, "danmaku_connections", "/metrics")
	want(t, public[1], http.StatusNotFound, "404 page not found", "/debug/pprof/")
	if log := stopProcess(t, cmd, stderr); !strings.Contains(log, `msg="--admin-addr is deprecated: it now means --internal-addr with --public-metrics; use those"`) {
		t.Errorf("no deprecation warning in the log:\n%s", log)
	}

	var out, errOut bytes.Buffer
	code := Main([]string{"serve", "--admin-addr", "127.0.0.1:6060", "--internal-addr", "127.0.0.1:6061"}, &out, &errOut)
	if want := "danmaku serve: usage: --admin-addr is a deprecated alias of --internal-addr: give only --internal-addr"; code != 2 || !strings.Contains(errOut.String(), want) {
		t.Errorf("both: exit %d, stderr %q", code, errOut.String())
	}
}

// An internal route the ports could not take fails the start with an
// error, where http.ServeMux would panic.
func TestInternalRouteConflicts(t *testing.T) {
	for _, pattern := range []string{"/healthz", "/metrics", "/v1/", "GET example.com/x", "", "/"} {
		cfg := ServerConfig{Addr: "127.0.0.1:0", InternalAddr: "127.0.0.1:0"}
		cfg.Bus.DataDir = t.TempDir()
		cfg.Internal = func(*Server) []Route { return []Route{{pattern, http.NotFoundHandler()}} }
		srv, err := StartServer(t.Context(), cfg)
		if err == nil {
			_ = srv.Shutdown(context.Background())
			t.Errorf("internal route %q: started", pattern)
		} else if !strings.Contains(err.Error(), "internal route") {
			t.Errorf("internal route %q: %v", pattern, err)
		}
	}
}

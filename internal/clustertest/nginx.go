package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// NginxBin finds Debian's nginx; tests that need it are skipped without it
// when not in CI (make test installs it).
func NginxBin(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" || os.Getenv("DANMAKU_REQUIRE_NGINX") != "" {
		t.Fatal("clustertest: nginx is missing (make test installs it: apt-get install -y nginx)")
	}
	t.Skip("nginx is not installed (make test installs it)")
	return ""
}

var (
	upstreamBlock = regexp.MustCompile(`(?s)(upstream (\w+) \{.*?)\n\}`)
	serverLine    = regexp.MustCompile(`(?m)^\s*server [0-9.]+:[0-9]+[^;]*;\n?`)
	listenLine    = regexp.MustCompile(`(?m)^(\s*)listen 80;`)
)

// StartNginx runs nginx with the site configuration at site (the file the
// docs give operators), its upstream servers replaced by upstreams (by
// upstream name) and its listener moved to a free loopback port. It
// returns nginx's base URL.
func StartNginx(t testing.TB, site string, upstreams map[string][]string) string {
	t.Helper()
	bin := NginxBin(t)
	src, err := os.ReadFile(site)
	if err != nil {
		t.Fatal(err)
	}
	conf := upstreamBlock.ReplaceAllStringFunc(string(src), func(block string) string {
		m := upstreamBlock.FindStringSubmatch(block)
		addrs, ok := upstreams[m[2]]
		if !ok {
			t.Fatalf("clustertest: no addresses for upstream %s", m[2])
		}
		body := serverLine.ReplaceAllString(m[1], "")
		for _, a := range addrs {
			body += "\n    server " + a + " max_fails=1 fail_timeout=5s;"
		}
		return body + "\n}"
	})
	for _, line := range serverLine.FindAllString(conf, -1) {
		if !strings.Contains(line, "127.0.0.1:") {
			t.Fatalf("clustertest: upstream line %q was not replaced", strings.TrimSpace(line))
		}
	}
	port := FreePort(t)
	if !listenLine.MatchString(conf) {
		t.Fatal("clustertest: the site configuration has no `listen 80;`")
	}
	conf = listenLine.ReplaceAllString(conf, fmt.Sprintf("${1}listen 127.0.0.1:%d;", port))
	dir := t.TempDir()
	var main strings.Builder
	fmt.Fprintf(&main, "daemon off;\nmaster_process off;\nworker_processes 1;\npid %s;\nerror_log %s warn;\n",
		filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"))
	fmt.Fprintf(&main, "events { worker_connections 4096; }\nhttp {\n  access_log off;\n")
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&main, "  %s_temp_path %s;\n", tmp, filepath.Join(dir, tmp))
	}
	main.WriteString(conf)
	main.WriteString("\n}\n")
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(main.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", dir, "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("clustertest: nginx -t: %v\n%s\n%s", err, out, main.String())
	}
	p := Start(t, "nginx", bin, "-p", dir, "-c", path)
	WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	_ = p
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

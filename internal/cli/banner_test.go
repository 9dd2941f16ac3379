package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestBannerWithGeneratedKey(t *testing.T) {
	var out bytes.Buffer
	cfg := &ServerConfig{}
	cfg.Logic.APIKeys = []string{"dmk_generated"}
	printBanner(&out, RoleAll, "[::]:8080", "", cfg, true, 0)
	b := out.String()
	if !strings.Contains(b, "API key:    dmk_generated  (generated") {
		t.Errorf("the key line does not show the generated key:\n%s", b)
	}
	// The Try line works when pasted: it carries the key itself.
	if !strings.Contains(b, `Try: curl -H "Authorization: Bearer dmk_generated" `) || !strings.Contains(b, " http://localhost:8080/v1/rooms/lobby/messages") {
		t.Errorf("the Try line does not use the generated key and the server's URL:\n%s", b)
	}
	if strings.Contains(b, "<api key>") || strings.Contains(b, "$KEY") {
		t.Errorf("a placeholder where the key should be:\n%s", b)
	}
}

func TestBannerWithConfiguredKeys(t *testing.T) {
	for _, c := range []struct {
		flags    []string
		file     string
		fileKeys int
		want     string
	}{
		{nil, "/etc/danmaku/keys", 3, "API keys:   3 keys from /etc/danmaku/keys\n"},
		{[]string{"a"}, "", 0, "API keys:   1 key from --api-key\n"},
		{[]string{"a", "b"}, "/k", 1, "API keys:   2 keys from --api-key, 1 key from /k\n"},
	} {
		var out bytes.Buffer
		cfg := &ServerConfig{APIKeyFile: c.file}
		cfg.Logic.APIKeys = c.flags
		printBanner(&out, RoleAll, "127.0.0.1:9000", "", cfg, false, c.fileKeys)
		b := out.String()
		if !strings.Contains(b, c.want) {
			t.Errorf("want %q in:\n%s", c.want, b)
		}
		// Configured keys are never printed; $KEY stands for one, and the
		// banner says so.
		for _, k := range c.flags {
			if strings.Contains(b, "Bearer "+k+`"`) {
				t.Errorf("key %q printed:\n%s", k, b)
			}
		}
		if !strings.Contains(b, `Try: curl -H "Authorization: Bearer $KEY" `) || !strings.Contains(b, "with KEY set to one of those API keys") {
			t.Errorf("no $KEY placeholder, or it is not explained:\n%s", b)
		}
		if strings.Contains(b, "0 +") || strings.Contains(b, "configured") {
			t.Errorf("old wording:\n%s", b)
		}
	}
}

// With an internal address the banner says where /metrics and pprof went.
func TestBannerWithInternalAddr(t *testing.T) {
	for _, c := range []struct {
		public bool
		want   string
	}{
		{false, "  Metrics:    http://localhost:9090/metrics\n"},
		{true, "  Metrics:    http://localhost:9090/metrics and http://localhost:8080/metrics\n"},
	} {
		var out bytes.Buffer
		cfg := &ServerConfig{PublicMetrics: c.public}
		cfg.Logic.APIKeys = []string{"a"}
		printBanner(&out, RoleGateway, "[::]:8080", "0.0.0.0:9090", cfg, false, 0)
		b := out.String()
		if !strings.Contains(b, "  Internal:   http://localhost:9090/  (/metrics, /debug/pprof/; not") || !strings.Contains(b, c.want) {
			t.Errorf("public metrics %v: want the internal address and %q in:\n%s", c.public, c.want, b)
		}
		if strings.Contains(b, "Console") {
			t.Errorf("a gateway has no console:\n%s", b)
		}
	}
	// With logic, the console is there too.
	var out bytes.Buffer
	cfg := &ServerConfig{}
	cfg.Logic.APIKeys = []string{"a"}
	printBanner(&out, RoleAll, "[::]:8080", "127.0.0.1:9090", cfg, false, 0)
	if b := out.String(); !strings.Contains(b, "  Internal:   http://127.0.0.1:9090/  (/metrics, /debug/pprof/, /admin/; not on the public port)\n") ||
		!strings.Contains(b, "  Console:    http://127.0.0.1:9090/admin/\n") {
		t.Errorf("serve with an internal address: the console is not where the banner says:\n%s", b)
	}
	out.Reset()
	printBanner(&out, RoleLogic, "127.0.0.1:8081", "", cfg, false, 0)
	if b := out.String(); !strings.Contains(b, "  Console:    http://127.0.0.1:8081/admin/\n") {
		t.Errorf("a logic node without an internal address: no console line:\n%s", b)
	}
}

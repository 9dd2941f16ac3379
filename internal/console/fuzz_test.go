package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danmaku/danmaku/internal/console"
)

// FuzzPolicy: whatever Host a request names, the console's CSP keeps its
// directives: a host goes into connect-src only when it is a plain name or
// address, so a Host cannot add a directive, a source list or a line.
func FuzzPolicy(f *testing.F) {
	for _, host := range []string{"127.0.0.1:9090", "admin.example.com", "[::1]:9090", "evil; script-src *", "a b", "x\r\nSet-Cookie: a=b", ""} {
		f.Add(host)
	}
	h, err := console.Handler(console.Config{WS: ":8080/ws"})
	if err != nil {
		f.Fatal(err)
	}
	base := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"
	tail := "; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	f.Fuzz(func(t *testing.T, host string) {
		r := httptest.NewRequest(http.MethodGet, "/admin/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		csp := w.Header().Get("Content-Security-Policy")
		extra, ok := strings.CutPrefix(csp, base)
		if !ok || !strings.HasSuffix(extra, tail) {
			t.Fatalf("Host %q: CSP %q lost its directives", host, csp)
		}
		extra = strings.TrimSuffix(extra, tail)
		if extra == "" {
			return
		}
		src := strings.Fields(extra)
		if len(src) != 2 || strings.ContainsAny(extra, ";,\r\n'\"") ||
			!strings.HasPrefix(src[0], "ws://") || !strings.HasSuffix(src[0], ":8080") || src[1] != "wss://"+strings.TrimPrefix(src[0], "ws://") {
			t.Fatalf("Host %q added %q to connect-src", host, extra)
		}
	})
}

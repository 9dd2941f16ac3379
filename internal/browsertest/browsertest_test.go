package browsertest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A page opens, evaluates, is waited on and photographed; a wait that
// times out says what the Debug expression saw.
func TestTab(t *testing.T) {
	b := New(t, time.Minute)
	b.Debug = `'title=' + document.title`
	p := b.Open(t, `data:text/html,<title>bt</title><p id=x>hello</p>`)
	if got := Eval[string](p, `document.getElementById('x').textContent`); got != "hello" {
		t.Fatalf("text %q", got)
	}
	if got := Eval[int](p, `new Promise(r => setTimeout(() => r(42), 10))`); got != 42 {
		t.Fatalf("awaited %d", got)
	}
	p.Do("set a flag later", chromedp.Evaluate[chromedp.Void](`setTimeout(() => { window.flag = true }, 50)`))
	p.WaitFor("the flag", `window.flag`)
	if got := p.debugState(); got != "title=bt" {
		t.Errorf("debug state %q", got)
	}
	out := filepath.Join(t.TempDir(), "shot.png")
	p.Screenshot(out)
	data, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %v, %d bytes", err, len(data))
	}
	if d := p.Dialogs(); len(d) != 0 {
		t.Errorf("dialogs %v", d)
	}
}

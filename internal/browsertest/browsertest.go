// Package browsertest drives Debian's headless chromium for the tests of
// the web pages the binary serves (the demo page in web/, the console in
// internal/console), through chromedp. It must be installed: a missing
// browser fails the tests instead of skipping them, so that a green run
// always means the page was really exercised.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium finds the browser: $DANMAKU_CHROMIUM, then the usual names.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("DANMAKU_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the browser tests need it. Install it with `make chromium` " +
		"(as root: apt-get update && apt-get install -y chromium), or point DANMAKU_CHROMIUM at a Chrome binary")
	return ""
}

// Browser is one headless chromium for one test, with a fresh profile.
type Browser struct {
	// Debug is a JavaScript expression giving a string that describes the
	// page, added to the message of a WaitFor that times out. "" adds
	// nothing.
	Debug string

	ctx context.Context // the browser's first tab; tabs are its children
}

// New starts chromium with windows of 1280×800 CSS px. It stops when the
// test ends, or after limit.
func New(t testing.TB, limit time.Duration) *Browser {
	t.Helper()
	return NewSized(t, limit, 1280, 800)
}

// NewSized starts chromium with windows of width×height CSS px.
func NewSized(t testing.TB, limit time.Duration, width, height int) *Browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in containers
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Shared memory stays in /dev/shm: with disable-dev-shm-usage it
		// would be files in /tmp, which stall when other jobs hit the disk.
		chromedp.Flag("disable-dev-shm-usage", false),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), limit)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &Browser{ctx: bctx}
}

// Context is the browser's first tab, for browser-wide commands.
func (b *Browser) Context() context.Context { return b.ctx }

// Tab is one page in its own window (so it is visible and gets animation
// frames), with its uncaught exceptions, console errors and dialogs
// recorded. Exceptions and console errors fail the test when it ends.
type Tab struct {
	t     testing.TB
	ctx   context.Context
	debug string

	mu         sync.Mutex // guards the fields below
	exceptions []string
	dialogs    []string
}

// Open opens url in a new tab, in a window of its own so that it is visible.
func (b *Browser) Open(t testing.TB, url string) *Tab {
	t.Helper()
	return b.OpenTab(t, url, true)
}

// OpenTab opens url in a new tab; without newWindow the tab joins the
// browser's first window, where it is hidden whenever another tab of that
// window is active.
func (b *Browser) OpenTab(t testing.TB, url string, newWindow bool) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewWindow(newWindow))
	t.Cleanup(cancel)
	p := &Tab{t: t, ctx: ctx, debug: b.Debug}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p.exceptions = append(p.exceptions, exceptionText(ev))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				p.exceptions = append(p.exceptions, "console.error: "+strings.Join(parts, " "))
			}
		case *page.EventJavascriptDialogOpening:
			p.dialogs = append(p.dialogs, string(ev.Type)+": "+ev.Message)
		}
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.exceptions {
			t.Errorf("page error: %s", e)
		}
	})
	// A page load that fails in the network stack (net::ERR_…) is tried
	// again: on a loaded host Chromium has been seen to fail a first
	// connection to a server that was already serving. A server that keeps
	// refusing still fails the test.
	for attempt := 1; ; attempt++ {
		err := chromedp.Do(p.ctx, chromedp.Navigate(url))
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "net::ERR_") {
			t.Fatalf("navigate to %s: %v", url, err)
		}
		t.Logf("navigate to %s: %v; trying again", url, err)
		time.Sleep(200 * time.Millisecond)
	}
	return p
}

func exceptionText(ev *runtime.EventExceptionThrown) string {
	d := ev.ExceptionDetails
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return fmt.Sprintf("%s at %s:%d", d.Text, d.URL, d.LineNumber+1)
}

// Context is the tab's chromedp context.
func (p *Tab) Context() context.Context { return p.ctx }

// T is the test the tab belongs to.
func (p *Tab) T() testing.TB { return p.t }

// Do runs actions, failing the test on error.
func (p *Tab) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression (awaiting promises) and decodes
// its value.
func Eval[T any](p *Tab, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// WaitFor polls a JavaScript condition until it is truthy, up to 20 s.
func (p *Tab) WaitFor(what, cond string) {
	p.t.Helper()
	p.WaitForWithin(what, cond, 20*time.Second)
}

// WaitForWithin polls a JavaScript condition until it is truthy, up to limit.
func (p *Tab) WaitForWithin(what, cond string, limit time.Duration) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[bool]("!!("+cond+")",
		chromedp.WithPollingInterval(25*time.Millisecond),
		chromedp.WithPollingTimeout(limit)))
	if err != nil {
		if errors.Is(err, chromedp.ErrPollingTimeout) {
			p.t.Fatalf("timed out waiting for %s (%s)\npage state: %s", what, cond, p.debugState())
		}
		p.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// debugState describes the page for failure messages.
func (p *Tab) debugState() string {
	if p.debug == "" {
		return "(no Debug expression)"
	}
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](p.debug))
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return v
}

// Dialogs returns the JavaScript dialogs (alert and the like) that opened.
func (p *Tab) Dialogs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dialogs...)
}

// Screenshot captures the tab's viewport as PNG and writes it to path.
func (p *Tab) Screenshot(path string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s (%d KiB)", path, len(png)/1024)
}

// DemoJoined is true, in a tab of the demo page (web/), once its client is
// connected and in its room: the condition to WaitFor before a test talks
// to the room.
const DemoJoined = `(() => {
	const d = window.__danmaku;
	return d && d.client.state === 'open' && d.client.resume.position(d.room) !== null &&
		!d.client.resume.isAwaiting(d.room);
})()`

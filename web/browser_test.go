package web_test

import (
	"testing"
	"time"

	"github.com/danmaku/danmaku/internal/browsertest"
)

// The browser and its tabs are internal/browsertest's; what is here knows
// the demo page.
type (
	browser = browsertest.Browser
	tab     = browsertest.Tab
)

// pageState describes the demo page for the failure message of a wait.
const pageState = `JSON.stringify({
	state: window.__danmaku?.client?.state,
	stats: window.__danmaku?.client?.stats,
	render: window.__danmaku?.renderer?.stats,
	status: document.getElementById('send-status')?.textContent,
	conn: document.getElementById('st-conn')?.textContent,
	list: [...document.querySelectorAll('#dm-list li')].slice(-20).map(li => (li.dataset.offset || '-') + ':' + li.textContent),
})`

// newBrowser starts chromium for the demo page. It stops when the test
// ends, or after limit.
func newBrowser(t testing.TB, limit time.Duration) *browser {
	t.Helper()
	return newBrowserSized(t, limit, 1280, 800)
}

// newBrowserSized starts chromium with windows of width×height CSS px.
func newBrowserSized(t testing.TB, limit time.Duration, width, height int) *browser {
	t.Helper()
	b := browsertest.NewSized(t, limit, width, height)
	b.Debug = pageState
	return b
}

// eval evaluates a JavaScript expression (awaiting promises) and decodes its value.
func eval[T any](p *tab, expr string) T {
	p.T().Helper()
	return browsertest.Eval[T](p, expr)
}

// waitJoined waits until the page's client is connected and in its room.
func waitJoined(p *tab) {
	p.T().Helper()
	p.WaitFor("the page to join its room", browsertest.DemoJoined)
}

// listOffsets returns the offsets in the comment list, in DOM order.
func listOffsets(p *tab) []uint64 {
	p.T().Helper()
	return eval[[]uint64](p, `[...document.querySelectorAll('#dm-list li[data-offset]')].map(li => Number(li.dataset.offset))`)
}

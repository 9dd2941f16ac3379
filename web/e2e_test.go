package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/danmaku/danmaku/internal/stacktest"
)

// testLimit bounds each browser test, browser start included.
const testLimit = 2 * time.Minute

// pageURL is the demo page of stack s in room.
func pageURL(s *stacktest.Stack, room string) string {
	return s.URL + "/?room=" + room
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return fmt.Sprintf("%q", s) // Go's quoting is valid JavaScript for these texts
}

// TestCommentFromOnePageShowsInAnother: a viewer types a comment in one page;
// it shows at once, outlined, in that page and reaches another page's stage.
func TestCommentFromOnePageShowsInAnother(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	alice := b.Open(t, pageURL(s, "e2e-two"))
	bob := b.Open(t, pageURL(s, "e2e-two"))
	waitJoined(alice)
	waitJoined(bob)

	const text = "hello from alice 👋"
	alice.Do("type and send",
		chromedp.SendKeys(chromedp.ID("dm-input"), text),
		chromedp.Click(chromedp.ID("dm-send")),
	)
	// Bob's stage shows it, with the offset the server gave it.
	sel := `[...document.querySelectorAll('.dm-layer .dm-item[data-offset]')].find(el => el.textContent === ` + jsString(text) + `)`
	bob.WaitFor("alice's comment on bob's stage", sel)
	// Alice sees her own comment outlined, labelled with its offset once stored.
	alice.WaitFor("alice's own comment, outlined and acknowledged",
		`(() => { const el = [...document.querySelectorAll('.dm-layer .dm-item.dm-own')].find(el => el.textContent === `+jsString(text)+`); return el && el.dataset.offset; })()`)
	offA := eval[string](alice, `[...document.querySelectorAll('.dm-item.dm-own')].find(el => el.textContent === `+jsString(text)+`).dataset.offset`)
	offB := eval[string](bob, `(`+sel+`).dataset.offset`)
	if offA != offB {
		t.Errorf("offsets differ: alice %s, bob %s", offA, offB)
	}
	// Alice's page draws it once, not again when the room echoes it.
	alice.WaitFor("the echo to be processed", `window.__danmaku.client.stats.received >= 1`)
	if n := eval[int](alice, `[...document.querySelectorAll('.dm-item')].filter(el => el.textContent === `+jsString(text)+`).length`); n != 1 {
		t.Errorf("alice's stage shows her comment %d times, want once", n)
	}
	alice.WaitFor("alice's comment in her list", `document.querySelectorAll('#dm-list li[data-offset="`+offA+`"]').length > 0`)
	if n := eval[int](alice, `document.querySelectorAll('#dm-list li[data-offset="`+offA+`"]').length`); n != 1 {
		t.Errorf("alice's list shows her comment %d times, want once", n)
	}
	// Alice is a guest: her comment is from "guest" in her list as in bob's.
	bob.WaitFor("alice's comment in bob's list", `document.querySelector('#dm-list li[data-offset="`+offA+`"]')`)
	for _, p := range []*tab{alice, bob} {
		if who := eval[string](p, `document.querySelector('#dm-list li[data-offset="`+offA+`"] .dm-li-user').textContent`); who != "guest" {
			t.Errorf("a guest's comment is labelled %q, want guest", who)
		}
	}
	// The send bar cools down after a send.
	if txt := eval[string](alice, `document.getElementById('dm-send').textContent`); txt == "Send" {
		t.Logf("cooldown already over when checked (slow machine?)")
	}
}

// TestAPIMessageRendersAsText: a message pushed through the HTTP API is
// rendered, and HTML in it stays text, on both renderer surfaces.
func TestAPIMessageRendersAsText(t *testing.T) {
	for _, engine := range []string{"dom", "canvas"} {
		t.Run(engine, func(t *testing.T) { testAPIMessageRendersAsText(t, engine) })
	}
}

func testAPIMessageRendersAsText(t *testing.T, engine string) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	p := b.Open(t, pageURL(s, "e2e-xss")+"&engine="+engine)
	waitJoined(p)
	if got := eval[string](p, `window.__danmaku.renderer.engine`); got != engine {
		t.Fatalf("renderer engine %q, want %q", got, engine)
	}

	const xss = `<img src=x onerror=alert(1)>`
	const script = `<script>alert(2)</script><b>bold</b>`
	offsets := s.Publish(t, "e2e-xss", "pushed by the API", xss, script)
	for i, text := range []string{"pushed by the API", xss, script} {
		p.WaitFor(fmt.Sprintf("message %d on the stage", i),
			fmt.Sprintf(`[...document.querySelectorAll('.dm-layer .dm-item')].some(el => el.dataset.offset === '%d' && el.textContent === %s)`, offsets[i], jsString(text)))
	}
	// Nothing but the renderer's own elements in its layer, and no element a
	// comment could have smuggled in anywhere.
	const unexpected = `[...document.querySelectorAll('.dm-layer *:not(.dm-item, .dm-canvas, .dm-mirror), ` +
		`#dm-list img, #dm-list script, #dm-list b, img[src="x"], script:not([src])')]`
	if found := eval[[]string](p, unexpected+`.map(e => e.outerHTML)`); len(found) != 0 {
		t.Errorf("HTML from a comment was parsed: %q", found)
	}
	if got := eval[bool](p, `window.__xssFired === true`); got {
		t.Error("the payload ran")
	}
	if d := p.Dialogs(); len(d) > 0 {
		t.Errorf("dialogs opened: %v", d)
	}
	// The list shows it as text as well.
	p.WaitFor("the list entry", fmt.Sprintf(`document.querySelector('#dm-list li[data-offset="%d"] .dm-li-text')?.textContent === %s`, offsets[1], jsString(xss)))
}

// TestResumeAfterRestart: the server restarts; the page reconnects by itself
// and resumes: every message, including those sent while it was away, shows
// exactly once.
func TestResumeAfterRestart(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	const room = "e2e-resume"
	p := b.Open(t, pageURL(s, room))
	waitJoined(p)

	want := s.Publish(t, room, "before 1", "before 2", "before 3")
	p.WaitFor("the first messages", fmt.Sprintf(`document.querySelectorAll('#dm-list li[data-offset]').length >= %d`, len(want)))
	connects := eval[int](p, `window.__danmaku.client.stats.connects`)

	s.Restart(t)
	// Published before the page is back: they must come with the resume.
	want = append(want, s.Publish(t, room, "while away 1", "while away 2", "while away 3")...)
	if eval[int](p, `window.__danmaku.client.stats.connects`) > connects {
		t.Log("the page reconnected before the messages sent while away: they arrive live, not through the resume")
	}
	p.WaitFor("a new connection", fmt.Sprintf(`window.__danmaku.client.stats.connects > %d`, connects))
	waitJoined(p)
	want = append(want, s.Publish(t, room, "after 1", "after 2")...)

	p.WaitFor("every message", fmt.Sprintf(`document.querySelectorAll('#dm-list li[data-offset]').length >= %d`, len(want)))
	// Give a duplicate a chance to show up: wait until the last one is on
	// the stage too, which comes after the list entry.
	p.WaitFor("the last message on the stage", fmt.Sprintf(`!!document.querySelector('.dm-item[data-offset="%d"]')`, want[len(want)-1]))
	got := listOffsets(p)
	if !slices.Equal(got, want) {
		t.Fatalf("list offsets after restart:\n got %v\nwant %v", got, want)
	}
	join := eval[map[string]any](p, `window.__danmaku.stats.lastJoin`)
	if join["resumed"] != true || join["recovered"] != true {
		t.Errorf("the rejoin after the restart was %v, want resumed and recovered", join)
	}
	stats := eval[map[string]float64](p, `window.__danmaku.client.stats`)
	if stats["resets"] != 0 {
		t.Errorf("resume reported %v resets, want 0 (epoch and history survive a restart)", stats["resets"])
	}
	t.Logf("client stats: %v", stats)
}

// TestAPICommentsInHeaderListAndCard: comments a service publishes without a
// user are from "system" in the comment list and in the comment card alike,
// and the header's rate counts them while they arrive in bursts, as a
// lively room's do.
func TestAPICommentsInHeaderListAndCard(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	const room = "e2e-labels"
	p := b.Open(t, pageURL(s, room))
	waitJoined(p)

	var offsets []uint64
	var rates []string
	for range 4 {
		offsets = s.Publish(t, room, "one", "two", "three", "four")
		time.Sleep(1300 * time.Millisecond)
		rates = append(rates, eval[string](p, `document.getElementById('st-rate').textContent`))
	}
	if slices.Contains(rates, "0 /s") {
		t.Errorf("the header read 0 /s while comments arrived: %q", rates)
	}

	li := fmt.Sprintf(`#dm-list li[data-offset="%d"]`, offsets[0])
	p.WaitFor("the comment in the list", `document.querySelector('`+li+`')`)
	if who := eval[string](p, `document.querySelector('`+li+` .dm-li-user').textContent`); who != "system" {
		t.Errorf("the list labels an API comment without a user %q, want system", who)
	}
	p.Do("open the comment card", chromedp.Click(chromedp.CSS(li)))
	p.WaitFor("the card", `!document.getElementById('dm-card').hidden`)
	if who := eval[string](p, `document.getElementById('dm-card-who').textContent`); who != "system" {
		t.Errorf("the card labels it %q, want system", who)
	}
}

// TestNackIsShown: a comment over the server's limit, sent by the page's
// client past the length counter, is refused and the viewer is told why.
func TestNackIsShown(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	p := b.Open(t, pageURL(s, "e2e-nack"))
	waitJoined(p)

	// The counter stops an over-long comment in the send bar.
	long := strings.Repeat("长", 101)
	p.Do("type an over-long comment", chromedp.SendKeys(chromedp.ID("dm-input"), long))
	p.WaitFor("the counter to flag it", `document.getElementById('dm-counter').classList.contains('over') && document.getElementById('dm-send').disabled`)
	if got := eval[string](p, `document.getElementById('dm-counter').textContent`); got != "101/100" {
		t.Errorf("counter shows %q, want 101/100", got)
	}
	// Past the counter, the server refuses it.
	p.Do("send past the counter", chromedp.Evaluate[chromedp.Void](`window.__danmaku.sendText(`+jsString(long)+`)`))
	p.WaitFor("the too_long notice", `document.getElementById('send-status').dataset.code === 'too_long'`)
	msg := eval[string](p, `document.getElementById('send-status').textContent`)
	if !strings.Contains(msg, "100") {
		t.Errorf("notice %q does not say the limit", msg)
	}
	p.WaitFor("the refused comment to leave the stage and be marked in the list",
		`!document.querySelector('.dm-item.dm-own') && document.querySelector('#dm-list li[data-failed="too_long"]')`)
	// Sent straight through the client, the nack is shown too.
	p.Do("send via the client", chromedp.Evaluate[chromedp.Void](`window.__danmaku.client.send(window.__danmaku.room, {text: 'x', mode: 'sideways'}).catch(() => {})`))
	p.WaitFor("the bad_request notice", `document.getElementById('send-status').dataset.code === 'bad_request'`)
}

// TestSettingsPersist: settings made in the panel survive a reload and take
// effect: a blocked keyword hides comments.
func TestSettingsPersist(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	const room = "e2e-settings"
	p := b.Open(t, pageURL(s, room))
	waitJoined(p)

	p.Do("change settings in the panel",
		chromedp.Click(chromedp.ID("settings-btn")),
		chromedp.WaitVisible(chromedp.ID("settings-panel")),
		chromedp.Click(chromedp.CSS(`input[data-setting="hideTop"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-list="keywords"] input`), "spoiler"),
		chromedp.Click(chromedp.CSS(`[data-list="keywords"] button[type="submit"]`)),
		chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector('select[data-setting="area"]'); el.value = '0.5'; el.dispatchEvent(new Event('change')); })()`),
	)
	p.WaitFor("the keyword in the list", `document.querySelector('[data-list="keywords"] li')?.textContent.includes('spoiler')`)

	p.Do("reload", chromedp.Reload())
	waitJoined(p)
	if !eval[bool](p, `document.querySelector('input[data-setting="hideTop"]').checked`) {
		t.Error("hideTop was not kept")
	}
	if got := eval[string](p, `document.querySelector('select[data-setting="area"]').value`); got != "0.5" {
		t.Errorf("area = %q after reload, want 0.5", got)
	}
	if !eval[bool](p, `[...document.querySelectorAll('[data-list="keywords"] li')].some(li => li.textContent.includes('spoiler'))`) {
		t.Error("the blocked keyword was not kept")
	}
	saved := eval[map[string]any](p, `JSON.parse(localStorage.getItem('danmaku.settings.v1'))`)
	if saved["hideTop"] != true || saved["area"] != 0.5 {
		t.Errorf("localStorage holds %v", saved)
	}

	// The settings apply: the keyword is blocked everywhere, top comments
	// are listed but not drawn.
	status, body := s.Do(t, "POST", "/v1/rooms/"+room+"/messages", map[string]any{"messages": []map[string]any{
		{"text": "big SPOILER ahead"},
		{"text": "on top", "mode": "top"},
		{"text": "fine comment"},
	}})
	if status != 200 {
		t.Fatalf("publish: %d %s", status, body)
	}
	p.WaitFor("the fine comment", `[...document.querySelectorAll('.dm-item')].some(el => el.textContent === 'fine comment')`)
	p.WaitFor("the top comment in the list", `[...document.querySelectorAll('#dm-list .dm-li-text')].some(el => el.textContent === 'on top')`)
	if eval[bool](p, `[...document.querySelectorAll('.dm-item, #dm-list li')].some(el => el.textContent.includes('SPOILER'))`) {
		t.Error("a comment with a blocked keyword is shown")
	}
	if eval[bool](p, `[...document.querySelectorAll('.dm-item')].some(el => el.textContent === 'on top')`) {
		t.Error("a top comment is drawn although top comments are hidden")
	}
}

// TestHiddenTabSkipsOldComments: while the tab is hidden nothing renders;
// when it comes back, comments older than their time on screen are skipped
// instead of bursting out, and recent ones are shown.
func TestHiddenTabSkipsOldComments(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	const room = "e2e-hidden"
	p := b.OpenTab(t, pageURL(s, room), false)
	waitJoined(p)
	// Hide it: bring the window's other tab (the browser's first) to the front.
	activate := func(ctx context.Context) {
		t.Helper()
		id := chromedp.FromContext(ctx).Target.TargetID
		if _, err := chromedp.CallBrowser(b.Context(), target.ActivateTarget, target.ActivateTargetParams{TargetID: id}); err != nil {
			t.Fatalf("activate tab: %v", err)
		}
	}
	activate(b.Context())
	p.WaitFor("the tab to be hidden", `document.visibilityState === 'hidden'`)
	shown := eval[int](p, `window.__danmaku.renderer.stats.shown`)

	old := s.Publish(t, room, "old 1", "old 2", "old 3")
	p.WaitFor("the old comments to arrive", fmt.Sprintf(`window.__danmaku.client.stats.received >= %d`, len(old)))
	// Let them outlive their time on screen (8 s to scroll across), as a
	// viewer who switched tabs for a while would.
	start := time.Now()
	p.WaitForWithin("the old comments' time on screen to pass", `(() => {
		const t0 = window.__hiddenT0 ??= performance.now();
		return performance.now() - t0 > 8500;
	})()`, 30*time.Second)
	fresh := s.Publish(t, room, "fresh 1", "fresh 2")
	p.WaitFor("the fresh comments to arrive", fmt.Sprintf(`window.__danmaku.client.stats.received >= %d`, len(old)+len(fresh)))
	if n := eval[int](p, `window.__danmaku.renderer.stats.shown`); n != shown {
		t.Errorf("%d comments rendered while the tab was hidden", n-shown)
	}
	t.Logf("hidden for %v", time.Since(start).Round(time.Second))

	activate(p.Context())
	p.WaitFor("the tab to be visible", `document.visibilityState === 'visible'`)
	for _, off := range fresh {
		p.WaitFor("a fresh comment on the stage", fmt.Sprintf(`!!document.querySelector('.dm-item[data-offset="%d"]')`, off))
	}
	for _, off := range old {
		if eval[bool](p, fmt.Sprintf(`!!document.querySelector('.dm-item[data-offset="%d"]')`, off)) {
			t.Errorf("comment %d, older than its time on screen, burst out on return", off)
		}
	}
	if stale := eval[int](p, `window.__danmaku.renderer.stats.stale`); stale < len(old) {
		t.Errorf("renderer counted %d stale comments, want at least %d", stale, len(old))
	}
	// They are still in the comment list: skipping is about the stage only.
	p.WaitFor("the old comments in the list", fmt.Sprintf(`!!document.querySelector('#dm-list li[data-offset="%d"]')`, old[0]))
}

package web_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/danmaku/danmaku/internal/stacktest"
)

// screenshotComments is what the screenshot shows: a lively room. The
// rounds are published about a second apart so that the comments spread
// over the stage; fixed ones come last, since they stay only 4 s.
var screenshotComments = [][]map[string]any{
	{
		{"text": "前方高能！！！", "color": "#fe0302", "size": "large"},
		{"text": "hello from Lisbon 🇵🇹"},
		{"text": "this drop is insane", "color": "#ffd302"},
	},
	{
		{"text": "2333333"},
		{"text": "<img src=x onerror=alert(1)> stays text", "color": "#a0ee00"},
		{"text": "名场面", "color": "#ff7204"},
		{"text": "the light show though ✨", "color": "#cc0273"},
	},
	{
		{"text": "awsl"},
		{"text": "encore! encore!", "size": "large"},
		{"text": "第一次来，好热闹", "color": "#ffaa02"},
		{"text": "so many people tonight", "color": "#00cd00"},
	},
	{
		{"text": "GG"},
		{"text": "弹幕护体", "color": "#89d5ff"},
		{"text": "who else is here at 3am", "size": "small"},
		{"text": "欢迎来到直播间 · welcome!", "mode": "top", "color": "#89d5ff", "type": "system", "user": map[string]any{"id": "sys", "name": "system"}},
		{"text": "bottom comments stay put", "mode": "bottom", "color": "#ffff00"},
	},
}

// TestScreenshot saves pictures of the page, wide and phone-sized, in the
// test's artifact directory (go test -artifacts keeps them; the path is
// logged), and checks that the phone layout does not scroll sideways.
func TestScreenshot(t *testing.T) {
	s := stacktest.Start(t, stacktest.Options{})
	b := newBrowser(t, testLimit)
	const room = "e2e-screenshot"
	// The DOM surface: the checks below read the comments' positions.
	p := b.Open(t, pageURL(s, room)+"&engine=dom")
	waitJoined(p)
	dir := t.ArtifactDir()

	for i, round := range screenshotComments {
		status, body := s.Do(t, "POST", "/v1/rooms/"+room+"/messages", map[string]any{"messages": round})
		if status != 200 {
			t.Fatalf("publish: %d %s", status, body)
		}
		var resp struct{ Offsets []uint64 }
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		// Let this round travel a little before the next.
		p.WaitFor(fmt.Sprintf("round %d to move in", i), fmt.Sprintf(`(() => {
			const el = document.querySelector('.dm-item[data-offset="%d"]');
			const stage = document.getElementById('stage').getBoundingClientRect();
			return el && el.getBoundingClientRect().left < stage.right - 170;
		})()`, resp.Offsets[0]))
		if i == 0 {
			p.Do("type an own comment",
				chromedp.SendKeys(chromedp.ID("dm-input"), "my own comment has an outline"),
				chromedp.Click(chromedp.ID("dm-send")),
			)
		}
	}
	p.WaitFor("the own comment to be stored, and the send bar to cool down", `(() => {
		return document.querySelector('.dm-item.dm-own[data-offset]') &&
			document.getElementById('dm-send').textContent === 'Send';
	})()`)
	wide, err := chromedp.Run(p.Context(), chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	save(t, filepath.Join(dir, "demo.png"), wide)

	p.Do("phone-sized viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	p.WaitFor("the phone layout", `document.querySelector('.layout').getBoundingClientRect().width <= 390`)
	if over := eval[int](p, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		t.Errorf("the phone layout is %d px wider than the screen", over)
	}
	for _, id := range []string{"stage", "sendbar", "dm-send", "dm-input"} {
		if w := eval[float64](p, `document.getElementById('`+id+`').getBoundingClientRect().right`); w > 390 {
			t.Errorf("#%s sticks out of a 390 px screen (right edge at %.0f)", id, w)
		}
	}
	phone, err := chromedp.Run(p.Context(), chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	save(t, filepath.Join(dir, "demo-phone.png"), phone)
}

func save(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d KiB)", path, len(data)/1024)
}

package web_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/danmaku/danmaku/web"
)

// The rendering benchmark floods the demo page's renderer with locally made
// comments (?bench=RATE) in headless chromium and reads the frame rate. It
// needs no danmaku server, only the page:
//
//	go test ./web -run '^$' -bench RenderFlood -benchtime 1x
//	go test ./web -run '^$' -bench RenderFlood -benchtime 1x -v -args -bench-rates 10,100,1000 -bench-seconds 20
//
// make web-bench runs the full sweep recorded in web/BENCHMARKS-web.md.
var (
	benchRates    = flag.String("bench-rates", "100,1000", "comments per second to try in BenchmarkRenderFlood")
	benchSeconds  = flag.Int("bench-seconds", 5, "measured seconds per rate in BenchmarkRenderFlood (after 2 s of warm-up)")
	benchViewport = flag.String("bench-viewport", "1280x800", "browser window size in BenchmarkRenderFlood, WxH")
	benchEngines  = flag.String("bench-engines", "dom,canvas", "renderer surfaces to measure in BenchmarkRenderFlood")
	benchNice     = flag.Int("bench-nice", 0, "nice value for every browser thread while measuring (e.g. -15 as root on a shared machine); 0 leaves them alone")
)

// benchResult is what the page reports (see web/bench.js).
type benchResult struct {
	Rate        float64 `json:"rate"`
	Unlimited   bool    `json:"unlimited"`
	Engine      string  `json:"engine"`
	Seconds     float64 `json:"seconds"`
	FPS         float64 `json:"fps"`
	P50FrameMs  float64 `json:"p50FrameMs"`
	P95FrameMs  float64 `json:"p95FrameMs"`
	P99FrameMs  float64 `json:"p99FrameMs"`
	MaxFrameMs  float64 `json:"maxFrameMs"`
	LongFrames  int     `json:"longFrames"`
	Generated   int     `json:"generated"`
	Shown       int     `json:"shown"`
	Dropped     int     `json:"dropped"`
	Stale       int     `json:"stale"`
	MaxOnScreen int     `json:"maxOnScreen"`
	Viewport    string  `json:"viewport"`
	DPR         float64 `json:"devicePixelRatio"`
	UserAgent   string  `json:"userAgent"`
}

// benchCPU is the browser's CPU time per frame during the measured window,
// in ms, by thread (see threadCPU). Empty where /proc is missing.
type benchCPU struct {
	RendererMain float64 // the page's main thread: script, style, layout, paint, commit
	Compositor   float64 // the page's compositor thread
	Viz          float64 // the display compositor (draws the frame; software here)
	Total        float64 // every thread of every browser process
}

// runBenchPage opens the benchmark page and returns its result, and the tab.
func runBenchPage(t testing.TB, b *browser, base string, rate, seconds int, unlimited bool, engine string) (benchResult, benchCPU, *tab) {
	t.Helper()
	url := fmt.Sprintf("%s/?bench=%d&seconds=%d&engine=%s", base, rate, seconds, engine)
	if unlimited {
		url += "&unlimited=1"
	}
	p := b.Open(t, url)
	limit := time.Duration(seconds+30) * time.Second
	p.WaitForWithin("the measured window", `window.__danmakuBenchPhase === 'measuring'`, limit)
	pid := 0
	if proc := chromedp.FromContext(b.Context()).Browser.Process(); proc != nil {
		pid = proc.Pid
	}
	if *benchNice != 0 && pid != 0 {
		reniceTree(pid, *benchNice)
	}
	cpu0, frames0 := threadCPU(pid), eval[float64](p, `window.__danmaku.loop.frames`)
	p.WaitForWithin("the benchmark result", `document.getElementById('bench-result').dataset.done === '1'`, limit)
	cpu1, frames1 := threadCPU(pid), eval[float64](p, `window.__danmaku.loop.frames`)
	raw := eval[string](p, `document.getElementById('bench-result').textContent`)
	var r benchResult
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("benchmark result %q: %v", raw, err)
	}
	var c benchCPU
	if frames := frames1 - frames0; frames > 0 && cpu0 != nil {
		perFrame := func(key string) float64 { return (cpu1[key] - cpu0[key]) * 1000 / frames }
		c.RendererMain = perFrame("renderer/chromium")
		c.Compositor = perFrame("renderer/Compositor")
		c.Viz = perFrame("gpu-process/VizCompositorTh")
		for k := range cpu1 {
			c.Total += perFrame(k)
		}
	}
	return r, c, p
}

// TestBenchPage checks that the benchmark mode works: it renders without a
// server, reports sensible numbers, and never drops when unlimited.
func TestBenchPage(t *testing.T) {
	srv := httptest.NewServer(web.Handler(web.Options{}))
	defer srv.Close()
	b := newBrowser(t, testLimit)
	for _, unlimited := range []bool{false, true} {
		t.Run(fmt.Sprintf("unlimited=%v", unlimited), func(t *testing.T) { testBenchPage(t, b, srv.URL, unlimited) })
	}
}

func testBenchPage(t *testing.T, b *browser, base string, unlimited bool) {
	r, cpu, p := runBenchPage(t, b, base, 200, 2, unlimited, "dom")
	t.Logf("%+v %+v", r, cpu)
	if r.FPS <= 0 || r.Seconds < 1.5 || r.Shown == 0 {
		t.Errorf("implausible result %+v", r)
	}
	// Comments are generated as frames come; at a low frame rate the window
	// ends on a late frame. Allow for one frame of a second.
	if want := 200 * r.Seconds; float64(r.Generated) < want*0.7 || float64(r.Generated) > want*1.3+200 {
		t.Errorf("generated %d comments in %.1f s at 200/s", r.Generated, r.Seconds)
	}
	if r.Shown+r.Dropped+r.Stale > r.Generated+200 { // +200: the warm-up's tail is placed in the window
		t.Errorf("shown %d + dropped %d + stale %d > generated %d", r.Shown, r.Dropped, r.Stale, r.Generated)
	}
	// The header counts the benchmark's comments like the server's.
	if rate := eval[string](p, `document.getElementById('st-rate').textContent`); rate == "0 /s" {
		t.Errorf("the header read %q right after 200 comments/s", rate)
	}
	if unlimited && r.Dropped != 0 {
		t.Errorf("unlimited mode dropped %d comments", r.Dropped)
	}
	if !unlimited && r.Dropped == 0 {
		t.Errorf("200 comments/s fit in the lanes without a drop? %+v", r)
	}
}

// BenchmarkRenderFlood measures the frame rate of the renderer under a flood,
// with lanes (comments without a free lane are dropped, the default) and
// unlimited (every comment is drawn, overlapping).
func BenchmarkRenderFlood(b *testing.B) {
	w, h, ok := strings.Cut(*benchViewport, "x")
	width, err1 := strconv.Atoi(w)
	height, err2 := strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil {
		b.Fatalf("bad -bench-viewport %q", *benchViewport)
	}
	srv := httptest.NewServer(web.Handler(web.Options{}))
	defer srv.Close()
	br := newBrowserSized(b, time.Hour, width, height)
	for _, engine := range strings.Split(*benchEngines, ",") {
		for _, mode := range []string{"lanes", "unlimited"} {
			for _, rs := range strings.Split(*benchRates, ",") {
				rate, err := strconv.Atoi(strings.TrimSpace(rs))
				if err != nil || rate <= 0 {
					b.Fatalf("bad rate %q", rs)
				}
				b.Run(fmt.Sprintf("%s/%s/rate=%d", engine, mode, rate), func(b *testing.B) {
					var r benchResult
					var cpu benchCPU
					for b.Loop() {
						r, cpu, _ = runBenchPage(b, br, srv.URL, rate, *benchSeconds, mode == "unlimited", engine)
					}
					b.ReportMetric(r.FPS, "fps")
					b.ReportMetric(r.P95FrameMs, "p95-frame-ms")
					b.ReportMetric(float64(r.LongFrames), "long-frames")
					b.ReportMetric(float64(r.Shown)/r.Seconds, "shown/s")
					b.ReportMetric(float64(r.Dropped)/r.Seconds, "dropped/s")
					b.ReportMetric(float64(r.MaxOnScreen), "max-on-screen")
					b.ReportMetric(cpu.RendererMain, "main-ms/frame")
					b.ReportMetric(cpu.Viz, "viz-ms/frame")
					b.ReportMetric(cpu.Total, "cpu-ms/frame")
					load, _ := os.ReadFile("/proc/loadavg") // the host's load, for the record
					b.Logf("%s %s rate=%d: %.1f fps, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, %d long frames; "+
						"shown %d, dropped %d, max on screen %d; CPU per frame: main %.1f ms, compositor %.1f ms, viz %.1f ms, all %.1f ms; "+
						"viewport %s@%gx; load %s; %s",
						engine, mode, rate, r.FPS, r.P50FrameMs, r.P95FrameMs, r.P99FrameMs, r.MaxFrameMs, r.LongFrames,
						r.Shown, r.Dropped, r.MaxOnScreen, cpu.RendererMain, cpu.Compositor, cpu.Viz, cpu.Total,
						r.Viewport, r.DPR, strings.Join(strings.Fields(string(load))[:3], " "), r.UserAgent)
				})
			}
		}
	}
}

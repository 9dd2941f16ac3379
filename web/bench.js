// The rendering benchmark (?bench=RATE): floods the page with locally made
// comments at RATE per second, through the same path as comments from the
// server, and measures the frame rate. No server is involved.
//
// Result: JSON in #bench-result and on window.__danmakuBench.

/**
 * @typedef {import('./danmaku.js').DanmakuMessage} DanmakuMessage
 */

/**
 * @typedef {object} BenchResult
 * @property {number} rate        Comments generated per second.
 * @property {boolean} unlimited  Overlap allowed (nothing dropped for want of a lane).
 * @property {string} engine      dom or canvas.
 * @property {number} seconds     Length of the measured window.
 * @property {number} fps         Frames per second over the window.
 * @property {number} p50FrameMs
 * @property {number} p95FrameMs
 * @property {number} p99FrameMs
 * @property {number} maxFrameMs
 * @property {number} longFrames  Frames over 25 ms (a missed vsync at 60 Hz).
 * @property {number} generated
 * @property {number} shown
 * @property {number} dropped     No free lane (or over the on-screen cap).
 * @property {number} stale
 * @property {number} maxOnScreen
 * @property {string} viewport    CSS px of the stage, WxH.
 * @property {number} devicePixelRatio
 * @property {string} userAgent
 */

const PHRASES = [
  '哈哈哈哈哈', '前方高能', '666666', '来了来了', '这波操作太秀了', 'awsl', '名场面',
  'hello from the bench', 'LOL', '泪目', '高能预警!!!', '全体起立', 'nice', '第一次来，好热闹',
  'このシーン最高', '好听', '打卡', '弹幕护体', '🎉🎉🎉', 'what a play', '太强了吧', '爷青回',
  '这是什么神仙现场', 'GG', '再来一遍', '2333333', 'omg omg omg', '妙啊', '下次一定', '有内味了',
];
const COLORS = ['#fe0302', '#ff7204', '#ffaa02', '#ffd302', '#ffff00', '#a0ee00', '#00cd00', '#019899', '#4266be', '#89d5ff', '#cc0273'];

/**
 * A deterministic pseudo-random source, so runs are comparable.
 * @param {number} seed
 */
function prng(seed) {
  let s = seed % 2147483647 || 1;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

/**
 * @param {() => number} rnd
 * @param {number} n
 * @returns {DanmakuMessage}
 */
export function benchMessage(rnd, n) {
  const r = rnd();
  const mode = r < 0.8 ? 'scroll' : r < 0.87 ? 'top' : r < 0.94 ? 'bottom' : 'reverse';
  let text = PHRASES[Math.floor(rnd() * PHRASES.length)];
  if (rnd() < 0.3) text += PHRASES[Math.floor(rnd() * PHRASES.length)];
  const s = rnd();
  return {
    offset: n,
    prev: n - 1,
    id: `bench-${n}`,
    type: 'danmaku',
    user: { id: `u${Math.floor(rnd() * 1000)}`, name: `viewer${Math.floor(rnd() * 1000)}` },
    text,
    mode,
    color: rnd() < 0.8 ? '#ffffff' : COLORS[Math.floor(rnd() * COLORS.length)],
    size: s < 0.85 ? 'normal' : s < 0.95 ? 'small' : 'large',
    ts: Date.now(),
    videoTimeMs: null,
    replyTo: null,
    data: null,
  };
}

/** @param {number[]} sorted @param {number} q */
function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Runs the benchmark.
 * @param {object} o
 * @param {number} o.rate
 * @param {number} [o.seconds=10]
 * @param {number} [o.warmupMs=2000]
 * @param {boolean} o.unlimited
 * @param {import('./frameloop.js').FrameLoop} o.loop
 * @param {import('./renderer.js').DanmakuRenderer} o.renderer
 * @param {HTMLElement} o.stage
 * @param {(msg: DanmakuMessage) => void} o.ingest  The page's path for an incoming comment.
 * @param {(text: string) => void} [o.progress]
 * @returns {Promise<BenchResult>}
 */
export function runBench(o) {
  const seconds = o.seconds ?? 10;
  const warmupMs = o.warmupMs ?? 2000;
  const rnd = prng(42);
  return new Promise((resolve) => {
    let t0 = -1;
    let generated = 0;
    /** @type {number[]} */
    const frameTimes = [];
    let base = { shown: 0, dropped: 0, stale: 0 };
    let genBase = 0;
    let maxOnScreen = 0;
    const stop = o.loop.onFrame((now) => {
      if (t0 < 0) t0 = now;
      const elapsed = now - t0;
      // Generate what is due, spread over frames as it would arrive.
      const due = Math.floor((o.rate * elapsed) / 1000);
      while (generated < due) o.ingest(benchMessage(rnd, ++generated));
      if (elapsed < warmupMs) {
        o.progress?.(`warming up… ${o.rate}/s`);
        return;
      }
      if (frameTimes.length === 0) {
        // Lets an outside observer (the Go benchmark) start measuring CPU.
        /** @type {any} */ (globalThis).__danmakuBenchPhase = 'measuring';
        const s = o.renderer.stats;
        base = { shown: s.shown, dropped: s.dropped, stale: s.stale };
        genBase = generated;
      }
      frameTimes.push(now);
      maxOnScreen = Math.max(maxOnScreen, o.renderer.stats.onScreen);
      if (frameTimes.length % 30 === 0) o.progress?.(`measuring… ${o.rate}/s, ${o.renderer.stats.fps} fps`);
      if (elapsed < warmupMs + seconds * 1000) return;
      stop();
      const intervals = [];
      for (let i = 1; i < frameTimes.length; i++) intervals.push(frameTimes[i] - frameTimes[i - 1]);
      const span = frameTimes[frameTimes.length - 1] - frameTimes[0];
      const sorted = intervals.slice().sort((a, b) => a - b);
      const s = o.renderer.stats;
      const rect = o.stage.getBoundingClientRect();
      const round = (/** @type {number} */ x) => Math.round(x * 10) / 10;
      resolve({
        rate: o.rate,
        unlimited: o.unlimited,
        engine: o.renderer.engine,
        seconds: round(span / 1000),
        fps: round((intervals.length * 1000) / span),
        p50FrameMs: round(quantile(sorted, 0.5)),
        p95FrameMs: round(quantile(sorted, 0.95)),
        p99FrameMs: round(quantile(sorted, 0.99)),
        maxFrameMs: round(sorted[sorted.length - 1] ?? 0),
        longFrames: intervals.filter((x) => x > 25).length,
        generated: generated - genBase,
        shown: s.shown - base.shown,
        dropped: s.dropped - base.dropped,
        stale: s.stale - base.stale,
        maxOnScreen,
        viewport: `${Math.round(rect.width)}x${Math.round(rect.height)}`,
        devicePixelRatio: globalThis.devicePixelRatio ?? 1,
        userAgent: navigator.userAgent,
      });
    });
  });
}

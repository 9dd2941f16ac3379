// The danmaku renderer: places comments in lanes over a stage and moves them
// across it.
//
// - Four modes, each with its own lanes: scroll (right to left), reverse
//   (left to right), top and bottom (fixed, centred).
// - No overlap: a comment that finds no free lane is dropped and counted,
//   unless `unlimited` is set. The viewer's own comments are never dropped.
// - Two surfaces draw the comments (see surface-dom.js and
//   surface-canvas.js): pooled DOM elements moved by compositor animations
//   (where the browser composites on a GPU), or one canvas (where it
//   composites in software). Either way text is only ever text.
// - Its styles are in danmaku.css.
// - The page's single requestAnimationFrame loop drives it: comments are
//   placed and retired on the loop's ticks (every 50 ms by default, see
//   frameloop.js); the canvas surface also draws on every frame.
// - Hovering a comment pauses it. While the tab is hidden nothing renders;
//   on return, comments that would already have left the screen are skipped
//   instead of bursting out.

import { LaneSet } from './lanes.js';
import { DomSurface } from './surface-dom.js';
import { CanvasSurface } from './surface-canvas.js';

/**
 * What the renderer needs from a message (a DanmakuMessage fits).
 * @typedef {object} Renderable
 * @property {string} id
 * @property {number} [offset]
 * @property {string} text
 * @property {string} [mode]   scroll (default), reverse, top, bottom
 * @property {string} [color]  #rrggbb
 * @property {string} [size]   small, normal (default), large
 * @property {{id?: string, name?: string}|null} [user]
 */

/**
 * @typedef {'dom'|'canvas'} Engine
 */

/** @type {Engine|null} */
let detected = null;

/**
 * The surface that suits this browser: the DOM surface where compositing runs
 * on a GPU (moving comments then cost the main thread nothing), the canvas
 * surface where it runs in software, which pays for every composited layer
 * on every frame (see web/BENCHMARKS-web.md). Decided once per page from the
 * WebGL renderer's name; no WebGL at all also means no GPU.
 * @param {Document} [doc]
 * @returns {Engine}
 */
export function preferredEngine(doc = globalThis.document) {
  if (detected) return detected;
  detected = 'dom';
  try {
    const gl = /** @type {WebGLRenderingContext|null} */ (doc.createElement('canvas').getContext('webgl'));
    if (!gl) {
      detected = 'canvas';
    } else {
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
      if (/swiftshader|llvmpipe|softpipe|software|basic render/i.test(name)) detected = 'canvas';
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } catch {
    // No canvas at all (an unusual embedding): the DOM surface needs none.
  }
  return detected;
}

/**
 * @typedef {object} RendererOptions
 * @property {import('./frameloop.js').FrameLoop} loop  The page's frame loop.
 * @property {Engine|'auto'} [engine='auto'] How comments are drawn; auto picks with {@link preferredEngine}.
 * @property {number} [scrollDurationMs=8000] Time to cross the stage at speed 1.
 * @property {number} [fixedDurationMs=4000]  Time a top or bottom comment stays.
 * @property {string} [fontFamily]
 * @property {number} [maxOnScreen=1500] Hard cap, even when unlimited.
 * @property {number} [maxPending=2000]  Comments waiting to be placed (e.g. while the tab is hidden).
 * @property {(msg: Renderable, el: HTMLElement|null, ev: MouseEvent) => void} [onClick]
 *   A comment was clicked; el is its element on the DOM surface.
 */

/**
 * @typedef {object} DisplayOptions
 * @property {number} [opacity]   0.1 – 1
 * @property {number} [area]      Share of the stage height for comments: 0.25 – 1.
 * @property {number} [speed]     Scroll speed factor.
 * @property {number} [fontScale] Font size factor.
 * @property {boolean} [unlimited] Overlap instead of dropping.
 */

/**
 * @typedef {object} RenderStats
 * @property {number} shown     Comments put on screen.
 * @property {number} dropped   Comments dropped for want of a free lane (or over maxOnScreen).
 * @property {number} stale     Comments skipped because their time on screen had passed (hidden tab).
 * @property {number} onScreen  Comments on screen now.
 * @property {number} pending   Comments waiting to be placed.
 * @property {number} fps       Frames per second over the last second.
 */

/**
 * A comment on screen. Surfaces keep their own state in el/anim or aside.
 * @typedef {object} Item
 * @property {Renderable} msg
 * @property {string} text      As displayed (white space collapsed).
 * @property {string} room
 * @property {boolean} own
 * @property {'scroll'|'reverse'|'top'|'bottom'} mode
 * @property {import('./lanes.js').Flight} flight
 * @property {number} x0        Left edge at the start, CSS px.
 * @property {number} x1        Left edge at the end (x0 for fixed comments).
 * @property {number} y         Top edge.
 * @property {number} width
 * @property {number} lineHeight
 * @property {number} px        Font size.
 * @property {string} color
 * @property {number} pausedAt  performance.now() when paused by hover; 0 when moving.
 * @property {HTMLElement|null} el   DOM surface: the element.
 * @property {Animation|null} anim   DOM surface: its animation.
 */

/**
 * What a surface may ask of the renderer.
 * @typedef {object} SurfaceHost
 * @property {(item: Item, on: boolean) => void} hover  The pointer entered (on) or left a comment.
 * @property {(item: Item, ev: MouseEvent) => void} click
 * @property {(item: Item, now: number) => number} xAt  A comment's left edge at time now.
 */

/**
 * A surface draws comments. See surface-dom.js and surface-canvas.js.
 * @typedef {object} Surface
 * @property {(item: Item) => void} show
 * @property {(item: Item) => void} hide
 * @property {(item: Item) => void} pause
 * @property {(item: Item) => void} resume
 * @property {(item: Item) => void} relabel
 * @property {(now: number) => void} draw   Called on every frame.
 * @property {(width: number, height: number) => void} resize
 * @property {() => void} destroy
 */

/**
 * @typedef {object} Waiting
 * @property {Renderable} msg
 * @property {boolean} own
 * @property {string} room
 * @property {number} at  When it arrived (performance.now()).
 */

/** Font sizes (px) of the protocol's sizes, at font scale 1 on a wide stage. */
export const FONT_PX = Object.freeze({ small: 18, normal: 25, large: 36 });

export { isDark } from './surface-dom.js';

const LINE = 1.25; // line height, in font sizes
const PAD = 4; // horizontal padding of a comment, px (2 each side)

export class DanmakuRenderer {
  /**
   * @param {HTMLElement} container The stage; the renderer adds its layer inside.
   * @param {RendererOptions} options
   */
  constructor(container, options) {
    const doc = container.ownerDocument;
    /** @private */ this.loop = options.loop;
    /** @private */ this.scrollMs = options.scrollDurationMs ?? 8000;
    /** @private */ this.fixedMs = options.fixedDurationMs ?? 4000;
    /** @private */ this.fontFamily =
      options.fontFamily ??
      '"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Noto Sans",SimHei,Arial,sans-serif';
    /** @private */ this.maxOnScreen = options.maxOnScreen ?? 1500;
    /** @private */ this.maxPending = options.maxPending ?? 2000;
    /** @private */ this.onClick = options.onClick;
    /** @readonly @type {Engine} */
    this.engine =
      options.engine === 'canvas' || options.engine === 'dom' ? options.engine : preferredEngine(doc);

    /** @type {Required<DisplayOptions>} */
    this.display = { opacity: 1, area: 1, speed: 1, fontScale: 1, unlimited: false };
    /** @type {RenderStats} */
    this.stats = { shown: 0, dropped: 0, stale: 0, onScreen: 0, pending: 0, fps: 0 };

    const layer = doc.createElement('div');
    layer.className = `dm-layer dm-engine-${this.engine}`;
    // The layer covers the container: it must be a containing block.
    if (doc.defaultView?.getComputedStyle(container).position === 'static') container.style.position = 'relative';
    container.appendChild(layer);
    /** The element holding the comments. */
    this.layer = layer;
    /** @private */ this.container = container;

    /** @private */ this.lanes = {
      scroll: new LaneSet({ kind: 'scroll', count: 0 }),
      reverse: new LaneSet({ kind: 'scroll', count: 0 }),
      top: new LaneSet({ kind: 'fixed', count: 0 }),
      bottom: new LaneSet({ kind: 'fixed', count: 0 }),
    };
    /** @private */ this.width = 0;
    /** @private */ this.height = 0;
    /** @private */ this.laneHeight = 32;
    /** @private */ this.sizeFactor = 1;
    /** @private @type {Set<Item>} */ this.active = new Set();
    /** @private @type {Map<string, Item>} */ this.byId = new Map();
    /** @private @type {Waiting[]} */ this.pending = [];
    /** @private @type {Map<number, CanvasRenderingContext2D|OffscreenCanvasRenderingContext2D|null>} by font px */
    this.measurers = new Map();
    /** @private @type {Map<string, number>} width by font size and text */
    this.widths = new Map();
    /** @private */ this.fpsFrames = 0;
    /** @private */ this.fpsSince = 0;

    /** @type {SurfaceHost} */
    const host = {
      hover: (item, on) => (on ? this.pause(item) : this.unpause(item)),
      click: (item, ev) => this.onClick?.(item.msg, item.el, ev),
      xAt: (item, now) => this.xAt(item, now),
    };
    /** @private @type {Surface} */
    this.surface =
      this.engine === 'canvas' ? new CanvasSurface(layer, host, this.fontFamily) : new DomSurface(layer, host);

    this.resize();
    /** @private */ this.resizeObserver =
      typeof ResizeObserver === 'function' ? new ResizeObserver(() => this.resize()) : null;
    this.resizeObserver?.observe(container);
    /** @private */ this.stopFrames = this.loop.onFrame((now) => this.frame(now));
    /** @private */ this.stopTicks = this.loop.onTick((now) => this.tick(now));
  }

  /**
   * Changes how comments look. Applies to comments placed from now on;
   * opacity applies at once.
   * @param {DisplayOptions} opts
   */
  setDisplay(opts) {
    Object.assign(this.display, opts);
    this.layer.style.opacity = String(this.display.opacity);
    this.resize();
  }

  /**
   * Queues a comment; it is placed on the next tick.
   * @param {Renderable} msg
   * @param {{own?: boolean, room?: string}} [opts] own: the viewer's own comment.
   */
  add(msg, opts = {}) {
    const own = !!opts.own;
    if (this.pending.length >= this.maxPending) {
      const i = this.pending.findIndex((w) => !w.own);
      if (i >= 0) {
        this.pending.splice(i, 1);
        this.stats.stale++;
      } else if (!own) {
        this.stats.stale++;
        return;
      }
    }
    this.pending.push({ msg, own, room: opts.room ?? '', at: performance.now() });
    this.stats.pending = this.pending.length;
  }

  /**
   * Removes a comment (for example a moderator deleted it).
   * @param {string} id
   * @returns {boolean} Whether it was on screen or waiting.
   */
  remove(id) {
    const item = this.byId.get(id);
    if (item) {
      this.retire(item);
      return true;
    }
    const i = this.pending.findIndex((w) => w.msg.id === id);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this.stats.pending = this.pending.length;
      return true;
    }
    return false;
  }

  /**
   * Updates a comment already shown or waiting (the viewer's own comment got
   * its offset and id from the server).
   * @param {string} oldId
   * @param {{id?: string, offset?: number}} patch
   */
  relabel(oldId, patch) {
    const item = this.byId.get(oldId);
    if (!item) {
      const w = this.pending.find((p) => p.msg.id === oldId);
      if (w) w.msg = { ...w.msg, ...patch };
      return;
    }
    item.msg = { ...item.msg, ...patch };
    if (patch.id !== undefined && patch.id !== oldId) {
      this.byId.delete(oldId);
      this.byId.set(patch.id, item);
    }
    this.surface.relabel(item);
  }

  /** Removes every comment on screen and waiting. */
  clear() {
    for (const item of [...this.active]) this.retire(item);
    this.pending.length = 0;
    this.stats.pending = 0;
    this.stats.onScreen = 0;
    for (const set of Object.values(this.lanes)) set.clear();
  }

  /** Stops the renderer and removes its layer. */
  destroy() {
    this.clear();
    this.stopFrames();
    this.stopTicks();
    this.resizeObserver?.disconnect();
    this.surface.destroy();
    this.layer.remove();
  }

  // ---- geometry ----

  /** Re-reads the stage size and recomputes the lanes. */
  resize() {
    const rect = this.container.getBoundingClientRect();
    this.width = Math.max(1, Math.round(rect.width));
    this.height = Math.max(1, Math.round(rect.height));
    // Small screens get smaller text, as video sites do on phones.
    this.sizeFactor = Math.min(1, Math.max(0.6, this.width / 960));
    this.laneHeight = Math.ceil(this.fontPx('normal') * LINE);
    const n = Math.max(1, Math.floor((this.height * this.display.area) / this.laneHeight));
    for (const set of Object.values(this.lanes)) set.resize(n);
    this.surface.resize(this.width, this.height);
  }

  /**
   * A comment's left edge at time now.
   * @param {Item} item
   * @param {number} now
   */
  xAt(item, now) {
    if (item.x0 === item.x1) return item.x0;
    const t = (item.pausedAt || now) - item.flight.start;
    const f = Math.min(1, Math.max(0, t / item.flight.duration));
    return item.x0 + (item.x1 - item.x0) * f;
  }

  /**
   * @private
   * @param {string} size
   */
  fontPx(size) {
    const base = FONT_PX[/** @type {keyof typeof FONT_PX} */ (size)] ?? FONT_PX.normal;
    return Math.round(base * this.display.fontScale * this.sizeFactor);
  }

  /**
   * A 2D context set to the comments' font at px. One per size, so that the
   * font is parsed once; an OffscreenCanvas where available, because
   * setting the font of a document canvas makes the browser bring the
   * document's style up to date first.
   * @private
   * @param {number} px
   */
  measurer(px) {
    let ctx = this.measurers.get(px);
    if (ctx === undefined) {
      ctx =
        typeof OffscreenCanvas === 'function'
          ? new OffscreenCanvas(1, 1).getContext('2d')
          : this.container.ownerDocument.createElement('canvas').getContext('2d');
      if (ctx) ctx.font = `bold ${px}px ${this.fontFamily}`;
      this.measurers.set(px, ctx);
    }
    return ctx;
  }

  /**
   * @private
   * @param {string} text
   * @param {number} px
   */
  measure(text, px) {
    // The same texts come back again and again ("2333", "awsl"…).
    const key = `${px}|${text}`;
    const known = this.widths.get(key);
    if (known !== undefined) return known;
    const ctx = this.measurer(px);
    const width = ctx ? Math.ceil(ctx.measureText(text).width) + PAD : text.length * px + PAD;
    if (this.widths.size >= 4096) this.widths.clear();
    this.widths.set(key, width);
    return width;
  }

  // ---- the loop ----

  /**
   * Every frame: count it, and let the surface draw.
   * @private
   * @param {number} now
   */
  frame(now) {
    this.fpsFrames++;
    if (now - this.fpsSince >= 1000) {
      this.stats.fps = this.fpsSince ? Math.round((this.fpsFrames * 1000) / (now - this.fpsSince)) : 0;
      this.fpsSince = now;
      this.fpsFrames = 0;
    }
    this.surface.draw(now);
  }

  /**
   * Every tick: retire finished comments and place waiting ones.
   * @private
   * @param {number} now
   */
  tick(now) {
    for (const item of this.active) {
      if (!item.pausedAt && now >= item.flight.start + item.flight.duration) this.retire(item);
    }
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      for (const w of batch) this.place(w, now);
    }
    this.stats.pending = this.pending.length;
    this.stats.onScreen = this.active.size;
  }

  /**
   * @private
   * @param {Waiting} w
   * @param {number} now
   */
  place(w, now) {
    const msg = w.msg;
    const mode = msg.mode === 'top' || msg.mode === 'bottom' || msg.mode === 'reverse' ? msg.mode : 'scroll';
    const scrolling = mode === 'scroll' || mode === 'reverse';
    const duration = scrolling ? this.scrollMs / this.display.speed : this.fixedMs;
    if (!w.own && now - w.at > duration) {
      // It would already have left the screen (the tab was hidden): skip it
      // rather than show a burst of old comments.
      this.stats.stale++;
      return;
    }
    if (!w.own && this.active.size >= this.maxOnScreen) {
      this.stats.dropped++;
      return;
    }
    const text = String(msg.text ?? '').replace(/\s+/g, ' ');
    const px = this.fontPx(msg.size ?? 'normal');
    const width = this.measure(text, px);
    const span = Math.max(1, Math.ceil((px * LINE) / this.laneHeight));
    const force = w.own || this.display.unlimited;
    const flight = this.lanes[mode].place(now, { width, duration, stageWidth: this.width, span }, force);
    if (!flight) {
      this.stats.dropped++;
      return;
    }
    const y =
      mode === 'bottom'
        ? this.height - (flight.lane + flight.span) * this.laneHeight
        : flight.lane * this.laneHeight;
    const x0 = mode === 'scroll' ? this.width : mode === 'reverse' ? -width : Math.round((this.width - width) / 2);
    const x1 = mode === 'scroll' ? -width : mode === 'reverse' ? this.width : x0;
    /** @type {Item} */
    const item = {
      msg,
      text,
      room: w.room,
      own: w.own,
      mode,
      flight,
      x0,
      x1,
      y,
      width,
      lineHeight: flight.span * this.laneHeight,
      px,
      color: msg.color || '#ffffff',
      pausedAt: 0,
      el: null,
      anim: null,
    };
    this.surface.show(item);
    this.active.add(item);
    if (msg.id) this.byId.set(msg.id, item);
    this.stats.shown++;
  }

  /**
   * @private
   * @param {Item} item
   */
  retire(item) {
    if (!this.active.delete(item)) return;
    if (this.byId.get(item.msg.id) === item) this.byId.delete(item.msg.id);
    item.flight.paused = false;
    this.surface.hide(item);
  }

  // ---- hover ----

  /**
   * @private
   * @param {Item} item
   */
  pause(item) {
    if (item.pausedAt || !this.active.has(item)) return;
    item.pausedAt = performance.now();
    item.flight.paused = true;
    this.surface.pause(item);
  }

  /**
   * @private
   * @param {Item} item
   */
  unpause(item) {
    if (!item.pausedAt) return;
    // Shift its schedule by the pause so that lanes and retirement see where
    // it really is.
    item.flight.start += performance.now() - item.pausedAt;
    item.pausedAt = 0;
    item.flight.paused = false;
    this.surface.resume(item);
  }
}

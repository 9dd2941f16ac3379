// The danmaku renderer: places comments in lanes over a stage and moves them
// with compositor-driven transform animations.
//
// - Four modes, each with its own lanes: scroll (right to left), reverse
//   (left to right), top and bottom (fixed, centred).
// - No overlap: a comment that finds no free lane is dropped and counted,
//   unless `unlimited` is set. The viewer's own comments are never dropped.
// - Comments are DOM nodes taken from a pool; text goes in through
//   textContent only. Movement is a Web Animations transform animation, so
//   the compositor moves them; the page's single requestAnimationFrame loop
//   only places new comments and retires finished ones.
// - Hovering a comment pauses it. While the tab is hidden nothing renders;
//   on return, comments that would already have left the screen are skipped.

import { LaneSet } from './lanes.js';

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
 * @typedef {object} RendererOptions
 * @property {import('./frameloop.js').FrameLoop} loop  The page's frame loop.
 * @property {number} [scrollDurationMs=8000] Time to cross the stage at speed 1.
 * @property {number} [fixedDurationMs=4000]  Time a top or bottom comment stays.
 * @property {string} [fontFamily]
 * @property {number} [maxOnScreen=1500] Hard cap, even when unlimited.
 * @property {number} [maxPending=2000]  Comments waiting for the next frame (e.g. while hidden).
 * @property {(msg: Renderable, el: HTMLElement, ev: MouseEvent) => void} [onClick]
 * @property {Document} [document]
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
 * @property {number} pending   Comments waiting for the next frame.
 * @property {number} fps       Frames per second over the last second.
 */

/** Font sizes (px) of the protocol's sizes, at font scale 1 on a wide stage. */
export const FONT_PX = Object.freeze({ small: 18, normal: 25, large: 36 });

const LINE = 1.25; // line height, in font sizes
const PAD = 4; // horizontal padding of a comment, px (2 each side)

/**
 * @typedef {object} Item
 * @property {HTMLElement} el
 * @property {Renderable} msg
 * @property {boolean} own
 * @property {import('./lanes.js').Flight} flight
 * @property {Animation|null} anim
 * @property {number} pausedAt  0 when running.
 */

/**
 * @typedef {object} Waiting
 * @property {Renderable} msg
 * @property {boolean} own
 * @property {string} room
 * @property {number} at  When it arrived (performance.now()).
 */

/**
 * Whether a colour is dark enough to need a light outline.
 * @param {string} color #rrggbb
 */
export function isDark(color) {
  const m = /^#([0-9a-f]{6})$/i.exec(color || '');
  if (!m) return false;
  const n = parseInt(m[1], 16);
  const r = n >> 16;
  const g = (n >> 8) & 255;
  const b = n & 255;
  return 0.299 * r + 0.587 * g + 0.114 * b < 80;
}

export class DanmakuRenderer {
  /**
   * @param {HTMLElement} container The stage; the renderer adds its layer inside.
   * @param {RendererOptions} options
   */
  constructor(container, options) {
    const doc = options.document ?? document;
    /** @private */ this.doc = doc;
    /** @private */ this.loop = options.loop;
    /** @private */ this.scrollMs = options.scrollDurationMs ?? 8000;
    /** @private */ this.fixedMs = options.fixedDurationMs ?? 4000;
    /** @private */ this.fontFamily =
      options.fontFamily ??
      '"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Noto Sans",SimHei,Arial,sans-serif';
    /** @private */ this.maxOnScreen = options.maxOnScreen ?? 1500;
    /** @private */ this.maxPending = options.maxPending ?? 2000;
    /** @private */ this.onClick = options.onClick;

    /** @type {Required<DisplayOptions>} */
    this.display = { opacity: 1, area: 1, speed: 1, fontScale: 1, unlimited: false };
    /** @type {RenderStats} */
    this.stats = { shown: 0, dropped: 0, stale: 0, onScreen: 0, pending: 0, fps: 0 };

    const layer = doc.createElement('div');
    layer.className = 'dm-layer';
    layer.setAttribute('aria-live', 'off');
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
    /** @private @type {HTMLElement[]} */ this.pool = [];
    /** @private */ this.poolMax = 256;
    /** @private */ this.measureCtx = this.makeMeasure();
    /** @private */ this.fpsFrames = 0;
    /** @private */ this.fpsSince = 0;

    this.resize();
    /** @private */ this.resizeObserver =
      typeof ResizeObserver === 'function' ? new ResizeObserver(() => this.resize()) : null;
    this.resizeObserver?.observe(container);

    /** @private */ this.onOver = (/** @type {Event} */ ev) => {
      const item = this.itemOf(ev.target);
      if (item) this.pause(item);
    };
    /** @private */ this.onOut = (/** @type {PointerEvent} */ ev) => {
      const item = this.itemOf(ev.target);
      if (item && this.itemOf(ev.relatedTarget) !== item) this.unpause(item);
    };
    /** @private */ this.onClickEv = (/** @type {MouseEvent} */ ev) => {
      const item = this.itemOf(ev.target);
      if (item && this.onClick) this.onClick(item.msg, item.el, ev);
    };
    layer.addEventListener('pointerover', this.onOver);
    layer.addEventListener('pointerout', /** @type {EventListener} */ (this.onOut));
    layer.addEventListener('click', this.onClickEv);
    /** @private */ this.stopLoop = this.loop.add((now) => this.frame(now));
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
   * Queues a comment for the next frame.
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
   * Updates the element of a comment already shown (the viewer's own comment
   * got its offset and id from the server).
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
    if (patch.id !== undefined && patch.id !== oldId) {
      this.byId.delete(oldId);
      this.byId.set(patch.id, item);
      item.el.dataset.id = patch.id;
    }
    if (patch.offset !== undefined) item.el.dataset.offset = String(patch.offset);
    item.msg = { ...item.msg, ...patch };
  }

  /** Removes every comment on screen and waiting. */
  clear() {
    for (const item of [...this.active]) this.retire(item);
    this.pending.length = 0;
    this.stats.pending = 0;
    for (const set of Object.values(this.lanes)) set.clear();
  }

  /** Stops the renderer and removes its layer. */
  destroy() {
    this.clear();
    this.stopLoop();
    this.resizeObserver?.disconnect();
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
  }

  /**
   * @private
   * @param {string} size
   */
  fontPx(size) {
    const base = FONT_PX[/** @type {keyof typeof FONT_PX} */ (size)] ?? FONT_PX.normal;
    return Math.round(base * this.display.fontScale * this.sizeFactor);
  }

  /** @private */
  makeMeasure() {
    const canvas = this.doc.createElement('canvas');
    return canvas.getContext('2d');
  }

  /**
   * @private
   * @param {string} text
   * @param {number} px
   */
  measure(text, px) {
    const ctx = this.measureCtx;
    if (!ctx) return text.length * px; // no canvas: a generous estimate
    const font = `bold ${px}px ${this.fontFamily}`;
    if (ctx.font !== font) ctx.font = font;
    return Math.ceil(ctx.measureText(text).width) + PAD;
  }

  // ---- the frame ----

  /**
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
    const force = w.own || this.display.unlimited;
    if (!w.own && this.active.size >= this.maxOnScreen) {
      this.stats.dropped++;
      return;
    }
    const text = String(msg.text ?? '').replace(/\s+/g, ' ');
    const px = this.fontPx(msg.size ?? 'normal');
    const width = this.measure(text, px);
    const span = Math.max(1, Math.ceil((px * LINE) / this.laneHeight));
    const flight = this.lanes[mode].place(now, { width, duration, stageWidth: this.width, span }, force);
    if (!flight) {
      this.stats.dropped++;
      return;
    }
    const el = this.takeElement();
    el.textContent = text;
    el.style.fontSize = `${px}px`;
    el.style.lineHeight = `${span * this.laneHeight}px`;
    el.style.color = msg.color || '#ffffff';
    el.classList.toggle('dm-dark', isDark(msg.color || '#ffffff'));
    el.classList.toggle('dm-own', w.own);
    const ds = el.dataset;
    ds.id = msg.id;
    if (msg.offset) ds.offset = String(msg.offset);
    if (w.room) ds.room = w.room;
    ds.mode = mode;
    if (msg.user?.id) ds.user = msg.user.id;
    if (w.own) ds.own = '1';

    const y =
      mode === 'bottom'
        ? this.height - (flight.lane + flight.span) * this.laneHeight
        : flight.lane * this.laneHeight;
    /** @type {Animation|null} */
    let anim = null;
    if (scrolling) {
      const from = mode === 'scroll' ? this.width : -width;
      const to = mode === 'scroll' ? -width : this.width;
      el.style.transform = `translate3d(${from}px,${y}px,0)`;
      anim = el.animate(
        [{ transform: `translate3d(${from}px,${y}px,0)` }, { transform: `translate3d(${to}px,${y}px,0)` }],
        { duration, easing: 'linear', fill: 'forwards' },
      );
    } else {
      el.style.transform = `translate3d(${Math.round((this.width - width) / 2)}px,${y}px,0)`;
    }
    el.style.display = '';
    /** @type {Item} */
    const item = { el, msg, own: w.own, flight, anim, pausedAt: 0 };
    /** @type {any} */ (el).__dmItem = item;
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
    item.anim?.cancel();
    item.flight.paused = false;
    const el = item.el;
    /** @type {any} */ (el).__dmItem = null;
    if (this.pool.length < this.poolMax) {
      el.style.display = 'none';
      el.textContent = '';
      for (const k of Object.keys(el.dataset)) delete el.dataset[k];
      this.pool.push(el);
    } else {
      el.remove();
    }
  }

  /** @private */
  takeElement() {
    const el = this.pool.pop();
    if (el) return el;
    const fresh = this.doc.createElement('div');
    fresh.className = 'dm-item';
    this.layer.appendChild(fresh);
    return fresh;
  }

  // ---- hover ----

  /**
   * @private
   * @param {EventTarget|null} target
   * @returns {Item|null}
   */
  itemOf(target) {
    const el = target instanceof Element ? target.closest('.dm-item') : null;
    return el ? (/** @type {any} */ (el).__dmItem ?? null) : null;
  }

  /**
   * @private
   * @param {Item} item
   */
  pause(item) {
    if (item.pausedAt) return;
    item.pausedAt = performance.now();
    item.flight.paused = true;
    item.anim?.pause();
    item.el.classList.add('dm-paused');
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
    item.anim?.play();
    item.el.classList.remove('dm-paused');
  }
}

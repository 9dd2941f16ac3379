// The canvas surface of the renderer: every comment is drawn once into a
// small bitmap, and each frame copies the bitmaps of the comments on screen
// into one canvas. The compositor then moves one layer instead of one per
// comment, which is what matters when the browser composites in software
// (no GPU) or the room floods.
//
// Text is drawn with fillText, so it can only ever be text. A hidden list
// (display: none, so it costs no layout) mirrors the comments on screen with
// the same data attributes as the DOM surface's elements, for scripts and
// tests; people using assistive technology read the comment list beside the
// stage. Hovering and clicking are hit-tested against the comments'
// positions.

import { isDark, label } from './surface-dom.js';

/** @typedef {import('./renderer.js').Item} Item */
/** @typedef {import('./renderer.js').SurfaceHost} SurfaceHost */

/**
 * @typedef {object} CanvasState
 * @property {CanvasImageSource} bitmap
 * @property {HTMLElement} mirror
 */

export class CanvasSurface {
  /**
   * @param {HTMLElement} layer
   * @param {SurfaceHost} host
   * @param {string} fontFamily
   */
  constructor(layer, host, fontFamily) {
    const doc = layer.ownerDocument;
    /** @private */ this.host = host;
    /** @private */ this.fontFamily = fontFamily;
    /** @private */ this.canvas = doc.createElement('canvas');
    this.canvas.className = 'dm-canvas';
    this.canvas.setAttribute('aria-hidden', 'true');
    layer.appendChild(this.canvas);
    /** @private */ this.ctx = this.canvas.getContext('2d');
    /** @private */ this.mirrorList = doc.createElement('ul');
    this.mirrorList.className = 'dm-mirror';
    this.mirrorList.hidden = true;
    layer.appendChild(this.mirrorList);
    /** @private @type {HTMLElement[]} */ this.pool = [];
    /** @private @type {Map<Item, CanvasState>} */ this.state = new Map();
    /** @private */ this.dpr = 1;
    /** @private */ this.width = 0;
    /** @private */ this.height = 0;
    /** @private */ this.dirty = false;
    /** @private @type {Item|null} */ this.hovered = null;
    /** @private */ this.container = /** @type {HTMLElement} */ (layer.parentElement);
    /** @private */ this.onMove = (/** @type {PointerEvent} */ ev) => this.pointer(ev);
    /** @private */ this.onLeave = () => this.setHovered(null);
    /** @private */ this.onClick = (/** @type {MouseEvent} */ ev) => {
      // Clicks on controls over the stage (the comment card) are theirs.
      if (ev.target instanceof Element && ev.target.closest('button, a, input, select, .dm-card')) return;
      const item = this.hit(ev);
      if (item) host.click(item, ev);
    };
    this.container.addEventListener('pointermove', this.onMove);
    this.container.addEventListener('pointerleave', this.onLeave);
    this.container.addEventListener('click', this.onClick);
  }

  /**
   * @param {number} width CSS px
   * @param {number} height CSS px
   */
  resize(width, height) {
    this.dpr = Math.min(2, globalThis.devicePixelRatio || 1);
    this.width = width;
    this.height = height;
    this.canvas.width = Math.round(width * this.dpr);
    this.canvas.height = Math.round(height * this.dpr);
    this.dirty = true;
  }

  /** @param {Item} item */
  show(item) {
    const w = Math.ceil(item.width * this.dpr);
    const h = Math.ceil(item.lineHeight * this.dpr);
    const offscreen = typeof OffscreenCanvas === 'function';
    const canvas = offscreen
      ? new OffscreenCanvas(w, h)
      : Object.assign(this.canvas.ownerDocument.createElement('canvas'), { width: w, height: h });
    const ctx = /** @type {CanvasRenderingContext2D|OffscreenCanvasRenderingContext2D|null} */ (canvas.getContext('2d'));
    if (ctx) {
      ctx.scale(this.dpr, this.dpr);
      ctx.font = `bold ${item.px}px ${this.fontFamily}`;
      ctx.textBaseline = 'middle';
      ctx.lineJoin = 'round';
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = isDark(item.color) ? '#fff' : '#000';
      ctx.strokeText(item.text, 2, item.lineHeight / 2);
      ctx.fillStyle = item.color;
      ctx.fillText(item.text, 2, item.lineHeight / 2);
      if (item.own) {
        ctx.lineWidth = 2;
        ctx.strokeStyle = 'rgba(255,255,255,0.9)';
        ctx.strokeRect(1, 1, item.width - 2, item.lineHeight - 2);
      }
    }
    // An ImageBitmap draws fast; drawing an OffscreenCanvas snapshots it
    // every time.
    const bitmap = offscreen ? /** @type {OffscreenCanvas} */ (canvas).transferToImageBitmap() : canvas;
    const mirror = this.pool.pop() ?? this.canvas.ownerDocument.createElement('li');
    mirror.className = item.own ? 'dm-item dm-own' : 'dm-item';
    mirror.textContent = item.text;
    label(mirror, item);
    this.mirrorList.appendChild(mirror);
    this.state.set(item, { bitmap, mirror });
    this.dirty = true;
  }

  /** @param {Item} item */
  hide(item) {
    const st = this.state.get(item);
    if (!st) return;
    this.state.delete(item);
    if (typeof ImageBitmap === 'function' && st.bitmap instanceof ImageBitmap) st.bitmap.close();
    st.mirror.remove();
    st.mirror.removeAttribute('data-id');
    st.mirror.removeAttribute('data-offset');
    if (this.pool.length < 256) this.pool.push(st.mirror);
    if (this.hovered === item) this.setHovered(null);
    this.dirty = true;
  }

  /** @param {Item} item */
  pause(item) {
    this.state.get(item)?.mirror.classList.add('dm-paused');
  }

  /** @param {Item} item */
  resume(item) {
    this.state.get(item)?.mirror.classList.remove('dm-paused');
  }

  /** @param {Item} item */
  relabel(item) {
    const st = this.state.get(item);
    if (st) label(st.mirror, item);
  }

  /**
   * Draws every comment on screen at its position at time now.
   * @param {number} now
   */
  draw(now) {
    const ctx = this.ctx;
    if (!ctx || (!this.dirty && this.state.size === 0)) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    for (const [item, st] of this.state) {
      const x = this.host.xAt(item, now);
      if (x >= this.width || x + item.width <= 0) continue;
      if (item.pausedAt) {
        ctx.fillStyle = 'rgba(0,0,0,0.45)';
        ctx.fillRect(x, item.y, item.width, item.lineHeight);
      }
      ctx.drawImage(st.bitmap, x, item.y, item.width, item.lineHeight);
    }
    this.dirty = false;
  }

  destroy() {
    this.container.removeEventListener('pointermove', this.onMove);
    this.container.removeEventListener('pointerleave', this.onLeave);
    this.container.removeEventListener('click', this.onClick);
    this.canvas.remove();
    this.mirrorList.remove();
  }

  /**
   * @private
   * @param {PointerEvent} ev
   */
  pointer(ev) {
    if (ev.pointerType === 'touch') return; // no hover on touch screens; a tap is a click
    this.setHovered(this.hit(ev));
  }

  /**
   * @private
   * @param {Item|null} item
   */
  setHovered(item) {
    if (item === this.hovered) return;
    if (this.hovered) this.host.hover(this.hovered, false);
    this.hovered = item;
    if (item) this.host.hover(item, true);
    this.container.classList.toggle('dm-pointing', item !== null);
    this.dirty = true;
  }

  /**
   * The comment under a pointer, topmost (latest) first.
   * @private
   * @param {MouseEvent} ev
   * @returns {Item|null}
   */
  hit(ev) {
    const rect = this.canvas.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    const py = ev.clientY - rect.top;
    const now = performance.now();
    /** @type {Item|null} */
    let found = null;
    for (const item of this.state.keys()) {
      if (py < item.y || py >= item.y + item.lineHeight) continue;
      const x = this.host.xAt(item, now);
      if (px >= x && px < x + item.width) found = item;
    }
    return found;
  }
}

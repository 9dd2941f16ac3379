// The DOM surface of the renderer: one element per comment, moved by a Web
// Animations transform animation that the compositor runs. Elements come
// from a pool and get their text through textContent only.
//
// Best where the browser composites on a GPU: the main thread only creates
// and retires comments. Every moving comment is a compositor layer, though,
// which software compositing (no GPU) pays for on every frame; see
// surface-canvas.js for that case.

/** @typedef {import('./renderer.js').Item} Item */
/** @typedef {import('./renderer.js').SurfaceHost} SurfaceHost */

/**
 * Whether a colour is dark enough to need a light outline.
 * @param {string} color #rrggbb
 */
export function isDark(color) {
  const m = /^#([0-9a-f]{6})$/i.exec(color || '');
  if (!m) return false;
  const n = parseInt(m[1], 16);
  return 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255) < 80;
}

/**
 * Sets or removes a data attribute, touching the DOM only on a change.
 * @param {HTMLElement} el
 * @param {string} key
 * @param {string|undefined} value
 */
export function setData(el, key, value) {
  if (value === undefined || value === '') {
    if (key in el.dataset) delete el.dataset[key];
  } else if (el.dataset[key] !== value) {
    el.dataset[key] = value;
  }
}

/**
 * Writes the data attributes tests and styles rely on.
 * @param {HTMLElement} el
 * @param {Item} item
 */
export function label(el, item) {
  setData(el, 'id', item.msg.id);
  setData(el, 'offset', item.msg.offset ? String(item.msg.offset) : undefined);
  setData(el, 'room', item.room || undefined);
  setData(el, 'mode', item.mode);
  setData(el, 'user', item.msg.user?.id);
  setData(el, 'own', item.own ? '1' : undefined);
}

export class DomSurface {
  /**
   * @param {HTMLElement} layer
   * @param {SurfaceHost} host
   */
  constructor(layer, host) {
    /** @private */ this.layer = layer;
    /** @private */ this.host = host;
    /** @private @type {HTMLElement[]} */ this.pool = [];
    /** @private */ this.poolMax = 256;
    /** @private @type {WeakMap<Element, Item>} */ this.items = new WeakMap();
    /** @private */ this.onOver = (/** @type {Event} */ ev) => {
      const item = this.itemOf(ev.target);
      if (item) host.hover(item, true);
    };
    /** @private */ this.onOut = (/** @type {Event} */ ev) => {
      const item = this.itemOf(ev.target);
      const to = this.itemOf(/** @type {PointerEvent} */ (ev).relatedTarget);
      if (item && to !== item) host.hover(item, false);
    };
    /** @private */ this.onClick = (/** @type {Event} */ ev) => {
      const item = this.itemOf(ev.target);
      if (item) host.click(item, /** @type {MouseEvent} */ (ev));
    };
    layer.addEventListener('pointerover', this.onOver);
    layer.addEventListener('pointerout', this.onOut);
    layer.addEventListener('click', this.onClick);
  }

  /**
   * Puts a placed comment on screen.
   * @param {Item} item
   */
  show(item) {
    const el = this.pool.pop() ?? this.create();
    // One style write and one class write per comment: each separate write
    // would be cheap, but a flood places many comments a frame.
    el.style.cssText =
      `font-size:${item.px}px;line-height:${item.lineHeight}px;color:${item.color};` +
      `transform:translate3d(${item.x0}px,${item.y}px,0)`;
    el.className = `dm-item${isDark(item.color) ? ' dm-dark' : ''}${item.own ? ' dm-own' : ''}`;
    el.textContent = item.text;
    label(el, item);
    item.el = el;
    item.anim =
      item.x0 === item.x1
        ? null
        : el.animate(
            [
              { transform: `translate3d(${item.x0}px,${item.y}px,0)` },
              { transform: `translate3d(${item.x1}px,${item.y}px,0)` },
            ],
            { duration: item.flight.duration, easing: 'linear', fill: 'forwards' },
          );
    this.items.set(el, item);
  }

  /**
   * Takes a comment off screen; its element goes back to the pool.
   * @param {Item} item
   */
  hide(item) {
    item.anim?.cancel();
    item.anim = null;
    const el = item.el;
    if (!el) return;
    item.el = null;
    this.items.delete(el);
    if (this.pool.length < this.poolMax) {
      // Hidden, but kept in the layer: taking it back costs no insertion.
      el.style.cssText = 'display:none';
      el.textContent = '';
      el.removeAttribute('data-id');
      el.removeAttribute('data-offset');
      this.pool.push(el);
    } else {
      el.remove();
    }
  }

  /** @param {Item} item */
  pause(item) {
    item.anim?.pause();
    item.el?.classList.add('dm-paused');
  }

  /** @param {Item} item */
  resume(item) {
    item.anim?.play();
    item.el?.classList.remove('dm-paused');
  }

  /** @param {Item} item */
  relabel(item) {
    if (item.el) label(item.el, item);
  }

  /** Nothing to draw per frame: the compositor moves the comments. */
  draw() {}

  /** Nothing to do: comments keep their course. */
  resize() {}

  destroy() {
    this.layer.removeEventListener('pointerover', this.onOver);
    this.layer.removeEventListener('pointerout', this.onOut);
    this.layer.removeEventListener('click', this.onClick);
    for (const el of this.pool) el.remove();
    this.pool.length = 0;
  }

  /** @private */
  create() {
    const el = this.layer.ownerDocument.createElement('div');
    el.className = 'dm-item';
    this.layer.appendChild(el);
    return el;
  }

  /**
   * @private
   * @param {EventTarget|null} target
   * @returns {Item|undefined}
   */
  itemOf(target) {
    const el = target instanceof Element ? target.closest('.dm-item') : null;
    return el ? this.items.get(el) : undefined;
  }
}

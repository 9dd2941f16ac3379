// chart.js — the overview's small charts: a time series of the last few
// minutes, a scale that rounds up to a readable maximum, and the SVG path
// of a line. Pure functions; overview.js puts them into the page.

/** A fixed-size series of [time ms, value] samples, oldest first. */
export class Series {
  /** @param {number} capacity  samples kept */
  constructor(capacity) {
    this.capacity = capacity;
    /** @type {[number, number|null][]} */
    this.samples = [];
  }

  /**
   * Adds a sample; a value that is not a finite number is a gap.
   * Samples out of time order replace nothing and are dropped.
   * @param {number} t
   * @param {number|null|undefined} v
   */
  push(t, v) {
    const last = this.samples[this.samples.length - 1];
    if (last && t <= last[0]) return;
    this.samples.push([t, typeof v === 'number' && Number.isFinite(v) ? v : null]);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  /** The newest value, null if none. */
  last() {
    const s = this.samples[this.samples.length - 1];
    return s ? s[1] : null;
  }

  /** The largest value, 0 if none. */
  max() {
    let m = 0;
    for (const [, v] of this.samples) if (v !== null && v > m) m = v;
    return m;
  }
}

/**
 * The smallest of 1, 2, 2.5, 5 × 10^k that is at least v: the top of a
 * chart's scale. Non-positive v gives 1.
 * @param {number} v
 */
export function niceCeil(v) {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * p >= v * (1 - 1e-12)) return m * p;
  }
  return 10 * p;
}

/**
 * The SVG path ("M x y L x y …") of samples drawn in a width × height box:
 * time t0 at the left edge, t1 at the right, 0 at the bottom, max at the
 * top. Samples outside [t0, t1] are left out; a gap (null) ends a line and
 * the next sample starts a new one. Coordinates have one decimal.
 * @param {[number, number|null][]} samples
 * @param {{width: number, height: number, t0: number, t1: number, max: number}} box
 */
export function linePath(samples, box) {
  const { width, height, t0, t1, max } = box;
  const span = t1 - t0;
  if (!(span > 0) || !(max > 0)) return '';
  let d = '';
  let pen = false;
  for (const [t, v] of samples) {
    if (t < t0 || t > t1 || v === null) {
      pen = false;
      continue;
    }
    const x = ((t - t0) / span) * width;
    const y = height - (Math.min(Math.max(v, 0), max) / max) * height;
    d += `${d ? ' ' : ''}${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
    pen = true;
  }
  return d;
}

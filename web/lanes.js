// Lane allocation: which horizontal line a new comment may use so that it
// never overlaps another comment of the same mode.
//
// A scrolling comment enters at one edge of the stage and leaves at the other
// in a fixed time, so long comments move faster than short ones. A lane can
// take a new scrolling comment when both hold:
//   1. the previous comment's tail has entered the stage (plus a small gap),
//      so the two do not overlap at the entry edge;
//   2. the new comment cannot catch the previous one before the previous one
//      has left: its head reaches the far edge no earlier than the previous
//      comment's tail does.
// All comments in a lane take the same time to cross, so the comment placed
// last is the only one a newcomer can collide with; a lane keeps just that one.
//
// A fixed comment (top or bottom) holds its place for a while; its lane is
// free again when that time is over.
//
// Pure: time and sizes come in as numbers, nothing touches the DOM.

/**
 * A comment as the allocator sees it. The renderer may mutate `start` and
 * `paused` while a comment is paused by hovering; a paused comment blocks its
 * lanes.
 * @typedef {object} Flight
 * @property {number} start      Time (ms) it entered the stage or appeared.
 * @property {number} width      Width in px.
 * @property {number} duration   Time (ms) to cross the stage (scroll) or to stay (fixed).
 * @property {number} stageWidth Stage width in px when it started.
 * @property {number} lane       First lane it occupies.
 * @property {number} span       Number of lanes it occupies (tall comments take more).
 * @property {boolean} paused
 */

/**
 * What the allocator needs to know about a comment to place.
 * @typedef {object} Candidate
 * @property {number} width       Width in px.
 * @property {number} duration    Time (ms) to cross (scroll) or to stay (fixed).
 * @property {number} stageWidth  Current stage width in px.
 * @property {number} [span=1]    Lanes it needs.
 */

/**
 * @typedef {'scroll'|'fixed'} LaneKind
 */

/**
 * The earliest time a candidate could enter a lane whose last comment is prev.
 * @param {LaneKind} kind
 * @param {Flight|null} prev
 * @param {Candidate} next
 * @param {number} gap Minimum distance in px between consecutive scrolling comments.
 * @returns {number} A time in ms; -Infinity for an empty lane, Infinity while prev is paused.
 */
export function freeAt(kind, prev, next, gap = 0) {
  if (!prev) return -Infinity;
  if (prev.paused) return Infinity;
  if (kind === 'fixed') return prev.start + prev.duration;
  const prevSpeed = (prev.stageWidth + prev.width) / prev.duration; // px per ms
  const nextSpeed = (next.stageWidth + next.width) / next.duration;
  // 1. The previous comment's tail (plus the gap) has entered.
  const tailIn = prev.start + (prev.width + gap) / prevSpeed;
  // 2. Our head reaches the far edge no earlier than its tail leaves.
  const tailOut = prev.start + prev.duration;
  const noCatch = tailOut - next.stageWidth / nextSpeed;
  return Math.max(tailIn, noCatch);
}

export class LaneSet {
  /**
   * @param {object} options
   * @param {LaneKind} options.kind
   * @param {number} options.count Number of lanes.
   * @param {number} [options.gap=16] Minimum px between consecutive scrolling comments.
   */
  constructor({ kind, count, gap = 16 }) {
    /** @readonly @type {LaneKind} */ this.kind = kind;
    /** @type {number} */ this.gap = gap;
    /** @type {(Flight|null)[]} */ this.lanes = [];
    this.resize(count);
  }

  /** @returns {number} */
  get count() {
    return this.lanes.length;
  }

  /**
   * Changes the number of lanes (the stage or the display area changed).
   * Comments in lanes that disappear are forgotten; they finish their course.
   * @param {number} count
   */
  resize(count) {
    const n = Math.max(0, Math.floor(count));
    if (n < this.lanes.length) this.lanes.length = n;
    while (this.lanes.length < n) this.lanes.push(null);
  }

  /** Forgets every comment. */
  clear() {
    this.lanes.fill(null);
  }

  /**
   * The earliest time a candidate could start at lane i, over all lanes it spans.
   * @param {number} i
   * @param {Candidate} c
   * @returns {number}
   */
  freeAtLane(i, c) {
    const span = c.span ?? 1;
    let t = -Infinity;
    for (let k = i; k < i + span; k++) {
      const f = freeAt(this.kind, this.lanes[k], c, this.gap);
      if (f > t) t = f;
    }
    return t;
  }

  /**
   * Places a comment at time now in the first lane (from lane 0) that is free
   * for it, or returns null when no lane is.
   * With force, a comment that fits nowhere goes to the lane that frees up
   * first, overlapping what is there (the viewer's own comments, and the
   * "unlimited" setting).
   * @param {number} now
   * @param {Candidate} c
   * @param {boolean} [force=false]
   * @returns {Flight|null}
   */
  place(now, c, force = false) {
    const span = Math.max(1, Math.min(c.span ?? 1, this.lanes.length));
    if (this.lanes.length === 0) return null;
    const cand = { ...c, span };
    let best = -1;
    let bestAt = Infinity;
    for (let i = 0; i + span <= this.lanes.length; i++) {
      const at = this.freeAtLane(i, cand);
      if (at <= now) {
        best = i;
        break;
      }
      if (force && at < bestAt) {
        bestAt = at;
        best = i;
      }
    }
    if (best < 0) {
      if (!force) return null;
      best = 0; // every lane is paused: overlap the first
    }
    /** @type {Flight} */
    const flight = {
      start: now,
      width: c.width,
      duration: c.duration,
      stageWidth: c.stageWidth,
      lane: best,
      span,
      paused: false,
    };
    for (let k = best; k < best + span; k++) this.lanes[k] = flight;
    return flight;
  }
}

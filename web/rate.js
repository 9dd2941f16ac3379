// The header's comments-per-second figure. Comments come in bursts (the
// server batches busy rooms, people type in waves), so a one-second window
// read once a second shows 0 between bursts while a room is lively; this
// meter averages over several seconds instead.

/** Counts events in time slots over a sliding window. */
export class RateMeter {
  /**
   * @param {object} [options]
   * @param {number} [options.windowMs=5000] The span the rate is averaged over.
   * @param {number} [options.slotMs=250] Resolution: events are counted per slot.
   * @param {() => number} [options.now] Clock in ms (performance.now by default).
   */
  constructor(options = {}) {
    /** @private */ this.slotMs = options.slotMs ?? 250;
    const n = Math.max(1, Math.round((options.windowMs ?? 5000) / this.slotMs));
    /** @private */ this.slots = new Array(n).fill(0);
    /** @private */ this.now = options.now ?? (() => performance.now());
    /** @private */ this.started = this.now();
    /** @private */ this.current = Math.floor(this.started / this.slotMs);
  }

  /**
   * Counts n events now.
   * @param {number} [n=1]
   */
  tick(n = 1) {
    this.slots[this.advance() % this.slots.length] += n;
  }

  /** @returns {number} events per second over the window */
  rate() {
    this.advance();
    let sum = 0;
    for (const c of this.slots) sum += c;
    // Until a whole window has passed, average over the time there was (but
    // at least a second, so that the first event does not read as a spike).
    const spanMs = Math.min(this.slots.length * this.slotMs, Math.max(1000, this.now() - this.started));
    return (sum * 1000) / spanMs;
  }

  /**
   * Moves to the current slot, clearing the ones that passed without events.
   * @private
   * @returns {number} the current slot's number
   */
  advance() {
    const slot = Math.floor(this.now() / this.slotMs);
    for (let s = Math.max(this.current + 1, slot - this.slots.length + 1); s <= slot; s++) {
      this.slots[s % this.slots.length] = 0;
    }
    this.current = Math.max(this.current, slot);
    return this.current;
  }
}

/**
 * The rate as the header shows it: one decimal below 10, whole numbers above.
 * @param {number} perSecond
 */
export function formatRate(perSecond) {
  if (perSecond === 0) return '0 /s';
  return perSecond < 10 ? `${perSecond.toFixed(1)} /s` : `${Math.round(perSecond).toLocaleString()} /s`;
}

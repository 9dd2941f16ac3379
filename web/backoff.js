// Reconnect delays: exponential backoff with full jitter and a floor.
//
// Attempt n (counting from 0) waits a uniformly random time in
// [minMs, min(maxMs, minMs · 2^(n+1))]. The random spread stops a crowd of
// viewers that lost the same server from coming back in lockstep; the floor
// keeps even the luckiest client from hammering a server that just went away.
//
// Pure: no timers, no globals. The random source is injectable for tests.

/**
 * @typedef {object} BackoffOptions
 * @property {number} [minMs=500]   Shortest delay, and the base of the exponent.
 * @property {number} [maxMs=20000] Longest delay.
 * @property {() => number} [random=Math.random] Uniform source in [0, 1).
 */

export class Backoff {
  /** @param {BackoffOptions} [options] */
  constructor(options = {}) {
    const minMs = options.minMs ?? 500;
    const maxMs = options.maxMs ?? 20000;
    if (!(minMs > 0) || !(maxMs >= minMs)) {
      throw new RangeError(`backoff: need 0 < minMs <= maxMs, got ${minMs}, ${maxMs}`);
    }
    /** @readonly */ this.minMs = minMs;
    /** @readonly */ this.maxMs = maxMs;
    /** @private */ this.random = options.random ?? Math.random;
    /** Number of delays handed out since the last reset. */
    this.attempt = 0;
  }

  /**
   * The ceiling of the delay for the current attempt.
   * @returns {number}
   */
  ceiling() {
    // Cap the exponent so that 2^n stays finite for absurd attempt counts.
    const exp = Math.min(this.attempt + 1, 30);
    return Math.min(this.maxMs, this.minMs * 2 ** exp);
  }

  /**
   * Returns the delay before the next attempt and counts the attempt.
   * @param {number} [atLeastMs=0] A lower bound demanded by the server
   *   (for example `retry=<ms>` in a 4013 close reason); still capped at maxMs.
   * @returns {number} Whole milliseconds in [minMs, maxMs].
   */
  next(atLeastMs = 0) {
    const ceiling = this.ceiling();
    let delay = this.minMs + this.random() * (ceiling - this.minMs);
    this.attempt++;
    if (atLeastMs > delay) delay = Math.min(atLeastMs, this.maxMs);
    return Math.round(delay);
  }

  /** Forgets past failures: the next delay is short again. */
  reset() {
    this.attempt = 0;
  }
}

/**
 * Parses the `retry=<ms>` hint a server may put in a close reason
 * (close code 4013, PROTOCOL.md). Returns 0 when there is none.
 * @param {string} reason
 * @returns {number}
 */
export function retryHintMs(reason) {
  const m = /(?:^|[\s;,])retry=(\d{1,9})(?:$|[\s;,])/.exec(reason || '');
  return m ? Number(m[1]) : 0;
}

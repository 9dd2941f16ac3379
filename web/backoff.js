// Reconnect delays and targets: exponential backoff with full jitter and a
// floor, and the choice among several server URLs.
//
// Attempt n (counting from 0) waits a uniformly random time in
// [minMs, min(maxMs, minMs · 2^(r+1))], where r is the number of whole rounds
// of attempts (one per server URL; with one URL, one attempt) that came
// before it. The random spread stops a crowd of viewers that lost the same
// server from coming back in lockstep; the floor keeps even the luckiest
// client from hammering a server that just went away; counting rounds keeps
// one dead node from slowing the move to the next.
//
// Pure: no timers, no globals. The random source is injectable for tests.

/**
 * @typedef {object} BackoffOptions
 * @property {number} [minMs=500]   Shortest delay, and the base of the exponent.
 * @property {number} [maxMs=20000] Longest delay.
 * @property {() => number} [random=Math.random] Uniform source in [0, 1).
 * @property {number} [perRound=1] Attempts in a round: the number of server URLs.
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
    /** @readonly */ this.perRound = Math.max(1, options.perRound ?? 1);
    /** Number of delays handed out since the last reset. */
    this.attempt = 0;
  }

  /**
   * Whole rounds of attempts since the last reset.
   * @returns {number}
   */
  rounds() {
    return Math.floor(this.attempt / this.perRound);
  }

  /**
   * The ceiling of the delay for the current attempt.
   * @returns {number}
   */
  ceiling() {
    // Cap the exponent so that 2^n stays finite for absurd attempt counts.
    const exp = Math.min(this.rounds() + 1, 30);
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
 * Chooses the URL of each connection attempt among several nodes of one
 * cluster. It starts at a random URL, so that viewers given the same list
 * spread over it, and moves one URL on after every attempt that failed or
 * connection that ended. A URL whose server asked for a wait (`retry=<ms>` in
 * a 4013 close) is skipped until the wait is over, unless every URL is held.
 */
export class ServerList {
  /**
   * @param {string[]} urls At least one.
   * @param {() => number} [random=Math.random] Uniform source in [0, 1).
   */
  constructor(urls, random = Math.random) {
    if (urls.length === 0) throw new RangeError('ServerList: no server URL');
    /** @readonly */ this.urls = urls;
    /** @private @type {number[]} Date.now() values before which each URL is not tried. */
    this.holds = urls.map(() => 0);
    /** @private Where the search for the next URL starts. */
    this.next = Math.min(Math.floor(random() * urls.length), urls.length - 1);
  }

  /**
   * The URL to try next: the first from the current position that no wait
   * holds back at now or, when every one is held, the one free soonest.
   * With several URLs, `avoid` (an index, or -1) is never picked: it is a
   * URL that just drained.
   * @param {number} now  A Date.now() value.
   * @param {number} [avoid=-1]
   * @returns {{index: number, url: string, at: number}} `at`: the Date.now() value it may be tried at.
   */
  pick(now, avoid = -1) {
    const n = this.urls.length;
    let best = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      if (i === avoid && n > 1) continue;
      if (this.holds[i] <= now) return { index: i, url: this.urls[i], at: now };
      if (best < 0 || this.holds[i] < this.holds[best]) best = i;
    }
    return { index: best, url: this.urls[best], at: this.holds[best] };
  }

  /**
   * Records that an attempt on URL `index` failed or that its connection
   * ended, with the wait its server asked for, if any.
   * @param {number} index
   * @param {number} holdMs
   * @param {number} now  A Date.now() value.
   */
  tried(index, holdMs, now) {
    this.next = (index + 1) % this.urls.length;
    if (holdMs > 0) this.holds[index] = now + holdMs;
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

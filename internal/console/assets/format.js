// format.js — how the console writes numbers, sizes, latencies and times.
// Pure functions, unit-tested with node --test (internal/console/test).

const DASH = '—';

/**
 * A per-second rate: 0.25 → "0.25", 3.5 → "3.5", 35 → "35", 12345 → "12.3k".
 * @param {number|null|undefined} v
 */
export function formatRate(v) {
  if (v == null || !Number.isFinite(v)) return DASH;
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1) return trim(v.toFixed(2));
  if (a < 10) return trim(v.toFixed(1));
  if (a < 1000) return String(Math.round(v));
  return scaled(v, 1000, ['k', 'M', 'G']);
}

/**
 * A count with thousands separators: 1234567 → "1,234,567".
 * @param {number|null|undefined} n
 */
export function formatCount(n) {
  if (n == null || !Number.isFinite(n)) return DASH;
  const s = String(Math.round(Math.abs(n)));
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${grouped}` : grouped;
}

/**
 * Bytes in SI units: 5000 → "5.0 kB", 999 → "999 B".
 * @param {number|null|undefined} v
 */
export function formatBytes(v) {
  if (v == null || !Number.isFinite(v)) return DASH;
  if (Math.abs(v) < 1000) return `${Math.round(v)} B`;
  return `${scaled(v, 1000, ['kB', 'MB', 'GB', 'TB'], ' ')}`;
}

/**
 * A latency in milliseconds; null (no sample) is a dash.
 * @param {number|null|undefined} v
 */
export function formatMs(v) {
  if (v == null || !Number.isFinite(v)) return DASH;
  if (v < 10) return `${trim(v.toFixed(2))} ms`;
  if (v < 1000) return `${trim(v.toFixed(1))} ms`;
  return `${trim((v / 1000).toFixed(2))} s`;
}

/**
 * v / base^k with one decimal and the unit of k ≥ 1.
 * @param {number} v
 * @param {number} base
 * @param {string[]} units
 * @param {string} [sep]
 */
function scaled(v, base, units, sep = '') {
  let x = v / base;
  let i = 0;
  while (Math.abs(x) >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return `${x.toFixed(1)}${sep}${units[i]}`;
}

/** @param {string} s */
function trim(s) {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * A wall-clock time of day, HH:MM:SS, in the browser's time zone.
 * @param {number} ms  Unix milliseconds
 */
export function formatClock(ms) {
  if (!Number.isFinite(ms) || ms <= 0) return DASH;
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/**
 * How long ago a time was: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago".
 * @param {string|number|null|undefined} t  an ISO time or Unix ms
 * @param {number} now  Unix ms
 */
export function formatAgo(t, now) {
  const ms = toMs(t);
  if (ms === null) return DASH;
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 2) return 'just now';
  return `${span(s)} ago`;
}

/**
 * When a mute or ban ends: "forever" without an end, else "in 9 min", or
 * "ended" once it has passed.
 * @param {string|number|null|undefined} t
 * @param {number} now
 */
export function formatUntil(t, now) {
  const ms = toMs(t);
  if (ms === null) return 'forever';
  const s = Math.round((ms - now) / 1000);
  if (s <= 0) return 'ended';
  return `in ${span(s)}`;
}

/**
 * A length of time in its largest whole unit.
 * @param {number} s  seconds, > 0
 */
function span(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/**
 * @param {string|number|null|undefined} t
 * @returns {number|null}
 */
function toMs(t) {
  if (t == null || t === '') return null;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}

/** The durations a mute or ban can be given, in seconds (0: forever). */
export const DURATIONS = Object.freeze([
  { seconds: 60, label: '1 minute' },
  { seconds: 600, label: '10 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 7 * 86400, label: '1 week' },
  { seconds: 0, label: 'forever' },
]);

/**
 * The label of a duration in seconds.
 * @param {number} seconds
 */
export function durationLabel(seconds) {
  const d = DURATIONS.find((x) => x.seconds === seconds);
  if (d) return d.label;
  return seconds === 0 ? 'forever' : span(seconds);
}

/**
 * Counts by reason, largest first, as [reason, count] pairs; a reason
 * counted 0 stays, so that the table shows every known reason.
 * @param {Record<string, number>|null|undefined} counts
 * @returns {[string, number][]}
 */
export function byCount(counts) {
  if (!counts || typeof counts !== 'object') return [];
  return Object.entries(counts)
    .filter(([, n]) => typeof n === 'number' && Number.isFinite(n))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * The query of a history read by time: from and to are the values of
 * datetime-local inputs ("" for open ends), read in the browser's zone.
 * Returns the query string, or an error message.
 * @param {string} from
 * @param {string} to
 * @param {string|number} limit
 * @returns {{query: string}|{error: string}}
 */
export function historyQuery(from, to, limit) {
  const q = new URLSearchParams();
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > 1000) return { error: 'At most must be 1–1000 messages.' };
  q.set('limit', String(n));
  /** @type {[string, string][]} */
  const ends = [['from', from], ['to', to]];
  for (const [name, value] of ends) {
    if (!value) continue;
    const ms = new Date(value).getTime();
    if (!Number.isFinite(ms)) return { error: `${name} is not a date and time.` };
    q.set(name, String(Math.max(0, ms)));
  }
  if (q.has('from') && q.has('to') && Number(q.get('to')) < Number(q.get('from'))) {
    return { error: 'To is before from.' };
  }
  return { query: q.toString() };
}

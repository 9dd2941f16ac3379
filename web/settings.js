// Viewer settings: what to show and how, saved in localStorage, and the
// block-list filter built from them. Pure apart from the Storage passed in.

/**
 * @typedef {object} BlockedUser
 * @property {string} id    The opaque user id from messages (user.id).
 * @property {string} [name] Shown in the settings panel.
 */

/**
 * @typedef {object} Settings
 * @property {boolean} enabled     Show danmaku at all.
 * @property {boolean} hideScroll  Hide right-to-left comments.
 * @property {boolean} hideReverse Hide left-to-right comments.
 * @property {boolean} hideTop     Hide comments fixed at the top.
 * @property {boolean} hideBottom  Hide comments fixed at the bottom.
 * @property {boolean} hideColored Hide comments in any colour but white.
 * @property {number} opacity      0.1 – 1.
 * @property {number} area         Share of the stage height comments may use: 0.25, 0.5, 0.75 or 1.
 * @property {number} speed        Scrolling speed factor, 0.5 – 2.
 * @property {number} fontScale    Font size factor, 0.5 – 2.
 * @property {boolean} unlimited   Overlap comments instead of dropping those that find no free lane.
 * @property {'auto'|'dom'|'canvas'} engine How comments are drawn: DOM elements, one canvas (lighter without a GPU), or auto (by the GPU).
 * @property {string[]} keywords   Hide comments containing any of these (case-insensitive).
 * @property {string[]} regexes    Hide comments matching any of these (JavaScript syntax, case-insensitive).
 * @property {BlockedUser[]} blockedUsers Hide comments from these users.
 */

/** The key settings are saved under. */
export const STORAGE_KEY = 'danmaku.settings.v1';

/** Display areas the panel offers. */
export const AREAS = [0.25, 0.5, 0.75, 1];

/** @type {Readonly<Settings>} */
export const DEFAULT_SETTINGS = Object.freeze({
  enabled: true,
  hideScroll: false,
  hideReverse: false,
  hideTop: false,
  hideBottom: false,
  hideColored: false,
  opacity: 1,
  area: 1,
  speed: 1,
  fontScale: 1,
  unlimited: false,
  engine: 'auto',
  keywords: [],
  regexes: [],
  blockedUsers: [],
});

const MAX_LIST = 200; // entries per block list
const MAX_ENTRY = 200; // characters per keyword or pattern

/**
 * @param {unknown} v
 * @param {number} lo
 * @param {number} hi
 * @param {number} dflt
 */
function clampNumber(v, lo, hi, dflt) {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(hi, Math.max(lo, n));
}

/**
 * @param {unknown} v
 * @returns {string[]}
 */
function stringList(v) {
  if (!Array.isArray(v)) return [];
  const out = [];
  const seen = new Set();
  for (const x of v) {
    if (typeof x !== 'string') continue;
    const s = x.trim().slice(0, MAX_ENTRY);
    if (s === '' || seen.has(s)) continue;
    seen.add(s);
    out.push(s);
    if (out.length >= MAX_LIST) break;
  }
  return out;
}

/**
 * Returns a complete, valid Settings from anything (a parsed JSON blob from
 * storage, a partial update): unknown fields are dropped, bad values replaced
 * by defaults, numbers clamped.
 * @param {unknown} raw
 * @returns {Settings}
 */
export function normalizeSettings(raw) {
  /** @type {Record<string, any>} */
  const r = raw && typeof raw === 'object' ? /** @type {any} */ (raw) : {};
  const d = DEFAULT_SETTINGS;
  /** @param {string} k @param {boolean} dflt */
  const bool = (k, dflt) => (typeof r[k] === 'boolean' ? r[k] : dflt);
  let area = clampNumber(r.area, 0.25, 1, d.area);
  area = AREAS.reduce((best, a) => (Math.abs(a - area) < Math.abs(best - area) ? a : best), 1);
  /** @type {BlockedUser[]} */
  const blockedUsers = [];
  const seen = new Set();
  if (Array.isArray(r.blockedUsers)) {
    for (const u of r.blockedUsers) {
      const id = u && typeof u.id === 'string' ? u.id.trim().slice(0, MAX_ENTRY) : '';
      if (!id || seen.has(id)) continue;
      seen.add(id);
      const name = typeof u.name === 'string' ? u.name.slice(0, MAX_ENTRY) : undefined;
      blockedUsers.push(name ? { id, name } : { id });
      if (blockedUsers.length >= MAX_LIST) break;
    }
  }
  return {
    enabled: bool('enabled', d.enabled),
    hideScroll: bool('hideScroll', d.hideScroll),
    hideReverse: bool('hideReverse', d.hideReverse),
    hideTop: bool('hideTop', d.hideTop),
    hideBottom: bool('hideBottom', d.hideBottom),
    hideColored: bool('hideColored', d.hideColored),
    opacity: clampNumber(r.opacity, 0.1, 1, d.opacity),
    area,
    speed: clampNumber(r.speed, 0.5, 2, d.speed),
    fontScale: clampNumber(r.fontScale, 0.5, 2, d.fontScale),
    unlimited: bool('unlimited', d.unlimited),
    engine: r.engine === 'canvas' || r.engine === 'dom' ? r.engine : 'auto',
    keywords: stringList(r.keywords),
    regexes: stringList(r.regexes),
    blockedUsers,
  };
}

/**
 * Reads settings from storage; defaults when absent or unreadable.
 * @param {Pick<Storage, 'getItem'>|null|undefined} storage
 * @returns {Settings}
 */
export function loadSettings(storage) {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    return normalizeSettings(raw ? JSON.parse(raw) : {});
  } catch {
    return normalizeSettings({});
  }
}

/**
 * Writes settings to storage. Returns false when storage refused (private
 * mode, quota); the settings still apply to this page.
 * @param {Pick<Storage, 'setItem'>|null|undefined} storage
 * @param {Settings} settings
 * @returns {boolean}
 */
export function saveSettings(storage, settings) {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(normalizeSettings(settings)));
    return Boolean(storage);
  } catch {
    return false;
  }
}

/**
 * Compiles a user's pattern. Returns null, with the reason, for invalid ones.
 * @param {string} pattern
 * @returns {{re: RegExp|null, error: string|null}}
 */
export function compilePattern(pattern) {
  // Accept both "foo.*bar" and the /foo.*bar/flags form people paste.
  const m = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  try {
    if (m) {
      const flags = m[2].includes('i') ? m[2] : m[2] + 'i';
      return { re: new RegExp(m[1], flags.replace(/[gy]/g, '')), error: null };
    }
    return { re: new RegExp(pattern, 'i'), error: null };
  } catch (e) {
    return { re: null, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The parts of a message the filter looks at.
 * @typedef {object} Filterable
 * @property {string} [text]
 * @property {string} [mode]
 * @property {string} [color]
 * @property {{id?: string}|null} [user]
 */

/**
 * Why a message is hidden: a block list or a hidden type.
 * @typedef {'disabled'|'type'|'colored'|'keyword'|'regex'|'user'} HideReason
 */

/**
 * Builds the function deciding whether a message is hidden.
 * @param {Settings} settings
 * @returns {(msg: Filterable) => HideReason|null}
 */
export function compileFilter(settings) {
  const s = normalizeSettings(settings);
  const keywords = s.keywords.map((k) => k.toLowerCase());
  const regexes = /** @type {RegExp[]} */ (
    s.regexes.map((p) => compilePattern(p).re).filter((re) => re !== null)
  );
  const users = new Set(s.blockedUsers.map((u) => u.id));
  /** @type {Record<string, boolean>} */
  const hiddenMode = {
    scroll: s.hideScroll,
    reverse: s.hideReverse,
    top: s.hideTop,
    bottom: s.hideBottom,
  };
  return (msg) => {
    if (!s.enabled) return 'disabled';
    if (hiddenMode[msg.mode || 'scroll']) return 'type';
    if (s.hideColored && (msg.color || '#ffffff').toLowerCase() !== '#ffffff') return 'colored';
    const id = msg.user?.id;
    if (id && users.has(id)) return 'user';
    const text = msg.text ?? '';
    if (keywords.length) {
      const lower = text.toLowerCase();
      for (const k of keywords) if (lower.includes(k)) return 'keyword';
    }
    for (const re of regexes) {
      re.lastIndex = 0;
      if (re.test(text)) return 'regex';
    }
    return null;
  };
}

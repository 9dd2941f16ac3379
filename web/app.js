// The demo page: a live stage with danmaku over it, a send bar, settings, a
// status bar and the comment list. Query parameters:
//   ?room=NAME     room to join (default lobby)
//   ?token=JWT     authenticate (kept for this tab's session, removed from the address bar)
//   ?video=URL     play this video instead of the animated stage
//   ?bench=RATE    rendering benchmark: RATE local comments/s, no server
//                  (&seconds=10 &unlimited=1)
//   ?ws=URL        WebSocket URL override on this host (default: /ws; the CSP allows no other host)

import { DanmakuClient, DanmakuError, wsURL } from './danmaku.js';
import { DanmakuRenderer, preferredEngine } from './renderer.js';
import { FrameLoop } from './frameloop.js';
import { StageScene } from './scene.js';
import { CommentList, authorLabel } from './list.js';
import { OwnEchoes } from './own.js';
import { runBench } from './bench.js';
import { RateMeter, formatRate } from './rate.js';
import {
  loadSettings,
  saveSettings,
  normalizeSettings,
  compileFilter,
  compilePattern,
  DEFAULT_SETTINGS,
} from './settings.js';

/** @typedef {import('./danmaku.js').DanmakuMessage} DanmakuMessage */
/** @typedef {import('./settings.js').Settings} Settings */

/**
 * @typedef {object} PageConfig
 * @property {number} maxTextRunes
 * @property {string} ws
 * @property {number} cooldownMs
 */

/** Bilibili's standard colours. */
export const COLORS = [
  '#fe0302', '#ff7204', '#ffaa02', '#ffd302', '#ffff00', '#a0ee00', '#00cd00',
  '#019899', '#4266be', '#89d5ff', '#cc0273', '#222222', '#9b9b9b', '#ffffff',
];

const ROOM_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * What the viewer is told for each nack code.
 * @type {Record<string, (e: {retryAfterMs?: number, max: number, message: string}) => string>}
 */
const NACK_TEXT = {
  rate_limited: (e) => `You are sending too fast. Try again in ${secs(e.retryAfterMs)}.`,
  slow_mode: (e) => `Slow mode is on in this room: wait ${secs(e.retryAfterMs)} between comments.`,
  too_long: (e) => `Too long: a comment may have at most ${e.max} characters.`,
  muted: () => 'You are muted in this room.',
  blocked_content: () => 'Your comment contains words that are not allowed here.',
  duplicate: () => 'You just sent the same comment. Say something new!',
  room_closed: () => 'This room is closed to new comments.',
  not_joined: () => 'Not in the room yet; wait until the connection is back and send again.',
  forbidden: () => 'You are not allowed to post in this room.',
  unauthorized: () => 'Sign in to send comments (this room does not take anonymous comments).',
  bad_request: (e) => `The server could not accept this comment${e.message ? `: ${e.message}` : '.'}`,
  unavailable: () => 'The service is unavailable; your comment was not confirmed. Try again in a moment.',
  closed: () => 'Disconnected from the server.',
};

/** @param {number|undefined} ms */
function secs(ms) {
  if (!ms || ms <= 0) return 'a moment';
  const s = Math.ceil(ms / 1000);
  return s === 1 ? '1 second' : `${s} seconds`;
}

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return /** @type {T} */ (el);
}

/** @returns {Promise<PageConfig>} */
async function loadConfig() {
  /** @type {PageConfig} */
  const cfg = { maxTextRunes: 100, ws: '/ws', cooldownMs: 1000 };
  try {
    const res = await fetch('danmaku-config.json', { cache: 'no-store' });
    if (res.ok) {
      const j = await res.json();
      if (Number.isInteger(j.maxTextRunes) && j.maxTextRunes > 0) cfg.maxTextRunes = j.maxTextRunes;
      if (typeof j.ws === 'string' && j.ws) cfg.ws = j.ws;
      if (Number.isInteger(j.cooldownMs) && j.cooldownMs >= 0) cfg.cooldownMs = j.cooldownMs;
    }
  } catch {
    // Served without the Go handler (a static file server): use the defaults.
  }
  return cfg;
}

/**
 * The number of code points, which is what the server counts.
 * @param {string} s
 */
function runes(s) {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

async function main() {
  const params = new URLSearchParams(location.search);
  const cfg = await loadConfig();
  const loop = new FrameLoop();
  const stage = $('stage');

  // ---- the stage: a video, or the animated scene ----
  const videoParam = params.get('video');
  /** @type {StageScene|null} */
  let scene = null;
  const videoURL = videoParam ? safeURL(videoParam) : null;
  if (videoURL) {
    const video = document.createElement('video');
    video.className = 'scene';
    video.src = videoURL;
    video.autoplay = true;
    video.muted = true;
    video.loop = true;
    video.playsInline = true;
    $('scene').replaceWith(video);
    $('live-badge').hidden = true;
  } else {
    scene = new StageScene(/** @type {HTMLCanvasElement} */ ($('scene')), loop);
  }

  // ---- settings ----
  /** @type {Settings} */
  let settings = loadSettings(safeStorage());
  let filter = compileFilter(settings);

  // ?engine= tries a renderer without changing the saved setting.
  const engineParam = params.get('engine');
  /** @returns {'dom'|'canvas'} */
  const engineOf = () => {
    const e = engineParam === 'canvas' || engineParam === 'dom' ? engineParam : settings.engine;
    return e === 'auto' ? preferredEngine() : e;
  };
  let renderer = new DanmakuRenderer(stage, { loop, onClick: showCard, engine: engineOf() });
  const list = new CommentList(/** @type {HTMLOListElement} */ ($('dm-list')), loop, { onClick: showCard });
  const own = new OwnEchoes();
  const rate = new RateMeter();
  // Installed before the benchmark branch, which counts through ingest too.
  setInterval(() => ($('st-rate').textContent = formatRate(rate.rate())), 1000);
  /** Page counters, for the status bar and tests. */
  const stats = {
    received: 0,
    hidden: 0,
    broadcast: 0,
    user: 0,
    resets: 0,
    /** @type {import('./danmaku.js').JoinResult|null} */
    lastJoin: null,
  };

  function applySettings() {
    filter = compileFilter(settings);
    if (renderer.engine !== engineOf()) {
      renderer.destroy();
      renderer = new DanmakuRenderer(stage, { loop, onClick: showCard, engine: engineOf() });
    }
    renderer.setDisplay({
      opacity: settings.opacity,
      area: settings.area,
      speed: settings.speed,
      fontScale: settings.fontScale,
      unlimited: settings.unlimited,
    });
    if (!settings.enabled) renderer.clear();
    stage.classList.toggle('dm-off', !settings.enabled);
    const toggle = $('dm-toggle');
    toggle.setAttribute('aria-pressed', String(settings.enabled));
    toggle.classList.toggle('off', !settings.enabled);
    syncSettingsPanel();
  }

  /** @param {Partial<Settings>} patch */
  function updateSettings(patch) {
    settings = normalizeSettings({ ...settings, ...patch });
    saveSettings(safeStorage(), settings);
    applySettings();
  }

  /**
   * The one path every incoming comment takes (server and benchmark alike).
   * @param {string} room
   * @param {DanmakuMessage} msg
   * @param {'room'|'broadcast'} kind
   */
  function ingest(room, msg, kind) {
    stats.received++;
    rate.tick();
    if (kind === 'room') {
      const localId = own.claim(msg, performance.now());
      if (localId) {
        // Our own comment, already on screen: just learn its real identity.
        renderer.relabel(localId, { id: msg.id, offset: msg.offset });
        list.relabel(localId, { id: msg.id, offset: msg.offset });
        return;
      }
    }
    const reason = filter(msg);
    if (reason === 'keyword' || reason === 'regex' || reason === 'user') {
      stats.hidden++;
      return; // blocked: hidden everywhere
    }
    list.add(room, msg, kind);
    if (reason) {
      stats.hidden++;
      return; // hidden on the stage only (danmaku off, or a hidden type)
    }
    renderer.add(msg, { room });
  }

  // ---- comment card (click a comment) ----
  /** @type {DanmakuMessage|null} */
  let cardMsg = null;
  /**
   * @param {any} msg
   * @param {HTMLElement|null} _el
   * @param {MouseEvent} ev
   */
  function showCard(msg, _el, ev) {
    cardMsg = msg;
    const card = $('dm-card');
    const user = msg.user;
    const who = authorLabel(msg);
    $('dm-card-who').textContent = user?.id ? `${who} · ${user.id}` : who;
    $('dm-card-text').textContent = msg.text;
    /** @type {HTMLButtonElement} */ ($('dm-card-block')).disabled = !user?.id;
    card.hidden = false;
    const rect = stage.getBoundingClientRect();
    const inStage = ev.target instanceof Node && stage.contains(ev.target);
    const x = inStage ? ev.clientX - rect.left : rect.width / 2;
    const y = inStage ? ev.clientY - rect.top : rect.height / 2;
    card.style.left = `${Math.max(8, Math.min(rect.width - card.offsetWidth - 8, x))}px`;
    card.style.top = `${Math.max(8, Math.min(rect.height - card.offsetHeight - 8, y + 12))}px`;
  }
  $('dm-card-close').addEventListener('click', () => ($('dm-card').hidden = true));
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') $('dm-card').hidden = true;
  });
  $('dm-card-block').addEventListener('click', () => {
    const u = cardMsg?.user;
    if (u?.id) {
      updateSettings({ blockedUsers: [...settings.blockedUsers, { id: u.id, name: u.name }] });
      notice(`Blocked ${u.name || u.id}.`, 'info');
    }
    $('dm-card').hidden = true;
  });

  // ---- the settings panel ----
  function syncSettingsPanel() {
    for (const el of /** @type {NodeListOf<HTMLInputElement|HTMLSelectElement>} */ (
      document.querySelectorAll('[data-setting]')
    )) {
      const key = /** @type {keyof Settings} */ (el.dataset.setting);
      const v = settings[key];
      if (el instanceof HTMLInputElement && el.type === 'checkbox') el.checked = Boolean(v);
      else el.value = String(v);
      const out = document.querySelector(`output[data-for="${key}"]`);
      if (out) out.textContent = key === 'opacity' ? `${Math.round(Number(v) * 100)}%` : `×${Number(v).toFixed(2)}`;
      if (key === 'engine' && engineParam) el.title = `?engine=${engineParam} overrides this on this page`;
    }
    for (const box of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.blocklist'))) {
      const key = /** @type {'keywords'|'regexes'|'blockedUsers'} */ (box.dataset.list);
      const ul = /** @type {HTMLUListElement} */ (box.querySelector('ul'));
      ul.replaceChildren(
        ...settings[key].map((/** @type {any} */ entry, /** @type {number} */ i) => {
          const li = document.createElement('li');
          const label = document.createElement('span');
          label.textContent = typeof entry === 'string' ? entry : entry.name ? `${entry.name} (${entry.id})` : entry.id;
          const rm = document.createElement('button');
          rm.type = 'button';
          rm.textContent = '×';
          rm.setAttribute('aria-label', `Remove ${label.textContent}`);
          rm.addEventListener('click', () => {
            const next = settings[key].slice();
            next.splice(i, 1);
            updateSettings({ [key]: next });
          });
          li.append(label, rm);
          return li;
        }),
      );
    }
  }
  for (const el of /** @type {NodeListOf<HTMLInputElement|HTMLSelectElement>} */ (
    document.querySelectorAll('[data-setting]')
  )) {
    el.addEventListener(el.type === 'range' ? 'input' : 'change', () => {
      const key = /** @type {string} */ (el.dataset.setting);
      const value =
        el instanceof HTMLInputElement && el.type === 'checkbox'
          ? el.checked
          : el.dataset.kind === 'string'
            ? el.value
            : Number(el.value);
      updateSettings({ [key]: value });
    });
  }
  for (const box of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.blocklist'))) {
    const key = /** @type {'keywords'|'regexes'|'blockedUsers'} */ (box.dataset.list);
    const form = /** @type {HTMLFormElement} */ (box.querySelector('form'));
    const input = /** @type {HTMLInputElement} */ (form.querySelector('input'));
    const err = /** @type {HTMLElement|null} */ (box.querySelector('.field-error'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (!v) return;
      if (key === 'regexes') {
        const { error } = compilePattern(v);
        if (err) {
          err.hidden = !error;
          err.textContent = error ? `Invalid pattern: ${error}` : '';
        }
        if (error) return;
      }
      const entry = key === 'blockedUsers' ? { id: v } : v;
      updateSettings({ [key]: [...settings[key], entry] });
      input.value = '';
    });
  }
  $('settings-reset').addEventListener('click', () => updateSettings({ ...DEFAULT_SETTINGS }));
  togglePanel('settings-btn', 'settings-panel');
  togglePanel('style-btn', 'style-panel');
  $('dm-toggle').addEventListener('click', () => updateSettings({ enabled: !settings.enabled }));

  // ---- hidden tab ----
  document.addEventListener('visibilitychange', () => {
    stage.classList.toggle('dm-hidden', document.hidden);
  });

  applySettings();

  // ---- benchmark mode: no server ----
  const benchRate = Number(params.get('bench'));
  if (params.has('bench') && benchRate > 0) {
    const unlimited = params.get('unlimited') === '1';
    if (unlimited) renderer.setDisplay({ unlimited: true });
    else if (settings.unlimited) renderer.setDisplay({ unlimited: false });
    setConn('bench', `Benchmark ${benchRate}/s`);
    $('room-name').textContent = 'benchmark';
    const out = $('bench-result');
    /** @type {any} */ (window).__danmaku = { get renderer() { return renderer; }, stats, loop, scene };
    const result = await runBench({
      rate: benchRate,
      seconds: Number(params.get('seconds')) || 10,
      unlimited,
      loop,
      renderer,
      stage,
      ingest: (msg) => ingest('bench', msg, 'room'),
      progress: (text) => setConn('bench', text),
    });
    out.textContent = JSON.stringify(result);
    out.hidden = false;
    out.dataset.done = '1';
    /** @type {any} */ (window).__danmakuBench = result;
    setConn('bench', `Benchmark ${benchRate}/s: ${result.fps} fps, ${result.dropped} dropped`);
    return;
  }

  // ---- the connection ----
  const roomParam = params.get('room') ?? 'lobby';
  const room = ROOM_RE.test(roomParam) ? roomParam : 'lobby';
  if (room !== roomParam) notice(`"${roomParam}" is not a valid room name; showing lobby.`, 'error');
  $('room-name').textContent = `#${room}`;
  document.title = `${room} · danmaku`;

  const token = takeToken(params);
  const url = params.get('ws') || wsURL(cfg.ws);
  const client = new DanmakuClient(url, { token: token ?? undefined });

  client.on('danmaku', ({ room: r, message }) => ingest(r, message, 'room'));
  client.on('delete', ({ ids }) => {
    for (const id of ids) renderer.remove(id);
    list.remove(ids);
  });
  client.on('broadcast', ({ messages }) => {
    for (const m of messages) {
      stats.broadcast++;
      ingest('', m, 'broadcast');
    }
  });
  client.on('user', ({ messages }) => {
    for (const m of messages) {
      stats.user++;
      toast(m.text);
    }
  });
  client.on('online', ({ room: r, count }) => {
    if (r === room) $('st-online').textContent = `${count.toLocaleString()} watching`;
  });
  client.on('joined', (info) => {
    stats.lastJoin = info;
  });
  client.on('reset', () => {
    stats.resets++;
    list.note('— the room history was reset; some comments may be missing —');
  });
  client.on('error', ({ code, message }) => notice(`Server: ${message || code}`, 'error', code));
  /** @type {Set<string>} nacks already shown, by send id */
  const nackShown = new Set();
  client.on('nack', ({ id, code, message, retryAfterMs }) => {
    nackShown.add(id);
    const text = (NACK_TEXT[code] ?? (() => `Not sent: ${message || code}.`))({
      retryAfterMs,
      max: cfg.maxTextRunes,
      message,
    });
    notice(text, 'error', code);
    if ((code === 'rate_limited' || code === 'slow_mode') && retryAfterMs) cooldown(retryAfterMs);
  });

  // Connection state, with a countdown while waiting to reconnect.
  /** @type {number|null} */
  let retryAt = null;
  client.on('state', (/** @type {import('./danmaku.js').StateDetail} */ d) => {
    retryAt = null;
    // Screen readers hear state changes, not every second of a countdown.
    const said = { open: 'Connected', connecting: 'Connecting', reconnecting: 'Connection lost, reconnecting', closed: 'Disconnected' }[d.state];
    if (said && $('st-announce').textContent !== said) $('st-announce').textContent = said;
    switch (d.state) {
      case 'open':
        setConn('open', 'Live');
        break;
      case 'connecting':
        setConn('connecting', d.attempt > 0 ? `Reconnecting… (attempt ${d.attempt + 1})` : 'Connecting…');
        break;
      case 'reconnecting':
        if (d.offline) setConn('offline', 'Offline — waiting for the network');
        else {
          retryAt = d.retryAt ?? null;
          updateCountdown();
        }
        break;
      case 'closed':
        setConn('closed', d.code === 4501 ? 'Not authorized' : d.code === 4503 ? 'Banned' : `Disconnected${d.code ? ` (${d.code})` : ''}`);
        break;
    }
    updateSendButton();
  });
  function updateCountdown() {
    if (retryAt === null) return;
    const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    setConn('reconnecting', `Reconnecting in ${s} s`);
  }
  setInterval(updateCountdown, 250);

  // ---- sending ----
  const input = /** @type {HTMLInputElement} */ ($('dm-input'));
  const sendBtn = /** @type {HTMLButtonElement} */ ($('dm-send'));
  const counter = $('dm-counter');
  let cooldownUntil = 0;
  /** @type {any} */
  let cooldownTimer = null;
  let localSeq = 0;
  const style = { mode: 'scroll', color: '#ffffff', size: 'normal' };

  function updateSendButton() {
    const n = runes(input.value.trim());
    counter.textContent = `${runes(input.value)}/${cfg.maxTextRunes}`;
    counter.classList.toggle('over', runes(input.value) > cfg.maxTextRunes);
    const left = cooldownUntil - Date.now();
    if (left > 0) {
      sendBtn.textContent = `${Math.ceil(left / 1000)}s`;
      sendBtn.disabled = true;
      return;
    }
    sendBtn.textContent = 'Send';
    sendBtn.disabled = n === 0 || runes(input.value) > cfg.maxTextRunes || client.state === 'closed';
  }
  /** @param {number} ms */
  function cooldown(ms) {
    cooldownUntil = Math.max(cooldownUntil, Date.now() + ms);
    clearInterval(cooldownTimer);
    cooldownTimer = setInterval(() => {
      updateSendButton();
      if (Date.now() >= cooldownUntil) clearInterval(cooldownTimer);
    }, 200);
    updateSendButton();
  }
  input.addEventListener('input', updateSendButton);

  /**
   * Sends a comment as the viewer: shown at once with an outline, confirmed
   * or withdrawn when the server answers.
   * @param {string} text
   * @returns {Promise<import('./danmaku.js').SendResult|null>}
   */
  async function sendText(text) {
    const localId = `local-${++localSeq}`;
    /** @type {DanmakuMessage} */
    const msg = {
      // Until signed in the page does not know its guest id; the server
      // names guests "guest", and so does the page.
      offset: 0, prev: 0, id: localId, type: 'danmaku', user: client.user ?? { id: '', name: 'guest', role: 'guest' }, text,
      mode: style.mode, color: style.color, size: style.size, ts: Date.now(),
      videoTimeMs: null, replyTo: null, data: null,
    };
    own.sent(localId, msg, performance.now());
    if (settings.enabled) renderer.add(msg, { own: true, room });
    list.add(room, msg, 'own');
    try {
      const res = await client.send(room, {
        text,
        mode: style.mode === 'scroll' ? undefined : style.mode,
        color: style.color === '#ffffff' ? undefined : style.color,
        size: style.size === 'normal' ? undefined : style.size,
      });
      own.acked(localId, res.offset);
      renderer.relabel(localId, { id: res.msgId, offset: res.offset });
      list.relabel(localId, { id: res.msgId, offset: res.offset });
      return res;
    } catch (e) {
      own.failed(localId);
      renderer.remove(localId);
      const err = e instanceof DanmakuError ? e : new DanmakuError('unavailable', String(e));
      list.markFailed(localId, err.code);
      if (!err.id || !nackShown.has(err.id)) {
        notice((NACK_TEXT[err.code] ?? (() => err.message))({ retryAfterMs: err.retryAfterMs, max: cfg.maxTextRunes, message: err.message }), 'error', err.code);
      }
      return null;
    }
  }

  $('sendbar').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text || sendBtn.disabled) return;
    if (runes(text) > cfg.maxTextRunes) {
      notice(NACK_TEXT.too_long({ max: cfg.maxTextRunes, message: '' }), 'error', 'too_long');
      return;
    }
    input.value = '';
    cooldown(cfg.cooldownMs);
    void sendText(text);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') input.blur();
  });

  // Style picker: colours, mode, size.
  const swatches = $('swatches');
  const custom = /** @type {HTMLInputElement} */ ($('dm-color'));
  /** @param {string} c */
  function pickColor(c) {
    style.color = c.toLowerCase();
    for (const b of swatches.querySelectorAll('button')) {
      b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.color === style.color));
    }
    custom.value = style.color;
    $('style-btn').style.color = style.color;
  }
  for (const c of COLORS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'swatch';
    b.dataset.color = c;
    b.style.background = c;
    b.title = c;
    b.setAttribute('aria-label', `Colour ${c}`);
    b.addEventListener('click', () => pickColor(c));
    swatches.append(b);
  }
  custom.addEventListener('input', () => pickColor(custom.value));
  pickColor('#ffffff');
  for (const name of /** @type {const} */ (['mode', 'size'])) {
    for (const r of /** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll(`input[name="${name}"]`))) {
      r.addEventListener('change', () => {
        if (r.checked) style[name] = r.value;
      });
    }
  }

  /** Test and debugging hooks. */
  /** @type {any} */ (window).__danmaku = {
    client,
    get renderer() {
      return renderer;
    },
    list,
    stats,
    room,
    config: cfg,
    sendText,
    settings: () => settings,
  };

  client.connect();
  client.join(room).catch((e) => notice(`Cannot join ${room}: ${e.message}`, 'error', e.code));
  if (token) client.auth(token).catch((e) => notice(`Sign-in failed: ${e.message}`, 'error', e.code));
  updateSendButton();
}

// ---- small helpers ----

/**
 * @param {string} stateName
 * @param {string} text
 */
function setConn(stateName, text) {
  const el = $('st-conn');
  el.dataset.state = stateName;
  /** @type {HTMLElement} */ (el.querySelector('span')).textContent = text;
}

/** @type {any} */
let noticeTimer = null;
/**
 * Shows a message under the send bar.
 * @param {string} text
 * @param {'error'|'info'} kind
 * @param {string} [code] The protocol code, in data-code for tests and styling.
 */
function notice(text, kind, code) {
  const el = $('send-status');
  el.textContent = text;
  el.dataset.kind = kind;
  if (code) el.dataset.code = code;
  else delete el.dataset.code;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    el.textContent = '';
    delete el.dataset.code;
  }, 8000);
}

/** @type {any} */
let toastTimer = null;
/** @param {string} text */
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}

/**
 * @param {string} btnId
 * @param {string} panelId
 */
function togglePanel(btnId, panelId) {
  const btn = $(btnId);
  const panel = $(panelId);
  btn.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    btn.setAttribute('aria-expanded', String(!panel.hidden));
  });
}

/** @returns {Storage|null} */
function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled
  }
}

/**
 * Reads ?token=, keeps it for this tab, and removes it from the address bar
 * so it does not end up in bookmarks or screenshots.
 * @param {URLSearchParams} params
 * @returns {string|null}
 */
function takeToken(params) {
  const key = 'danmaku.token';
  const t = params.get('token');
  try {
    if (t) {
      sessionStorage.setItem(key, t);
      params.delete('token');
      const q = params.toString();
      history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`);
      return t;
    }
    return sessionStorage.getItem(key);
  } catch {
    return t;
  }
}

/**
 * Accepts http(s) and same-origin relative URLs only.
 * @param {string} raw
 * @returns {string|null}
 */
function safeURL(raw) {
  try {
    const u = new URL(raw, location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

main().catch((e) => {
  console.error(e);
  notice(`The page failed to start: ${e instanceof Error ? e.message : e}`, 'error');
});

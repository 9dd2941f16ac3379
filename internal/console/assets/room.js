// room.js — one room: its live feed (the node's WebSocket, through the
// project's browser client) with delete, mute and ban on every message,
// its settings, its mutes, the bans, and its history by time.

import { DanmakuClient, normalizeMessage } from './lib/danmaku.js';
import { api, feedToken, feedURL, seg } from './api.js';
import { $, h, setStatus, showError } from './dom.js';
import { DURATIONS, durationLabel, formatClock, formatCount, formatUntil, historyQuery } from './format.js';
import { poll } from './poll.js';

/** Messages the feed keeps; older ones scroll away. */
const FEED_MAX = 500;
const INFO_INTERVAL_MS = 5000;

/** @type {import('./main.js').Context|null} */
let ctx = null;
let room = '';
/** @type {DanmakuClient|null} */
let client = null;
/** @type {(() => void)|null} */
let stopInfo = null;
let wired = false;
let settingsLoaded = false;
let unseen = 0;

/**
 * @param {import('./main.js').Context} c
 * @param {string} name
 */
export function enter(c, name) {
  ctx = c;
  room = name;
  settingsLoaded = false;
  unseen = 0;
  if (!wired) wire();
  $('room-title').textContent = `#${room}`;
  $('room-online').textContent = '';
  $('room-offset').textContent = '';
  setStatus($('room-status'), '');
  $('feed').replaceChildren();
  $('history').replaceChildren();
  $('hist-count').textContent = '';
  $('feed-more').hidden = true;
  for (const id of ['settings-error', 'mutes-error', 'bans-error', 'history-error']) showError($(id), null);
  stopInfo = poll(INFO_INTERVAL_MS, refresh);
  connectFeed();
}

export function leave() {
  stopInfo?.();
  stopInfo = null;
  client?.close();
  client = null;
}

function wire() {
  wired = true;
  $('settings-form').addEventListener('submit', (e) => {
    e.preventDefault();
    saveSettings();
  });
  $('history-form').addEventListener('submit', (e) => {
    e.preventDefault();
    loadHistory();
  });
  const feed = $('feed');
  feed.addEventListener('scroll', () => {
    if (atBottom(feed)) {
      unseen = 0;
      $('feed-more').hidden = true;
    }
  });
  $('feed-more').addEventListener('click', () => {
    feed.scrollTop = feed.scrollHeight;
    unseen = 0;
    $('feed-more').hidden = true;
  });
}

/** @param {HTMLElement} el */
function atBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
}

// ---- the live feed ----

function connectFeed() {
  const live = $('room-live');
  if (!ctx?.config.ws) {
    live.dataset.state = 'none';
    live.textContent = 'no live feed: this node serves no WebSocket endpoint';
    return;
  }
  const url = feedURL(ctx.config.ws, location);
  const c = new DanmakuClient(url, { token: feedToken() ?? undefined });
  client = c;
  const mine = () => client === c;
  let opened = false;
  c.on('state', (d) => {
    if (!mine()) return;
    opened ||= d.state === 'open';
    if (d.state === 'reconnecting' && !opened && ctx?.config.ws.startsWith(':')) {
      // The feed is on the public port, another origin than this page's:
      // the gateway refuses it unless --allowed-origins lists this page.
      setStatus($('room-status'), `The live feed at ${url} does not connect. This console is on the internal address: add ${location.origin} to --allowed-origins.`, true);
    }
    live.dataset.state = d.state;
    live.textContent =
      d.state === 'open' ? 'live' : d.state === 'closed' ? `feed closed${d.code ? ` (${d.code}${d.reason ? ` ${d.reason}` : ''})` : ''}` : `${d.state}…`;
  });
  c.on('danmaku', ({ room: r, message }) => {
    if (mine() && r === room) addToFeed(message);
  });
  c.on('delete', ({ room: r, ids }) => {
    if (mine() && r === room) removeMessages(ids);
  });
  c.on('online', ({ room: r, count }) => {
    if (mine() && r === room) $('room-online').textContent = `${formatCount(count)} online`;
  });
  let joined = false;
  c.on('joined', ({ room: r }) => {
    if (mine() && r === room) joined = true;
  });
  c.on('error', ({ code, message }) => {
    if (!mine()) return;
    setStatus($('room-status'), `Live feed: ${message || code}`, true);
    if (!joined && (code === 'forbidden' || code === 'too_many_rooms')) {
      // The server refused the join (the token does not allow the room).
      live.dataset.state = 'refused';
      live.textContent = `feed refused: ${message || code}`;
    }
  });
  c.connect();
  c.join(room).catch((/** @type {unknown} */ e) => {
    if (!mine()) return;
    live.dataset.state = 'refused';
    live.textContent = `feed refused: ${e instanceof Error ? e.message : e}`;
  });
}

/** @param {import('./lib/danmaku.js').DanmakuMessage} m */
function addToFeed(m) {
  $('room-offset').textContent = `offset ${formatCount(m.offset)}`;
  const feed = $('feed');
  const follow = atBottom(feed);
  feed.append(messageRow(m));
  while (feed.childElementCount > FEED_MAX) feed.firstElementChild?.remove();
  if (follow) {
    feed.scrollTop = feed.scrollHeight;
  } else {
    unseen++;
    const more = $('feed-more');
    more.textContent = `${unseen} new ↓`;
    more.hidden = false;
  }
}

/**
 * Takes deleted messages off the feed and the history.
 * @param {string[]} ids
 */
function removeMessages(ids) {
  for (const id of ids) {
    for (const li of document.querySelectorAll('#feed li.msg, #history li.msg')) {
      if (/** @type {HTMLElement} */ (li).dataset.id === id) li.remove();
    }
  }
}

// ---- one message and what can be done to it ----

/**
 * A message as a row: time, author (name and public id), text, and the
 * actions. Everything from the message is text.
 * @param {import('./lib/danmaku.js').DanmakuMessage} m
 */
function messageRow(m) {
  const user = m.user;
  const li = h(
    'li',
    { class: `msg${m.type !== 'danmaku' ? ` type-${m.type}` : ''}`, dataset: { offset: String(m.offset), id: m.id, user: user?.id ?? '' } },
    h('time', { class: 'time', text: formatClock(m.ts), title: m.ts ? new Date(m.ts).toISOString() : null }),
    h('span', { class: 'author' }, h('span', { class: 'name', text: user ? user.name || 'user' : 'system' }), user ? h('span', { class: 'pid', text: user.id }) : null),
    h('span', { class: 'text' }, m.type !== 'danmaku' ? h('span', { class: 'type', text: m.type }) : null, m.text),
  );
  if (m.type === 'delete') return li;
  const acts = h('span', { class: 'actions' });
  acts.append(h('button', { type: 'button', class: 'act act-delete', title: 'Delete this message for everyone', text: 'Delete', onclick: () => deleteMessage(m, li) }));
  if (user) {
    acts.append(
      h('button', { type: 'button', class: 'act act-mute', title: 'Mute the author in this room', text: 'Mute', onclick: () => openForm(li, 'mute', user.id) }),
      h('button', { type: 'button', class: 'act act-ban', title: 'Ban the author everywhere', text: 'Ban', onclick: () => openForm(li, 'ban', user.id) }),
    );
  }
  li.append(acts);
  return li;
}

/**
 * @param {import('./lib/danmaku.js').DanmakuMessage} m
 * @param {HTMLElement} li
 */
async function deleteMessage(m, li) {
  li.classList.add('pending');
  try {
    await api('DELETE', `/v1/rooms/${seg(room)}/messages/${m.offset}`);
    // The row goes when the delete notice comes back through the feed, as
    // it does for every viewer; a history row goes at once.
    if (li.closest('#history')) li.remove();
    setStatus($('room-status'), `Deleted message ${m.offset}${m.user ? ` by ${m.user.id}` : ''}.`);
  } catch (e) {
    li.classList.remove('pending');
    setStatus($('room-status'), errorText(e), true);
  }
}

/**
 * Opens the mute or ban form under a message, closing any other.
 * @param {HTMLElement} li
 * @param {'mute'|'ban'} action
 * @param {string} publicId
 */
function openForm(li, action, publicId) {
  for (const f of document.querySelectorAll('form.act-form')) f.remove();
  const select = h('select', { class: 'act-seconds', 'aria-label': 'for how long' });
  for (const d of DURATIONS) {
    select.append(h('option', { value: String(d.seconds), text: d.label, selected: d.seconds === (action === 'mute' ? 600 : 86400) }));
  }
  const reason = h('input', { class: 'act-reason', maxlength: '1024', placeholder: 'reason (shown to the user)', 'aria-label': 'reason' });
  const form = h(
    'form',
    { class: `act-form act-form-${action}`, autocomplete: 'off' },
    h('span', { class: 'act-what', text: `${action === 'mute' ? 'Mute in this room' : 'Ban everywhere'}: ${publicId}` }),
    select,
    reason,
    h('button', { type: 'submit', class: 'act-confirm', text: action === 'mute' ? 'Mute' : 'Ban' }),
    h('button', { type: 'button', class: 'quiet', text: 'Cancel', onclick: () => form.remove() }),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const seconds = Number(/** @type {HTMLSelectElement} */ (select).value);
    const why = /** @type {HTMLInputElement} */ (reason).value.trim();
    const ok = await moderate(action, publicId, seconds, why);
    if (ok) form.remove();
  });
  li.append(form);
  /** @type {HTMLInputElement} */ (reason).focus();
}

/**
 * Mutes (in this room) or bans a user.
 * @param {'mute'|'ban'} action
 * @param {string} publicId
 * @param {number} seconds
 * @param {string} reason
 * @returns {Promise<boolean>} whether it worked
 */
async function moderate(action, publicId, seconds, reason) {
  const body = { publicId, seconds, reason: reason || undefined };
  try {
    if (action === 'mute') {
      await api('POST', `/v1/rooms/${seg(room)}/mutes`, body);
      setStatus($('room-status'), `Muted ${publicId} in #${room} for ${durationLabel(seconds)}.`);
      loadMutes();
    } else {
      await api('POST', '/v1/bans', body);
      setStatus($('room-status'), `Banned ${publicId} for ${durationLabel(seconds)}.`);
      loadBans();
    }
    return true;
  } catch (e) {
    setStatus($('room-status'), errorText(e), true);
    return false;
  }
}

/** @param {unknown} e */
function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

// ---- room state, settings, mutes and bans ----

async function refresh() {
  await Promise.all([loadInfo(), loadMutes(), loadBans()]);
}

async function loadInfo() {
  const r = room;
  try {
    const info = await api('GET', `/v1/rooms/${seg(r)}`);
    if (r !== room) return;
    $('room-online').textContent = `${formatCount(info.online)} online`;
    $('room-offset').textContent = `offset ${formatCount(info.offset)}`;
    if (!settingsLoaded) {
      settingsLoaded = true;
      fillSettings(info.settings);
    }
    showError($('settings-error'), null);
  } catch (e) {
    if (r === room) showError($('settings-error'), e);
  }
}

/** @param {{slowModeSeconds: number, closed: boolean, maxTextRunes: number}} s */
function fillSettings(s) {
  /** @type {HTMLInputElement} */ ($('set-slow')).value = String(s.slowModeSeconds ?? 0);
  /** @type {HTMLInputElement} */ ($('set-max')).value = String(s.maxTextRunes ?? 0);
  /** @type {HTMLInputElement} */ ($('set-closed')).checked = !!s.closed;
}

async function saveSettings() {
  const body = {
    slowModeSeconds: Number(/** @type {HTMLInputElement} */ ($('set-slow')).value || 0),
    maxTextRunes: Number(/** @type {HTMLInputElement} */ ($('set-max')).value || 0),
    closed: /** @type {HTMLInputElement} */ ($('set-closed')).checked,
  };
  try {
    const s = await api('PUT', `/v1/rooms/${seg(room)}/settings`, body);
    fillSettings(s);
    showError($('settings-error'), null);
    setStatus($('room-status'), `Settings of #${room} saved.`);
  } catch (e) {
    showError($('settings-error'), e);
  }
}

async function loadMutes() {
  const r = room;
  try {
    const { mutes } = await api('GET', `/v1/rooms/${seg(r)}/mutes`);
    if (r !== room) return;
    showError($('mutes-error'), null);
    people($('mutes'), mutes, 'Unmute', async (m) => {
      await api('DELETE', `/v1/rooms/${seg(r)}/mutes/${seg(m.publicId)}`);
      setStatus($('room-status'), `Unmuted ${m.publicId} in #${r}.`);
      loadMutes();
    });
  } catch (e) {
    if (r === room) showError($('mutes-error'), e);
  }
}

async function loadBans() {
  try {
    const { bans } = await api('GET', '/v1/bans');
    showError($('bans-error'), null);
    people($('bans'), bans, 'Unban', async (b) => {
      await api('DELETE', `/v1/bans/${seg(b.publicId)}`);
      setStatus($('room-status'), `Unbanned ${b.publicId}.`);
      loadBans();
    });
  } catch (e) {
    $('bans').replaceChildren();
    showError($('bans-error'), e);
  }
}

/**
 * Lists mutes or bans, each with a button that lifts it.
 * @param {HTMLElement} ul
 * @param {any[]} list
 * @param {string} label
 * @param {(entry: any) => Promise<void>} lift
 */
function people(ul, list, label, lift) {
  const now = Date.now();
  ul.replaceChildren(
    ...list.map((m) =>
      h(
        'li',
        { dataset: { user: m.publicId } },
        h('span', { class: 'pid', text: m.publicId }),
        h('span', { class: 'until', text: formatUntil(m.until, now) }),
        m.reason ? h('span', { class: 'reason', text: m.reason }) : null,
        h('span', { class: 'by', text: `by ${m.by || '?'}` }),
        h('button', {
          type: 'button',
          class: 'quiet',
          text: label,
          onclick: () => lift(m).catch((e) => setStatus($('room-status'), errorText(e), true)),
        }),
      ),
    ),
  );
  if (!list.length) ul.append(h('li', { class: 'muted', text: 'none' }));
}

// ---- history ----

async function loadHistory() {
  const q = historyQuery(
    /** @type {HTMLInputElement} */ ($('hist-from')).value,
    /** @type {HTMLInputElement} */ ($('hist-to')).value,
    /** @type {HTMLInputElement} */ ($('hist-limit')).value,
  );
  if ('error' in q) {
    showError($('history-error'), q.error);
    return;
  }
  try {
    const r = await api('GET', `/v1/rooms/${seg(room)}/messages?${q.query}`);
    showError($('history-error'), null);
    const msgs = (r.messages ?? []).map(normalizeMessage);
    $('history').replaceChildren(...msgs.map(messageRow));
    $('hist-count').textContent = `${formatCount(msgs.length)} messages`;
  } catch (e) {
    showError($('history-error'), e);
  }
}

// main.js — the console's shell: sign-in, the header, and the screens by
// the address's hash (#/overview, #/rooms, #/rooms/<room>, #/filter).

import { api, setCredential } from './api.js';
import { $, showError } from './dom.js';
import * as overview from './overview.js';
import * as rooms from './rooms.js';
import * as room from './room.js';
import * as filter from './filter.js';

/**
 * Who is signed in, as GET /v1/whoami says.
 * @typedef {object} Session
 * @property {'key'|'token'} kind
 * @property {string} role      api, admin or moderator
 * @property {string} [key]     the API key's fingerprint
 * @property {string} [publicId]
 * @property {string} [name]
 * @property {string[]|null} [rooms]  the token's rooms claim
 */

/**
 * What every screen gets.
 * @typedef {object} Context
 * @property {Session} session
 * @property {{ws: string}} config
 * @property {boolean} siteWide  may act across rooms (the overview, bans, the filter)
 */

/**
 * @typedef {object} Screen
 * @property {(ctx: Context, arg: string) => void} enter
 * @property {() => void} leave
 */

/** @type {Context|null} */
let ctx = null;
/** @type {Screen|null} */
let current = null;

async function main() {
  // The form is taken over before anything is awaited: a submit while
  // config.json is still on its way must not become a native form
  // submission (a page reload with the credential in the URL); it waits
  // for the configuration instead.
  const config = loadConfig();
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    config.then(signIn, () => {}); // a failed load is reported below
  });
  $('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  $('credential').focus();
  await config;
}

/** @returns {Promise<{ws: string}>} */
async function loadConfig() {
  const resp = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
  if (!resp.ok) throw new Error(`config.json: HTTP ${resp.status}`);
  return resp.json();
}

/** @param {{ws: string}} config */
async function signIn(config) {
  const input = /** @type {HTMLInputElement} */ ($('credential'));
  const btn = /** @type {HTMLButtonElement} */ ($('signin-btn'));
  const value = input.value.trim();
  if (!value) return;
  btn.disabled = true;
  showError($('signin-error'), null);
  setCredential(value);
  try {
    /** @type {Session} */
    const session = await api('GET', '/v1/whoami');
    const siteWide = session.kind === 'key' || session.role === 'admin' || session.rooms == null;
    ctx = { session, config, siteWide };
    input.value = '';
    showSession(session, siteWide);
    route();
  } catch (e) {
    setCredential(null);
    showError($('signin-error'), e);
  } finally {
    btn.disabled = false;
  }
}

function signOut() {
  current?.leave();
  current = null;
  ctx = null;
  setCredential(null);
  $('nav').hidden = true;
  $('who').hidden = true;
  history.replaceState(null, '', location.pathname);
  show('signin');
  $('credential').focus();
}

/**
 * @param {Session} s
 * @param {boolean} siteWide
 */
function showSession(s, siteWide) {
  let who;
  if (s.kind === 'key') {
    who = `API key ${s.key ?? ''}`;
  } else {
    who = `${s.role} ${s.name ? `${s.name} ` : ''}(${s.publicId ?? ''})`;
    if (s.rooms != null) who += ` · rooms: ${s.rooms.length ? s.rooms.join(', ') : 'none'}`;
  }
  $('who-text').textContent = who;
  for (const a of document.querySelectorAll('#nav [data-nav]')) {
    const el = /** @type {HTMLElement} */ (a);
    el.hidden = !siteWide && el.dataset.nav !== 'rooms';
  }
  $('nav').hidden = false;
  $('who').hidden = false;
}

/** Shows the screen the hash names. */
function route() {
  if (!ctx) {
    show('signin');
    return;
  }
  const hash = location.hash.replace(/^#/, '') || (ctx.siteWide ? '/overview' : '/rooms');
  /** @type {[Screen, string, string]} */
  let next;
  const m = /^\/rooms\/(.+)$/.exec(hash);
  if (m) next = [room, 'room', safeDecode(m[1])];
  else if (hash === '/rooms') next = [rooms, 'rooms', ''];
  else if (hash === '/filter') next = [filter, 'filter', ''];
  else next = [overview, 'overview', ''];
  current?.leave();
  current = next[0];
  show(next[1]);
  current.enter(ctx, next[2]);
}

/** @param {string} s */
function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** @param {string} name */
function show(name) {
  document.body.dataset.screen = name;
  for (const s of document.querySelectorAll('.screen')) {
    const el = /** @type {HTMLElement} */ (s);
    el.hidden = el.id !== `screen-${name}`;
  }
  for (const a of document.querySelectorAll('#nav [data-nav]')) {
    const el = /** @type {HTMLElement} */ (a);
    el.classList.toggle('active', el.dataset.nav === name || (name === 'room' && el.dataset.nav === 'rooms'));
  }
}

main().catch((e) => {
  showError($('signin-error'), `The console failed to start: ${e instanceof Error ? e.message : e}`);
});

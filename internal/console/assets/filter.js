// filter.js — the keyword filter: its size (GET /v1/filter), a test box
// (POST /v1/filter/test) and a reload (POST /v1/filter/reload).

import { api } from './api.js';
import { $, showError, setStatus } from './dom.js';
import { formatCount } from './format.js';

let wired = false;

/** @param {import('./main.js').Context} _ctx */
export function enter(_ctx) {
  if (!wired) {
    wired = true;
    $('filter-test').addEventListener('submit', (e) => {
      e.preventDefault();
      check();
    });
    $('filter-reload').addEventListener('click', reload);
  }
  load();
}

export function leave() {}

async function load() {
  try {
    const info = await api('GET', '/v1/filter');
    showError($('filter-error'), null);
    show(info.words, info.file, info.mode);
  } catch (e) {
    showError($('filter-error'), e);
  }
}

/**
 * @param {number} words
 * @param {string} [file]
 * @param {string} [mode]  reject or mask
 */
function show(words, file, mode) {
  $('filter-words').textContent = formatCount(words);
  if (file !== undefined) $('filter-file').textContent = file || 'none (no --blocked-words-file)';
  if (mode !== undefined) $('filter-mode').textContent = mode;
}

async function check() {
  const text = /** @type {HTMLTextAreaElement} */ ($('filter-text')).value;
  const out = $('filter-result');
  try {
    const r = await api('POST', '/v1/filter/test', { text });
    showError($('filter-test-error'), null);
    out.hidden = false;
    out.dataset.pass = String(!!r.pass);
    out.textContent = verdict(r);
    show(r.words, undefined, r.mode);
  } catch (e) {
    out.hidden = true;
    showError($('filter-test-error'), e);
  }
}

async function reload() {
  const btn = /** @type {HTMLButtonElement} */ ($('filter-reload'));
  btn.disabled = true;
  try {
    const r = await api('POST', '/v1/filter/reload');
    showError($('filter-reload-error'), null);
    setStatus($('filter-reload-result'), `Reloaded: ${formatCount(r.words)} ${r.words === 1 ? 'word' : 'words'}.`);
    show(r.words);
  } catch (e) {
    setStatus($('filter-reload-result'), '');
    showError($('filter-reload-error'), e);
  } finally {
    btn.disabled = false;
  }
}

/**
 * What the send pipeline would do with the text.
 * @param {{pass: boolean, masked: string, mode: string}} r
 */
function verdict(r) {
  if (r.pass) return 'Passes: it holds no blocked word.';
  if (r.mode === 'mask') return `Goes out masked: ${r.masked}`;
  return `Refused: a viewer sending it gets blocked_content. Masked, it would read: ${r.masked}`;
}

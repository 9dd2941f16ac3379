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
    show(info.words, info.file);
  } catch (e) {
    showError($('filter-error'), e);
  }
}

/**
 * @param {number} words
 * @param {string} [file]
 */
function show(words, file) {
  $('filter-words').textContent = formatCount(words);
  if (file !== undefined) $('filter-file').textContent = file || 'none (no --blocked-words-file)';
}

async function check() {
  const text = /** @type {HTMLTextAreaElement} */ ($('filter-text')).value;
  const out = $('filter-result');
  try {
    const r = await api('POST', '/v1/filter/test', { text });
    showError($('filter-test-error'), null);
    out.hidden = false;
    out.dataset.pass = String(!!r.pass);
    out.textContent = r.pass
      ? 'Passes: no blocked word.'
      : `Blocked. In mask mode it would read: ${r.masked ?? ''}`;
    show(r.words);
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
    setStatus($('filter-reload-result'), `Reloaded: ${formatCount(r.words)} words.`);
    show(r.words);
  } catch (e) {
    setStatus($('filter-reload-result'), '');
    showError($('filter-reload-error'), e);
  } finally {
    btn.disabled = false;
  }
}

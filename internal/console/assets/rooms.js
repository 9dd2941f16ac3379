// rooms.js — the busiest rooms (GET /v1/rooms), with search and sort,
// refreshed every two seconds. A moderator limited to some rooms sees
// only those.

import { api } from './api.js';
import { $, h, showError } from './dom.js';
import { formatCount, formatRate } from './format.js';
import { poll } from './poll.js';

const INTERVAL_MS = 2000;
const ROOM_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** @type {(() => void)|null} */
let stop = null;
let wired = false;
/** @type {ReturnType<typeof setTimeout>|null} */
let typing = null;

/** @param {import('./main.js').Context} _ctx */
export function enter(_ctx) {
  if (!wired) {
    wired = true;
    $('rooms-q').addEventListener('input', () => {
      if (typing !== null) clearTimeout(typing);
      typing = setTimeout(restart, 250);
    });
    $('rooms-sort').addEventListener('change', restart);
    $('rooms-open').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = /** @type {HTMLInputElement} */ ($('rooms-open-name'));
      const name = input.value.trim();
      if (!ROOM_RE.test(name)) {
        showError($('rooms-error'), 'A room name is 1–64 of A–Z, a–z, 0–9 and _ . : -');
        return;
      }
      input.value = '';
      location.hash = `#/rooms/${encodeURIComponent(name)}`;
    });
  }
  restart();
}

export function leave() {
  stop?.();
  stop = null;
  if (typing !== null) clearTimeout(typing);
  typing = null;
}

function restart() {
  stop?.();
  stop = poll(INTERVAL_MS, refresh);
}

async function refresh() {
  const q = new URLSearchParams({
    q: /** @type {HTMLInputElement} */ ($('rooms-q')).value.trim(),
    sort: /** @type {HTMLSelectElement} */ ($('rooms-sort')).value,
    limit: '50',
  });
  let data;
  try {
    data = await api('GET', `/v1/rooms?${q}`);
  } catch (e) {
    showError($('rooms-error'), e);
    return;
  }
  showError($('rooms-error'), null);
  const list = Array.isArray(data.rooms) ? data.rooms : [];
  $('rooms-total').textContent = `${formatCount(data.total ?? list.length)} rooms`;
  const body = /** @type {HTMLElement} */ ($('rooms-table').querySelector('tbody'));
  body.replaceChildren(
    ...list.map((r) =>
      h(
        'tr',
        { dataset: { room: String(r.room) } },
        h('td', {}, h('a', { href: `#/rooms/${encodeURIComponent(String(r.room))}`, text: String(r.room) })),
        h('td', { class: 'num', text: formatCount(r.online) }),
        h('td', { class: 'num', text: formatRate(r.messagesPerSec) }),
      ),
    ),
  );
  if (!list.length) body.append(h('tr', {}, h('td', { class: 'muted', colspan: '3', text: 'No rooms.' })));
}

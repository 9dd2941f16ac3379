// overview.js — the nodes and their totals (GET /v1/nodes), polled every
// second, with charts of the last five minutes.

import { api } from './api.js';
import { $, h, svg, showError } from './dom.js';
import { Series, linePath, niceCeil } from './chart.js';
import { byCount, formatAgo, formatBytes, formatCount, formatMs, formatRate } from './format.js';
import { poll } from './poll.js';

const INTERVAL_MS = 1000;
const WINDOW_MS = 5 * 60 * 1000;
const CHART_W = 300;
const CHART_H = 64;

/**
 * The charted quantities, each a field of the totals.
 * @type {{field: string, label: string, format: (v: number|null) => string}[]}
 */
const CHARTS = [
  { field: 'messagesInPerSec', label: 'messages in/s', format: formatRate },
  { field: 'deliveriesPerSec', label: 'deliveries/s', format: formatRate },
  { field: 'bytesOutPerSec', label: 'bytes out/s', format: (v) => `${formatBytes(v)}/s` },
  { field: 'publishToWriteP99Ms', label: 'publish → write p99', format: formatMs },
];

/** The series outlive the screen, so that coming back shows the past minutes. */
const series = new Map(CHARTS.map((c) => [c.field, new Series(Math.ceil(WINDOW_MS / INTERVAL_MS) + 5)]));

/** @type {(() => void)|null} */
let stop = null;

/** @param {import('./main.js').Context} _ctx */
export function enter(_ctx) {
  buildCharts();
  stop = poll(INTERVAL_MS, refresh);
}

export function leave() {
  stop?.();
  stop = null;
}

async function refresh() {
  let data;
  try {
    data = await api('GET', '/v1/nodes');
  } catch (e) {
    showError($('ov-error'), e);
    return;
  }
  showError($('ov-error'), null);
  const now = Date.now();
  const at = Date.parse(data.at) || now;
  const t = data.totals ?? {};
  $('ov-at').textContent = `as of ${new Date(at).toLocaleTimeString()}`;
  $('ov-totals').replaceChildren(
    card('nodes', formatCount(t.nodes)),
    card('connections', formatCount(t.connections)),
    card('rooms', formatCount(t.rooms)),
    card('messages in/s', formatRate(t.messagesInPerSec)),
    card('deliveries/s', formatRate(t.deliveriesPerSec)),
    card('bytes out/s', `${formatBytes(t.bytesOutPerSec)}/s`),
    card('p50 publish → write', formatMs(t.publishToWriteP50Ms)),
    card('p99 publish → write', formatMs(t.publishToWriteP99Ms)),
  );
  reasons($('ov-drops'), t.drops);
  reasons($('ov-closes'), t.closes);
  nodes(data.nodes ?? [], now);
  for (const c of CHARTS) series.get(c.field)?.push(at, t[c.field]);
  drawCharts(at);
}

/**
 * @param {string} label
 * @param {string} value
 */
function card(label, value) {
  return h('div', { class: 'card', dataset: { card: label } }, h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }));
}

/**
 * @param {HTMLElement} table
 * @param {Record<string, number>|undefined} counts
 */
function reasons(table, counts) {
  const rows = byCount(counts).map(([reason, n]) => h('tr', {}, h('th', { text: reason }), h('td', { class: 'num', text: formatCount(n) })));
  table.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { class: 'muted', text: 'none' }))]));
}

/**
 * @param {any[]} list
 * @param {number} now
 */
function nodes(list, now) {
  const body = /** @type {HTMLElement} */ ($('ov-nodes').querySelector('tbody'));
  body.replaceChildren(
    ...list.map((n) =>
      h(
        'tr',
        { dataset: { node: String(n.id ?? '') } },
        h('td', { class: 'mono', text: n.id ?? '' }),
        h('td', { text: n.role ?? '' }),
        h('td', { class: 'mono', text: n.addr ?? '' }),
        h('td', { text: n.version ?? '' }),
        h('td', { text: formatAgo(n.startedAt, now) }),
        h('td', { text: formatAgo(n.seenAt, now) }),
        h('td', { class: 'num', text: formatCount(n.connections) }),
        h('td', { class: 'num', text: formatCount(n.rooms) }),
        h('td', { class: 'num', text: formatRate(n.messagesInPerSec) }),
        h('td', { class: 'num', text: formatRate(n.deliveriesPerSec) }),
        h('td', { class: 'num', text: `${formatBytes(n.bytesOutPerSec)}/s` }),
        h('td', { class: 'num', text: formatMs(n.publishToWriteP50Ms) }),
        h('td', { class: 'num', text: formatMs(n.publishToWriteP99Ms) }),
        h('td', { class: n.natsConnected ? 'ok' : 'bad', text: n.natsConnected ? 'connected' : 'disconnected' }),
      ),
    ),
  );
}

function buildCharts() {
  const box = $('ov-charts');
  if (box.childElementCount) return;
  for (const c of CHARTS) {
    const plot = svg('svg', { viewBox: `0 0 ${CHART_W} ${CHART_H}`, preserveAspectRatio: 'none', class: 'plot', role: 'img', 'aria-label': c.label });
    plot.append(svg('path', { class: 'line', d: '' }));
    box.append(
      h(
        'figure',
        { class: 'chart', dataset: { chart: c.field } },
        h('figcaption', {}, h('span', { class: 'label', text: c.label }), h('span', { class: 'now', text: '—' })),
        plot,
        h('div', { class: 'axis' }, h('span', { class: 'top', text: '' }), h('span', { class: 'span', text: '5 min' })),
      ),
    );
  }
}

/** @param {number} t1 the newest sample's time */
function drawCharts(t1) {
  for (const c of CHARTS) {
    const s = series.get(c.field);
    const fig = $('ov-charts').querySelector(`[data-chart="${c.field}"]`);
    if (!s || !fig) continue;
    const max = niceCeil(s.max());
    fig.querySelector('path')?.setAttribute('d', linePath(s.samples, { width: CHART_W, height: CHART_H, t0: t1 - WINDOW_MS, t1, max }));
    /** @type {HTMLElement} */ (fig.querySelector('.now')).textContent = c.format(s.last());
    /** @type {HTMLElement} */ (fig.querySelector('.top')).textContent = `max ${c.format(max)}`;
    /** @type {HTMLElement} */ (fig).dataset.samples = String(s.samples.length);
  }
}

// The scripted WebSocket the client tests play the server through, and the
// helpers they share.

import { DanmakuClient } from '../danmaku.js';

/** A WebSocket stand-in the test plays the server through. */
export class FakeWS {
  /** @type {FakeWS[]} */
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.sent = [];
    this.bufferedAmount = 0;
    this.closedWith = null;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeWS.all.push(this);
  }
  send(s) {
    this.sent.push(JSON.parse(s));
  }
  close(code, reason) {
    this.closedWith = { code, reason };
  }
  // The server side.
  open() {
    this.onopen?.({});
  }
  recv(obj) {
    this.onmessage?.({ data: JSON.stringify(obj) });
  }
  drop(code = 1006, reason = '') {
    this.onclose?.({ code, reason, wasClean: false });
  }
  ops(op) {
    return this.sent.filter((m) => m.op === op);
  }
}

/** Polls cond every millisecond, up to a bound. */
export async function until(cond, what, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * A client on a fresh fake socket, with fast timers.
 * @param {object} [opts] Client options.
 * @param {string|string[]} [url]
 */
export function setup(opts = {}, url = 'ws://test/ws') {
  FakeWS.all = [];
  const client = new DanmakuClient(url, {
    WebSocket: /** @type {any} */ (FakeWS),
    minReconnectMs: 1,
    maxReconnectMs: 5,
    watchNetwork: false,
    ...opts,
  });
  const events = [];
  for (const type of ['state', 'danmaku', 'delete', 'batch', 'online', 'reset', 'nack', 'ack', 'error', 'broadcast', 'user', 'joined']) {
    client.on(type, (d) => events.push({ type, ...d }));
  }
  const last = () => FakeWS.all[FakeWS.all.length - 1];
  return { client, events, last };
}

/** Opens the latest socket and answers its join for room. */
export function accept(ws, room, { epoch = 'e1', offset = 0, recovered = false, online = 1 } = {}) {
  ws.open();
  ws.recv({ op: 'joined', room, epoch, offset, online, recovered });
}

export const msg = (offset, prev, extra = {}) => ({ offset, prev, id: `m${offset}`, type: 'danmaku', text: `t${offset}`, ts: 1, ...extra });

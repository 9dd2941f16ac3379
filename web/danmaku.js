// danmaku.js — the browser client for the danmaku wire protocol, version 1.
//
//   import { DanmakuClient } from '/danmaku.js';
//   const client = new DanmakuClient('wss://example.com/ws');
//   // or several nodes: new DanmakuClient(['wss://a.example.com/ws', 'wss://b.example.com/ws'])
//   client.on('danmaku', ({ room, message }) => show(message));
//   client.connect();
//   await client.join('lobby');
//   await client.send('lobby', { text: 'hello' });
//
// It keeps one WebSocket open: heartbeats, reconnects with jittered backoff,
// rejoins every room with `since` so that no message is lost or shown twice,
// matches acks to sends, and queues sends while the socket is congested.
// No dependencies; its two helpers (backoff.js, resume.js) are served next
// to it. See docs/web.md for the full API.

import { Backoff, ServerList, retryHintMs } from './backoff.js';
import { ResumeState } from './resume.js';

/** The WebSocket subprotocol the client offers. */
export const SUBPROTOCOL = 'danmaku.v1';

/** Every nack code of the protocol. */
export const NACK_CODES = Object.freeze([
  'unauthorized',
  'forbidden',
  'muted',
  'rate_limited',
  'slow_mode',
  'too_long',
  'blocked_content',
  'duplicate',
  'room_closed',
  'not_joined',
  'bad_request',
  'unavailable',
]);

const ROOM_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * A CustomEvent, or where there is none (Node 18) an Event with a detail.
 * @type {(type: string, detail: any) => Event}
 */
const makeEvent =
  typeof CustomEvent === 'function'
    ? (type, detail) => new CustomEvent(type, { detail })
    : (type, detail) => Object.assign(new Event(type), { detail });

/**
 * @typedef {object} DanmakuUser
 * @property {string} id   Opaque, stable.
 * @property {string} [name]
 * @property {string} [role] viewer, moderator, admin, guest…
 */

/**
 * A message as the server sends it, with protocol defaults applied.
 * Room messages have an offset; user and broadcast messages have offset 0.
 * @typedef {object} DanmakuMessage
 * @property {number} offset
 * @property {number} prev
 * @property {string} id
 * @property {string} type   danmaku, system, gift, delete, or an operator type.
 * @property {DanmakuUser|null} user
 * @property {string} text   Plain text: render it as text, never as HTML.
 * @property {'scroll'|'top'|'bottom'|'reverse'|string} mode
 * @property {string} color  #rrggbb
 * @property {'small'|'normal'|'large'|string} size
 * @property {number} ts     Unix ms when the server accepted it.
 * @property {number|null} videoTimeMs
 * @property {string|null} replyTo
 * @property {any} data     Free JSON; for type delete, `{ids: string[]}`.
 */

/**
 * What {@link DanmakuClient#send} takes.
 * @typedef {object} Outgoing
 * @property {string} text
 * @property {string} [mode]
 * @property {string} [color]
 * @property {string} [size]
 * @property {number} [videoTimeMs]
 * @property {string} [replyTo]
 */

/**
 * What a successful send resolves with.
 * @typedef {object} SendResult
 * @property {string} id      The client-chosen id of the send.
 * @property {number} offset  Where the message was stored in the room.
 * @property {string} msgId   The server-assigned message id.
 */

/**
 * @typedef {object} JoinResult
 * @property {string} room
 * @property {string} epoch
 * @property {number} offset
 * @property {number} online
 * @property {boolean} recovered
 * @property {boolean} resumed  The join was a resume (it carried `since`).
 */

/**
 * @typedef {'connecting'|'open'|'reconnecting'|'closed'} ConnState
 */

/**
 * Detail of the `state` event.
 * @typedef {object} StateDetail
 * @property {ConnState} state
 * @property {ConnState} previous
 * @property {number} attempt   Reconnect attempts since the last good connection.
 * @property {string} url       The server URL being connected to, connected to, or of the next attempt.
 * @property {number|null} [delayMs]  reconnecting: the wait before the next attempt; null while offline.
 * @property {number|null} [retryAt]  reconnecting: Date.now() value of the next attempt.
 * @property {boolean} [offline]      reconnecting: paused until the browser is back online.
 * @property {number} [code]          closing code of the connection that ended.
 * @property {string} [reason]
 */

/**
 * Options of {@link DanmakuClient}. Every field is optional.
 * @typedef {object} ClientOptions
 * @property {string} [token]            Sent as `auth` on every connection.
 * @property {string[]} [protocols]      Subprotocols offered; default ['danmaku.v1'].
 * @property {number} [pingIntervalMs=25000]   Application ping period.
 * @property {number} [pongTimeoutMs=10000]    Silence after a ping that marks the connection dead.
 * @property {number} [connectTimeoutMs=10000] Give up a handshake after this long.
 * @property {number} [sendTimeoutMs=15000]    Reject a send not answered within this long.
 * @property {number} [minReconnectMs=500]
 * @property {number} [maxReconnectMs=20000]
 * @property {boolean} [reconnect=true]        Reconnect automatically when the close code allows it.
 * @property {number} [maxBufferedBytes=65536] Hold sends while the socket buffers more than this.
 * @property {number} [maxQueuedSends=100]     Reject sends beyond this many waiting.
 * @property {boolean} [watchNetwork=true]     Follow the browser's online/offline events.
 * @property {typeof WebSocket} [WebSocket]    Constructor to use (tests, Node).
 * @property {() => number} [random]           Randomness for backoff jitter, send ids and the first URL.
 */

/**
 * A rejected send or a failed request: a protocol code (a nack code, or
 * `closed` when the client was closed) and, for rate limits, when to retry.
 */
export class DanmakuError extends Error {
  /**
   * @param {string} code
   * @param {string} [message]
   * @param {number} [retryAfterMs]
   * @param {string} [id] The client id of the send it answers, if any.
   */
  constructor(code, message, retryAfterMs, id) {
    super(message || code);
    this.name = 'DanmakuError';
    /** @type {string} */
    this.code = code;
    /** @type {number|undefined} */
    this.retryAfterMs = retryAfterMs;
    /** @type {string|undefined} */
    this.id = id;
  }
}

/**
 * Whether a client should reconnect after a close with code:
 * 4500–4999 forbid it, everything else (4000–4499, abnormal closes,
 * standard codes) allows it.
 * @param {number} code
 */
export function reconnectable(code) {
  return code < 4500 || code > 4999;
}

/**
 * The WebSocket URL of path on the server that served the page:
 * ws://host/ws for http, wss://host/ws for https.
 * @param {string} [path='/ws']
 * @param {{href: string}} [loc=location]
 */
export function wsURL(path = '/ws', loc = globalThis.location) {
  const u = new URL(path, loc.href);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.toString();
}

/**
 * Applies the protocol's defaults to a message received from the server.
 * @param {any} m
 * @returns {DanmakuMessage}
 */
export function normalizeMessage(m) {
  m.offset = Number(m.offset) || 0;
  m.prev = Number(m.prev) || 0;
  m.id = String(m.id ?? '');
  m.type = m.type || 'danmaku';
  m.user = m.user ?? null;
  m.text = typeof m.text === 'string' ? m.text : '';
  m.mode = m.mode || 'scroll';
  m.color = m.color || '#ffffff';
  m.size = m.size || 'normal';
  m.videoTimeMs = m.videoTimeMs ?? null;
  m.replyTo = m.replyTo ?? null;
  m.data = m.data ?? null;
  return m;
}

/**
 * @typedef {object} PendingSend
 * @property {string} id
 * @property {string} room
 * @property {string} frame   The JSON to write.
 * @property {boolean} written
 * @property {(r: SendResult) => void} resolve
 * @property {(e: Error) => void} reject
 * @property {ReturnType<typeof setTimeout>} timer
 */

/**
 * @typedef {object} Deferred
 * @property {(v: any) => void} resolve
 * @property {(e: Error) => void} reject
 */

/**
 * The connection to a danmaku server. Events (CustomEvent; read `detail`,
 * or use {@link DanmakuClient#on} which passes the detail):
 *
 * | event | detail |
 * |---|---|
 * | `state` | {@link StateDetail} |
 * | `danmaku` | `{room, message}`: one new room message that is not a delete |
 * | `delete` | `{room, ids, message}`: remove the messages with these ids |
 * | `batch` | `{room, messages}`: the new messages of one frame, deletes included |
 * | `online` | `{room, count}` |
 * | `joined` | {@link JoinResult} |
 * | `reset` | `{room, epoch, previousEpoch}`: a resume failed, the room starts afresh |
 * | `broadcast` | `{messages}`: sent to every connection |
 * | `user` | `{messages}`: sent to this user |
 * | `authed` | `{user}` |
 * | `ack` | `{id, room, offset, msgId}` |
 * | `nack` | `{id, room, code, message, retryAfterMs}` |
 * | `error` | `{code, message}`: an error frame from the server |
 */
export class DanmakuClient extends EventTarget {
  /**
   * @param {string|string[]} url  ws:// or wss:// URL of the server's /ws
   *   endpoint, or the URLs of several nodes of one cluster (see docs/web.md,
   *   Several servers / failover).
   * @param {ClientOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    /** @readonly The server URLs, in the order given. */
    this.urls = Object.freeze((Array.isArray(url) ? url : [url]).map(String));
    this.opts = {
      protocols: [SUBPROTOCOL],
      pingIntervalMs: 25000,
      pongTimeoutMs: 10000,
      connectTimeoutMs: 10000,
      sendTimeoutMs: 15000,
      minReconnectMs: 500,
      maxReconnectMs: 20000,
      reconnect: true,
      maxBufferedBytes: 65536,
      maxQueuedSends: 100,
      watchNetwork: true,
      ...options,
    };
    /** @private */ this.WS = this.opts.WebSocket ?? globalThis.WebSocket;
    /** @private */ this.random = this.opts.random ?? Math.random;
    /** @private */ this.servers = new ServerList([...this.urls], this.random);
    /** @private Index in urls of the current or next connection. */
    this.index = this.servers.pick(Date.now()).index;
    /** @private */ this.backoff = new Backoff({
      minMs: this.opts.minReconnectMs,
      maxMs: this.opts.maxReconnectMs,
      random: this.random,
      perRound: this.urls.length,
    });
    /** Resume positions per room. */
    this.resume = new ResumeState();
    /** @type {string|undefined} */
    this.token = this.opts.token;
    /** @type {DanmakuUser|null} The user of the last `authed` reply. */
    this.user = null;
    /** @type {ConnState} */
    this.state = 'closed';
    /** Counters, for status displays and tests. */
    this.stats = {
      received: 0, // room messages delivered to the application
      duplicates: 0, // dropped: offset already seen
      gaps: 0, // gaps detected (each triggers a rejoin)
      resets: 0, // resumes answered with recovered:false
      connects: 0, // connections opened
      sent: 0,
      acked: 0,
      nacked: 0,
    };
    /** @type {Map<string, number>} Online count per joined room. */
    this.online = new Map();
    /** @type {number|null} Round trip of the last ping, ms. */
    this.rttMs = null;

    /** @private @type {WebSocket|null} */ this.ws = null;
    /** @private */ this.stopped = true;
    /** @private */ this.offline = false;
    /** @private */ this.authed = false;
    /** @private @type {Map<string, {joined: boolean, waiters: Deferred[], info: JoinResult|null}>} */
    this.rooms = new Map();
    /** @private @type {Map<string, Deferred[]>} */ this.leaveWaiters = new Map();
    /** @private @type {Deferred[]} */ this.authWaiters = [];
    /** @private @type {Map<string, PendingSend>} */ this.pending = new Map();
    /** @private @type {string[]} ids not written yet, oldest first */ this.queue = [];
    /** @private */ this.seq = 0;
    /** @private */ this.idPrefix = Math.floor(this.random() * 36 ** 6).toString(36).padStart(6, '0');
    /** @private @type {any} */ this.reconnectTimer = null;
    /** @private @type {any} */ this.connectTimer = null;
    /** @private @type {any} */ this.pingTimer = null;
    /** @private @type {any} */ this.deadTimer = null;
    /** @private @type {any} */ this.drainTimer = null;
    /** @private */ this.onOnline = () => this.networkChanged(true);
    /** @private */ this.onOffline = () => this.networkChanged(false);
  }

  /**
   * Subscribes to an event and returns the function that unsubscribes.
   * The listener gets the event's detail.
   * @param {string} type
   * @param {(detail: any) => void} fn
   * @returns {() => void}
   */
  on(type, fn) {
    /** @param {Event} e */
    const l = (e) => fn(/** @type {CustomEvent} */ (e).detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  /** Opens the connection (and keeps it open) until {@link close}. */
  connect() {
    if (!this.stopped) return;
    this.stopped = false;
    const g = /** @type {any} */ (globalThis);
    if (this.opts.watchNetwork && typeof g.addEventListener === 'function') {
      g.addEventListener('online', this.onOnline);
      g.addEventListener('offline', this.onOffline);
      this.offline = g.navigator?.onLine === false;
    }
    this.open();
  }

  /**
   * Closes the connection for good: no reconnect. Sends still waiting fail
   * with code `closed`.
   * @param {number} [code=1000]
   * @param {string} [reason]
   */
  close(code = 1000, reason = 'client closed') {
    if (this.stopped && !this.ws) return;
    this.stopped = true;
    const g = /** @type {any} */ (globalThis);
    if (typeof g.removeEventListener === 'function') {
      g.removeEventListener('online', this.onOnline);
      g.removeEventListener('offline', this.onOffline);
    }
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(code, reason);
      } catch {
        // Already closing.
      }
    }
    this.lost(code, reason);
  }

  /**
   * Authenticates with a token (a JWT from the operator). It is sent now if
   * the connection is open, and again on every reconnect.
   * @param {string} token
   * @returns {Promise<DanmakuUser>}
   */
  auth(token) {
    this.token = token;
    this.authed = false;
    return new Promise((resolve, reject) => {
      this.authWaiters.push({ resolve, reject });
      if (this.isOpen()) this.write({ op: 'auth', token });
    });
  }

  /**
   * Joins a room, now or as soon as the connection opens, and on every
   * reconnect (resuming where it left off).
   * @param {string} room 1–64 of [A-Za-z0-9_.:-]
   * @returns {Promise<JoinResult>}
   */
  join(room) {
    if (!ROOM_RE.test(room)) {
      return Promise.reject(new DanmakuError('bad_request', `invalid room name ${JSON.stringify(room)}`));
    }
    let r = this.rooms.get(room);
    if (r?.joined && r.info) return Promise.resolve(r.info);
    if (!r) {
      r = { joined: false, waiters: [], info: null };
      this.rooms.set(room, r);
    }
    const p = new Promise((resolve, reject) => r.waiters.push({ resolve, reject }));
    if (this.isOpen() && !this.resume.isAwaiting(room)) this.write(this.resume.joinRequest(room));
    return /** @type {Promise<JoinResult>} */ (p);
  }

  /**
   * Leaves a room and forgets its resume position.
   * @param {string} room
   * @returns {Promise<void>}
   */
  leave(room) {
    const r = this.rooms.get(room);
    this.rooms.delete(room);
    this.resume.forget(room);
    this.online.delete(room);
    r?.waiters.forEach((w) => w.reject(new DanmakuError('closed', `left ${room}`)));
    if (!this.isOpen()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const list = this.leaveWaiters.get(room) ?? [];
      list.push({ resolve, reject });
      this.leaveWaiters.set(room, list);
      this.write({ op: 'leave', room });
    });
  }

  /**
   * Sends a comment. Resolves when the server stored it; rejects with a
   * {@link DanmakuError} carrying the nack code (and retryAfterMs for rate
   * limits), or `unavailable` when the connection failed before an answer.
   * While disconnected, or while the socket buffers more than
   * maxBufferedBytes, the send waits in a queue.
   * @param {string} room
   * @param {Outgoing} msg
   * @returns {Promise<SendResult>}
   */
  send(room, msg) {
    if (this.stopped) return Promise.reject(new DanmakuError('closed', 'client is closed'));
    if (this.queue.length >= this.opts.maxQueuedSends) {
      return Promise.reject(new DanmakuError('unavailable', 'too many sends waiting; try again shortly'));
    }
    const id = `${this.idPrefix}-${(++this.seq).toString(36)}`;
    /** @type {Record<string, any>} */
    const frame = { op: 'send', room, id, text: String(msg.text ?? '') };
    for (const k of /** @type {const} */ (['mode', 'color', 'size', 'videoTimeMs', 'replyTo'])) {
      if (msg[k] !== undefined && msg[k] !== null && msg[k] !== '') frame[k] = msg[k];
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.failSend(id, new DanmakuError('unavailable', 'no answer from the server in time')),
        this.opts.sendTimeoutMs,
      );
      this.pending.set(id, { id, room, frame: JSON.stringify(frame), written: false, resolve, reject, timer });
      this.queue.push(id);
      this.flush();
    });
  }

  /** The URL of the current connection, or of the next attempt. */
  get url() {
    return this.urls[this.index];
  }

  /** Rooms joined or being joined. @returns {string[]} */
  get joinedRooms() {
    return [...this.rooms.keys()];
  }

  // ---- connection lifecycle ----

  /** @private */
  isOpen() {
    return this.ws !== null && this.state === 'open';
  }

  /**
   * @private
   * @param {ConnState} state
   * @param {Partial<StateDetail>} [extra]
   */
  setState(state, extra = {}) {
    const previous = this.state;
    this.state = state;
    this.emit('state', { state, previous, attempt: this.backoff.attempt, url: this.url, ...extra });
  }

  /** @private */
  open() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.setState('connecting');
    let ws;
    try {
      ws = new this.WS(this.url, this.opts.protocols);
    } catch (e) {
      // A malformed URL or a blocked port: no point in retrying.
      this.stopped = true;
      this.emit('error', { code: 'bad_request', message: e instanceof Error ? e.message : String(e) });
      this.lost(1002, 'cannot open WebSocket');
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.opened(ws);
    ws.onmessage = (ev) => this.received(ws, ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.detach(ws);
      this.lost(ev.code, ev.reason);
    };
    ws.onerror = () => {
      // A close event follows with the details the browser is willing to give.
    };
    this.connectTimer = setTimeout(() => this.abandon(ws, 'handshake timeout'), this.opts.connectTimeoutMs);
  }

  /**
   * @private
   * @param {WebSocket} ws
   */
  opened(ws) {
    if (this.ws !== ws) return;
    clearTimeout(this.connectTimer);
    this.stats.connects++;
    this.authed = false;
    this.setState('open');
    this.pingTimer = setInterval(() => this.ping(), this.opts.pingIntervalMs);
    if (this.token) this.write({ op: 'auth', token: this.token });
    for (const room of this.rooms.keys()) this.write(this.resume.joinRequest(room));
    // A connection that joins nothing has succeeded once it opens.
    if (this.rooms.size === 0) this.backoff.reset();
    this.flush();
  }

  /**
   * Stops listening to a socket that is being given up.
   * @private
   * @param {WebSocket} ws
   */
  detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (this.ws === ws) this.ws = null;
  }

  /**
   * Gives up a socket that stopped answering. The browser may take minutes
   * to notice a dead TCP connection, so the client does not wait for the
   * close event.
   * @private
   * @param {WebSocket} ws
   * @param {string} reason
   */
  abandon(ws, reason) {
    if (this.ws !== ws) return;
    this.detach(ws);
    try {
      ws.close(4000, reason);
    } catch {
      // Not open yet or already closing.
    }
    this.lost(1006, reason);
  }

  /**
   * The connection ended: settle what depended on it and reconnect if allowed.
   * @private
   * @param {number} code
   * @param {string} reason
   */
  lost(code, reason) {
    this.ws = null;
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.deadTimer);
    clearTimeout(this.drainTimer);
    this.deadTimer = this.drainTimer = null;
    this.authed = false;
    this.resume.disconnected();
    for (const r of this.rooms.values()) r.joined = false;
    for (const list of this.leaveWaiters.values()) list.forEach((w) => w.resolve(undefined));
    this.leaveWaiters.clear();
    // Sends on the wire may or may not have been stored: say so, and let the
    // user decide. Sends not written yet wait for the next connection.
    for (const p of [...this.pending.values()]) {
      if (p.written) {
        this.failSend(p.id, new DanmakuError('unavailable', 'connection lost before the server answered'));
      }
    }
    const retry = this.opts.reconnect && !this.stopped && reconnectable(code);
    if (!retry) {
      this.stopped = true;
      const err = new DanmakuError(code === 4501 ? 'unauthorized' : 'closed', reason || `connection closed (${code})`);
      for (const p of [...this.pending.values()]) this.failSend(p.id, err);
      for (const r of this.rooms.values()) r.waiters.splice(0).forEach((w) => w.reject(err));
      this.authWaiters.splice(0).forEach((w) => w.reject(err));
      if (this.state !== 'closed') this.setState('closed', { code, reason });
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  /**
   * @private
   * @param {number} code
   * @param {string} reason
   */
  scheduleReconnect(code, reason) {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const now = Date.now();
    this.servers.tried(this.index, code === 4013 ? retryHintMs(reason) : 0, now);
    // A draining node closes connections that worked, spread over its drain
    // timeout (internal/gateway/drain.go), so moving to another node at once
    // brings no herd. Once a whole round has failed, the backoff applies.
    const drained = code === 4000 && this.urls.length > 1;
    const hurry = drained && this.backoff.rounds() === 0;
    const next = this.servers.pick(now, drained ? this.index : -1);
    this.index = next.index;
    if (this.offline) {
      this.setState('reconnecting', { delayMs: null, retryAt: null, offline: true, code, reason });
      return;
    }
    const holdMs = next.at - now;
    let delayMs = this.backoff.next(holdMs);
    if (hurry) delayMs = Math.min(holdMs, this.opts.maxReconnectMs);
    this.setState('reconnecting', { delayMs, retryAt: Date.now() + delayMs, offline: false, code, reason });
    this.reconnectTimer = setTimeout(() => this.open(), delayMs);
  }

  /**
   * @private
   * @param {boolean} online
   */
  networkChanged(online) {
    this.offline = !online;
    if (this.stopped) return;
    if (online) {
      // Back online: do not make the viewer wait out the backoff.
      if (this.state === 'reconnecting') this.open();
      else if (this.state === 'open') this.ping();
    } else if (this.state === 'reconnecting') {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.setState('reconnecting', { delayMs: null, retryAt: null, offline: true });
    } else if (this.state === 'open') {
      // The socket may survive a short outage; a ping tells soon enough.
      this.ping();
    }
  }

  /** @private */
  ping() {
    if (!this.isOpen()) return;
    this.write({ op: 'ping', t: Date.now() });
    if (this.deadTimer === null) {
      const ws = this.ws;
      this.deadTimer = setTimeout(() => {
        this.deadTimer = null;
        if (ws) this.abandon(ws, 'heartbeat timeout');
      }, this.opts.pongTimeoutMs);
    }
  }

  /**
   * @private
   * @param {object} obj
   */
  write(obj) {
    this.ws?.send(JSON.stringify(obj));
  }

  // ---- incoming frames ----

  /**
   * @private
   * @param {WebSocket} ws
   * @param {unknown} data
   */
  received(ws, data) {
    if (this.ws !== ws) return;
    // Any frame proves the connection alive.
    clearTimeout(this.deadTimer);
    this.deadTimer = null;
    if (typeof data !== 'string') return; // the protocol uses text frames only
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      this.emit('error', { code: 'bad_request', message: 'unreadable frame from server' });
      return;
    }
    if (!m || typeof m !== 'object') return;
    switch (m.op) {
      case 'batch':
        this.onBatch(m.room, Array.isArray(m.msgs) ? m.msgs : []);
        break;
      case 'online':
        this.online.set(m.room, Number(m.count) || 0);
        this.emit('online', { room: m.room, count: Number(m.count) || 0 });
        break;
      case 'joined':
        this.onJoined(m);
        break;
      case 'left':
        this.leaveWaiters.get(m.room)?.forEach((w) => w.resolve(undefined));
        this.leaveWaiters.delete(m.room);
        break;
      case 'ack':
        this.onAck(m);
        break;
      case 'nack':
        this.onNack(m);
        break;
      case 'authed':
        this.authed = true;
        this.user = m.user ?? null;
        this.authWaiters.splice(0).forEach((w) => w.resolve(this.user));
        this.emit('authed', { user: this.user });
        this.flush();
        break;
      case 'pong':
        if (typeof m.t === 'number') this.rttMs = Math.max(0, Date.now() - m.t);
        break;
      case 'user':
      case 'broadcast':
        this.emit(m.op, { messages: (Array.isArray(m.msgs) ? m.msgs : []).map(normalizeMessage) });
        break;
      case 'error':
        if (m.code === 'unauthorized') {
          const err = new DanmakuError('unauthorized', m.message);
          this.authWaiters.splice(0).forEach((w) => w.reject(err));
        }
        this.emit('error', { code: String(m.code ?? ''), message: String(m.message ?? '') });
        break;
      default:
      // Ops added by later protocol versions: ignore.
    }
  }

  /**
   * @private
   * @param {any} m
   */
  onJoined(m) {
    const room = String(m.room);
    const r = this.rooms.get(room);
    if (!r) return; // left while the join was under way
    const outcome = this.resume.joined(room, { epoch: m.epoch, offset: Number(m.offset) || 0, recovered: !!m.recovered });
    /** @type {JoinResult} */
    const info = {
      room,
      epoch: String(m.epoch ?? ''),
      offset: Number(m.offset) || 0,
      online: Number(m.online) || 0,
      recovered: !!m.recovered,
      resumed: outcome.resumed,
    };
    r.joined = true;
    r.info = info;
    this.backoff.reset();
    this.online.set(room, info.online);
    this.emit('joined', info);
    if (outcome.reset) {
      this.stats.resets++;
      this.emit('reset', { room, epoch: info.epoch, previousEpoch: outcome.previousEpoch });
    }
    this.emit('online', { room, count: info.online });
    r.waiters.splice(0).forEach((w) => w.resolve(info));
    this.flush();
  }

  /**
   * @private
   * @param {string} room
   * @param {any[]} raw
   */
  onBatch(room, raw) {
    /** @type {DanmakuMessage[]} */
    const fresh = [];
    for (const x of raw) {
      if (!x || typeof x !== 'object') continue;
      const verdict = this.resume.accept(room, { offset: Number(x.offset) || 0, prev: Number(x.prev) || 0 });
      if (verdict === 'new') {
        fresh.push(normalizeMessage(x));
      } else if (verdict === 'duplicate') {
        this.stats.duplicates++;
      } else if (verdict === 'gap') {
        // Everything from here on comes again with the recovery.
        this.stats.gaps++;
        this.recover(room);
        break;
      }
    }
    if (fresh.length === 0) return;
    this.stats.received += fresh.length;
    this.emit('batch', { room, messages: fresh });
    for (const message of fresh) {
      if (message.type === 'delete') {
        const ids = Array.isArray(message.data?.ids) ? message.data.ids.map(String) : [];
        this.emit('delete', { room, ids, message });
      } else {
        this.emit('danmaku', { room, message });
      }
    }
  }

  /**
   * Rejoins a room with `since` after a gap, so the server sends what was missed.
   * @private
   * @param {string} room
   */
  recover(room) {
    const r = this.rooms.get(room);
    if (!r || !this.isOpen()) return;
    r.joined = false;
    this.write({ op: 'leave', room });
    this.write(this.resume.joinRequest(room));
  }

  /**
   * @private
   * @param {any} m
   */
  onAck(m) {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.settle(p);
    this.stats.acked++;
    /** @type {SendResult} */
    const res = { id: p.id, offset: Number(m.offset) || 0, msgId: String(m.msgId ?? '') };
    this.emit('ack', { ...res, room: p.room });
    p.resolve(res);
  }

  /**
   * @private
   * @param {any} m
   */
  onNack(m) {
    const p = this.pending.get(m.id);
    const code = String(m.code ?? 'unavailable');
    const retryAfterMs = m.retryAfterMs > 0 ? Number(m.retryAfterMs) : undefined;
    this.stats.nacked++;
    this.emit('nack', { id: m.id, room: p?.room, code, message: String(m.message ?? ''), retryAfterMs });
    if (!p) return;
    this.settle(p);
    p.reject(new DanmakuError(code, m.message || code, retryAfterMs, p.id));
  }

  // ---- the send queue ----

  /**
   * @private
   * @param {PendingSend} p
   */
  settle(p) {
    clearTimeout(p.timer);
    this.pending.delete(p.id);
    const i = this.queue.indexOf(p.id);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /**
   * @private
   * @param {string} id
   * @param {Error} err
   */
  failSend(id, err) {
    const p = this.pending.get(id);
    if (!p) return;
    this.settle(p);
    if (err instanceof DanmakuError && err.id === undefined) err = new DanmakuError(err.code, err.message, err.retryAfterMs, id);
    p.reject(err);
  }

  /**
   * Writes waiting sends while the connection can take them.
   * @private
   */
  flush() {
    clearTimeout(this.drainTimer);
    this.drainTimer = null;
    if (!this.isOpen() || (this.token && !this.authed)) return;
    const ws = /** @type {WebSocket} */ (this.ws);
    while (this.queue.length > 0) {
      const p = /** @type {PendingSend} */ (this.pending.get(this.queue[0]));
      const r = this.rooms.get(p.room);
      if (r && !r.joined) return; // flushed again on joined
      if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
        // Backpressure: the socket has not drained yet. Check again soon;
        // browsers have no event for it.
        this.drainTimer = setTimeout(() => this.flush(), 50);
        return;
      }
      this.queue.shift();
      p.written = true;
      this.stats.sent++;
      ws.send(p.frame);
    }
  }

  /**
   * @private
   * @param {string} type
   * @param {any} detail
   */
  emit(type, detail) {
    this.dispatchEvent(makeEvent(type, detail));
  }
}

// api.js — the console's calls to the HTTP API. The credential (an API key
// or a JWT) lives in this module's variable only: never in a cookie, in
// storage or in a URL. A reload of the page forgets it.

/** @type {string|null} */
let credential = null;

/** @param {string|null} c */
export function setCredential(c) {
  credential = c;
}

/**
 * The credential when it is a token, for the live feed's WebSocket auth;
 * null for an API key (the feed then watches as a guest).
 * @returns {string|null}
 */
export function feedToken() {
  return credential !== null && isToken(credential) ? credential : null;
}

/**
 * Whether a credential has the shape of a JWT (three dot-separated parts).
 * @param {string} c
 */
export function isToken(c) {
  return c.split('.').length === 3;
}

/** An API error, with the API's own code and message. */
export class ApiError extends Error {
  /**
   * @param {number} status  HTTP status, 0 when the server was not reached.
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API and returns its JSON answer (null for 204). Errors throw an
 * ApiError carrying the API's error message.
 * @param {string} method
 * @param {string} path  under /v1/
 * @param {any} [body]   sent as JSON
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  if (credential === null) throw new ApiError(401, 'unauthorized', 'not signed in');
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${credential}` };
  /** @type {RequestInit} */
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', `the server could not be reached (${e instanceof Error ? e.message : e})`);
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const e = data && data.error;
    throw new ApiError(resp.status, e?.code ?? `http_${resp.status}`, e?.message ?? `HTTP ${resp.status} ${text.slice(0, 200)}`);
  }
  return data;
}

/**
 * Encodes one path segment (a room name, a public id).
 * @param {string} s
 */
export function seg(s) {
  return encodeURIComponent(s);
}

/**
 * The live feed's WebSocket URL from the console's configuration: a path
 * on the console's own host ("/ws"), a port and path on its host
 * (":8080/ws", for a console on an internal address), or an absolute
 * ws:// or wss:// URL. https pages get wss.
 * @param {string} ws
 * @param {{protocol: string, host: string, hostname: string}} loc
 */
export function feedURL(ws, loc) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  if (ws.startsWith(':')) return `${scheme}//${loc.hostname}${ws}`;
  if (ws.startsWith('/')) return `${scheme}//${loc.host}${ws}`;
  return ws;
}

// The comment list beside the stage: the latest comments as text, newest at
// the bottom. Appends happen once per frame, in one fragment, and the list
// keeps at most `max` entries, so a flood costs one small DOM update a frame.

/**
 * @typedef {import('./danmaku.js').DanmakuMessage} DanmakuMessage
 */

/**
 * @typedef {object} Entry
 * @property {DanmakuMessage} msg
 * @property {string} room
 * @property {string} kind  room, own, broadcast
 * @property {HTMLLIElement|null} li
 */

/** @param {number} n */
const pad = (n) => (n < 10 ? `0${n}` : String(n));

/**
 * HH:MM:SS in local time. (toLocaleTimeString builds a formatter per call,
 * which a flood turns into the page's biggest cost.)
 * @param {number} ts
 */
function clock(ts) {
  const d = new Date(ts || Date.now());
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Who a comment is from, as the list and the comment card show it: the
 * author's name, "guest" for a viewer without one, and "system" for a
 * message without a user: a service published it through the API, and no
 * viewer wrote it.
 * @param {DanmakuMessage} msg
 */
export function authorLabel(msg) {
  if (!msg.user) return 'system';
  return msg.user.name || 'guest';
}

export class CommentList {
  /**
   * @param {HTMLOListElement} ol
   * @param {import('./frameloop.js').FrameLoop} loop
   * @param {object} [options]
   * @param {number} [options.max=200]
   * @param {number} [options.intervalMs=200] Least time between two DOM updates.
   * @param {(msg: DanmakuMessage, el: HTMLElement, ev: MouseEvent) => void} [options.onClick]
   */
  constructor(ol, loop, options = {}) {
    /** @private */ this.ol = ol;
    /** @private */ this.max = options.max ?? 200;
    /** @private @type {Entry[]} */ this.queue = [];
    /** @private @type {Map<string, Entry>} by message id */ this.byId = new Map();
    /** @private @type {Entry[]} shown, oldest first */ this.shown = [];
    const onClick = options.onClick;
    if (onClick) {
      ol.addEventListener('click', (ev) => {
        const li = ev.target instanceof Element ? ev.target.closest('li') : null;
        const entry = li ? this.shown.find((e) => e.li === li) : undefined;
        if (entry && li) onClick(entry.msg, li, /** @type {MouseEvent} */ (ev));
      });
    }
    /** @private */ this.lastFlush = -Infinity;
    // A few updates a second are plenty for a list people read; a flood
    // then costs a handful of DOM updates a second, not one a frame.
    /** @private */ this.stop = loop.onTick((now) => {
      if (now - this.lastFlush < (options.intervalMs ?? 200)) return;
      this.lastFlush = now;
      this.flush();
    });
  }

  /**
   * Adds a comment (drawn on the next frame).
   * @param {string} room
   * @param {DanmakuMessage} msg
   * @param {'room'|'own'|'broadcast'} kind
   */
  add(room, msg, kind) {
    /** @type {Entry} */
    const entry = { msg, room, kind, li: null };
    this.queue.push(entry);
    if (this.queue.length > this.max) {
      const gone = this.queue.shift();
      if (gone && this.byId.get(gone.msg.id) === gone) this.byId.delete(gone.msg.id);
    }
    if (msg.id) this.byId.set(msg.id, entry);
  }

  /**
   * Gives an own comment its server id and offset.
   * @param {string} localId
   * @param {{id?: string, offset?: number}} patch
   */
  relabel(localId, patch) {
    const entry = this.byId.get(localId);
    if (!entry) return;
    entry.msg = { ...entry.msg, ...patch };
    if (patch.id && patch.id !== localId) {
      this.byId.delete(localId);
      this.byId.set(patch.id, entry);
    }
    if (entry.li) this.label(entry);
  }

  /**
   * Marks an own comment the server refused.
   * @param {string} localId
   * @param {string} code
   */
  markFailed(localId, code) {
    const entry = this.byId.get(localId);
    if (!entry) return;
    entry.kind = 'own';
    entry.msg = { ...entry.msg, data: { failed: code } };
    if (entry.li) this.label(entry);
  }

  /**
   * Removes comments by id (moderation deletes).
   * @param {string[]} ids
   */
  remove(ids) {
    for (const id of ids) {
      const entry = this.byId.get(id);
      if (!entry) continue;
      this.byId.delete(id);
      const qi = this.queue.indexOf(entry);
      if (qi >= 0) this.queue.splice(qi, 1);
      const si = this.shown.indexOf(entry);
      if (si >= 0) this.shown.splice(si, 1);
      entry.li?.remove();
    }
  }

  /**
   * Adds a separator line (a room reset, a notice).
   * @param {string} text
   */
  note(text) {
    this.add('', /** @type {DanmakuMessage} */ ({
      offset: 0, prev: 0, id: '', type: 'note', user: null, text, mode: 'scroll',
      color: '#ffffff', size: 'normal', ts: Date.now(), videoTimeMs: null, replyTo: null, data: null,
    }), 'room');
  }

  /**
   * @private
   * @param {Entry} entry
   */
  label(entry) {
    const li = /** @type {HTMLLIElement} */ (entry.li);
    const m = entry.msg;
    const ds = li.dataset;
    ds.id = m.id;
    if (m.offset) ds.offset = String(m.offset);
    else delete ds.offset;
    ds.room = entry.room;
    ds.type = m.type;
    ds.kind = entry.kind;
    if (m.user?.id) ds.user = m.user.id;
    if (m.data?.failed) ds.failed = String(m.data.failed);
    else delete ds.failed;
  }

  /** @private */
  flush() {
    if (this.queue.length === 0) return;
    const frag = document.createDocumentFragment();
    for (const entry of this.queue) {
      const li = document.createElement('li');
      entry.li = li;
      const m = entry.msg;
      if (m.type === 'note') {
        li.className = 'dm-li-note';
        li.textContent = m.text;
      } else {
        const time = document.createElement('time');
        time.textContent = clock(m.ts);
        const who = document.createElement('span');
        who.className = 'dm-li-user';
        who.textContent = authorLabel(m);
        const text = document.createElement('span');
        text.className = 'dm-li-text';
        text.textContent = m.text;
        if (m.color && m.color.toLowerCase() !== '#ffffff') text.style.setProperty('--dm-color', m.color);
        li.append(time, who, text);
      }
      this.label(entry);
      frag.append(li);
      this.shown.push(entry);
    }
    this.queue.length = 0;
    this.ol.append(frag);
    while (this.shown.length > this.max) {
      const gone = /** @type {Entry} */ (this.shown.shift());
      gone.li?.remove();
      if (this.byId.get(gone.msg.id) === gone) this.byId.delete(gone.msg.id);
    }
    // No scrolling here: the list's container is a column-reverse flex box
    // (style.css), which keeps the newest entries in view without a layout
    // read per update.
  }
}

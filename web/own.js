// The viewer's own comments are drawn the moment they are sent, before the
// server has stored them. When the room's copy comes back in a batch it must
// not be drawn a second time. The echo can arrive before or after the ack, so
// it is matched by offset once the ack is known, and by content before that.
// Pure: no DOM, time passed in.

/**
 * @typedef {object} OwnComment
 * @property {string} text
 * @property {string} style   Mode and colour, normalized.
 * @property {number} at        When it was sent (ms).
 * @property {number|null} offset  Set by the ack.
 * @property {boolean} claimed  Its echo has been seen.
 */

/**
 * @param {string|undefined|null} mode
 * @param {string|undefined|null} color
 */
function key(mode, color) {
  return `${mode || 'scroll'}|${(color || '#ffffff').toLowerCase()}`;
}

export class OwnEchoes {
  /**
   * @param {number} [ttlMs=60000] Forget comments whose echo has not come by then.
   */
  constructor(ttlMs = 60000) {
    /** @private */ this.ttlMs = ttlMs;
    /** @private @type {Map<string, OwnComment>} by local id, oldest first */
    this.byLocal = new Map();
  }

  /**
   * Records a comment the viewer just sent.
   * @param {string} localId
   * @param {{text: string, mode?: string, color?: string}} msg
   * @param {number} now
   */
  sent(localId, msg, now) {
    this.expire(now);
    this.byLocal.set(localId, {
      text: msg.text,
      style: key(msg.mode, msg.color),
      at: now,
      offset: null,
      claimed: false,
    });
  }

  /**
   * The server stored the comment at offset.
   * @param {string} localId
   * @param {number} offset
   */
  acked(localId, offset) {
    const c = this.byLocal.get(localId);
    if (!c) return;
    if (c.claimed) this.byLocal.delete(localId);
    else c.offset = offset;
  }

  /**
   * The send failed: no echo will come.
   * @param {string} localId
   */
  failed(localId) {
    this.byLocal.delete(localId);
  }

  /**
   * Returns the local id of the comment msg echoes, or null if msg is not
   * one of the viewer's own.
   * @param {{offset: number, text: string, mode?: string, color?: string}} msg
   * @param {number} now
   * @returns {string|null}
   */
  claim(msg, now) {
    this.expire(now);
    for (const [id, c] of this.byLocal) {
      if (c.offset !== null && c.offset === msg.offset) {
        this.byLocal.delete(id);
        return id;
      }
    }
    const k = key(msg.mode, msg.color);
    for (const [id, c] of this.byLocal) {
      if (c.offset === null && !c.claimed && c.text === msg.text && c.style === k) {
        c.claimed = true; // the ack will come and find it claimed
        return id;
      }
    }
    return null;
  }

  /**
   * @private
   * @param {number} now
   */
  expire(now) {
    for (const [id, c] of this.byLocal) {
      if (now - c.at <= this.ttlMs) break; // oldest first
      this.byLocal.delete(id);
    }
  }
}
